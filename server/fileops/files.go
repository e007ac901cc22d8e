package fileops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// cleanupTimeout bounds the deletion of the file of a failed upload; it
// runs even when the request's context has ended.
const cleanupTimeout = 30 * time.Second

// Files runs the file operations on an Engine.
type Files struct {
	eng Engine
	log *slog.Logger
}

// New returns the file operations of eng; log receives the failures to
// clean up after a failed upload (nil discards).
func New(eng Engine, log *slog.Logger) *Files {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Files{eng: eng, log: log}
}

// Kind is the kind of file an upload creates.
type Kind int

// The kinds of uploads.
const (
	Normal   Kind = iota // a normal file
	Appender             // an appender file (Append, Modify and Truncate can change it)
	Slave                // a slave file of a master file, named after it
)

// ParseKind parses the name of a kind as the REST routes take it: "" or
// "normal", "appender", "slave".
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "", "normal":
		return Normal, true
	case "appender":
		return Appender, true
	case "slave":
		return Slave, true
	}
	return 0, false
}

func (k Kind) String() string {
	switch k {
	case Normal:
		return "normal"
	case Appender:
		return "appender"
	case Slave:
		return "slave"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Upload says what an upload creates. The transports validate it.
type Upload struct {
	Kind Kind
	// Group selects the group of a normal or appender file ("" lets the
	// tracker choose); a slave file goes to its master's storage.
	Group string
	// Ext is the extension without the dot ("" for none; a slave file
	// then takes its master's).
	Ext string
	// Meta, when not empty, is stored as the new file's metadata; if that
	// fails the file is deleted and the upload fails.
	Meta map[string]string
	// Master is the master file of a slave file. Whatever the kind, the
	// engine's errors name it (ToStatus's fileID).
	Master string
	// Prefix is the slave file's name suffix (before its extension).
	Prefix string
}

// Content is the content a transport streams into an upload, an append or
// a modify: exactly Size bytes read from R.
type Content struct {
	R    io.Reader
	Size int64
	// Failed, once the engine failed, returns the transport's own failure
	// to deliver the content (the client's stream or body broke or ended
	// early) or nil. It is returned instead of the engine's error, which
	// then only says that the content ended. nil means none.
	Failed func() error
	// Finish, once the engine took Size bytes, checks that the content
	// ends there. Its error fails the operation; the file of an upload is
	// deleted first. nil means no check.
	Finish func() error
}

func (c *Content) failed() error {
	if c.Failed == nil {
		return nil
	}
	return c.Failed()
}

func (c *Content) finish() error {
	if c.Finish == nil {
		return nil
	}
	return c.Finish()
}

// engineError is the error of an engine call that read c and failed: the
// transport's failure first, else the engine's error as a status naming
// fileID.
func engineError(c *Content, err error, fileID string) error {
	if cerr := c.failed(); cerr != nil {
		return cerr
	}
	return ToStatus(err, fileID)
}

// Upload stores c as a new file of kind u.Kind and returns its file ID.
// When a step after the upload fails (the slave's metadata, c.Finish) the
// new file is deleted.
func (f *Files) Upload(ctx context.Context, u Upload, c Content) (string, error) {
	opt := client.UploadOptions{Group: u.Group, Ext: u.Ext, Meta: u.Meta}
	var (
		id  string
		err error
	)
	switch u.Kind {
	case Normal:
		id, err = f.eng.Upload(ctx, c.R, c.Size, opt)
	case Appender:
		id, err = f.eng.UploadAppender(ctx, c.R, c.Size, opt)
	case Slave:
		id, err = f.eng.UploadSlave(ctx, c.R, c.Size, u.Master, u.Prefix, u.Ext)
		if err == nil && len(u.Meta) > 0 {
			// The engine sets the metadata of the other kinds itself.
			if err = f.eng.SetMetadata(ctx, id, u.Meta, protocol.MetaOverwrite); err != nil {
				f.deleteQuietly(id)
			}
		}
	default:
		return "", ToStatus(Invalid(fmt.Sprintf("unknown kind %d", u.Kind)), "")
	}
	if err != nil {
		return "", engineError(&c, err, u.Master)
	}
	if err := c.finish(); err != nil {
		f.deleteQuietly(id)
		return "", err
	}
	return id, nil
}

// deleteQuietly removes a file stored by a call that then failed; the
// call's own error is what the client needs to see.
func (f *Files) deleteQuietly(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := f.eng.Delete(ctx, id); err != nil {
		f.log.Warn("could not delete the file of a failed upload", "file_id", id, "err", err)
	}
}

// Append appends c to the appender file id.
func (f *Files) Append(ctx context.Context, id string, c Content) error {
	if err := f.eng.Append(ctx, id, c.R, c.Size); err != nil {
		return engineError(&c, err, id)
	}
	return c.finish()
}

// Modify overwrites the bytes of the appender file id at offset with c.
func (f *Files) Modify(ctx context.Context, id string, offset int64, c Content) error {
	if err := f.eng.Modify(ctx, id, offset, c.R, c.Size); err != nil {
		return engineError(&c, err, id)
	}
	return c.finish()
}

// Download writes the bytes [offset, offset+length) of file id to w
// (length 0: to the end) and returns how many it wrote.
func (f *Files) Download(ctx context.Context, id string, offset, length int64, w io.Writer) (int64, error) {
	n, err := f.eng.Download(ctx, id, offset, length, w)
	if errors.Is(err, protocol.ErrInvalid) && offset == 0 && length == 0 {
		// Storages refuse to read at an offset >= the file size, even
		// offset 0 of an empty file; that read is valid here and gives no
		// bytes.
		if fi, ierr := f.eng.GetFileInfo(ctx, id); ierr == nil && fi.Size == 0 {
			err = nil
		}
	}
	return n, ToStatus(err, id)
}

// Info returns what the storage and the file ID tell of file id.
func (f *Files) Info(ctx context.Context, id string) (*client.FileInfo, error) {
	fi, err := f.eng.GetFileInfo(ctx, id)
	if err != nil {
		return nil, ToStatus(err, id)
	}
	return fi, nil
}

// Delete deletes file id.
func (f *Files) Delete(ctx context.Context, id string) error {
	return ToStatus(f.eng.Delete(ctx, id), id)
}

// SetMetadata replaces (protocol.MetaOverwrite) or merges into
// (protocol.MetaMerge) the metadata of file id.
func (f *Files) SetMetadata(ctx context.Context, id string, meta map[string]string, flag byte) error {
	return ToStatus(f.eng.SetMetadata(ctx, id, meta, flag), id)
}

// GetMetadata returns the metadata of file id. FastDFS answers ENOENT both
// for a missing file and for a file without metadata; the second case is
// told apart with a file info query and gives empty metadata.
func (f *Files) GetMetadata(ctx context.Context, id string) (map[string]string, error) {
	meta, err := f.eng.GetMetadata(ctx, id)
	if errors.Is(err, protocol.ErrNotFound) {
		if _, ierr := f.eng.GetFileInfo(ctx, id); ierr == nil {
			meta, err = nil, nil
		}
	}
	if err != nil {
		return nil, ToStatus(err, id)
	}
	return meta, nil
}

// Truncate sets the size of the appender file id.
func (f *Files) Truncate(ctx context.Context, id string, size int64) error {
	return ToStatus(f.eng.Truncate(ctx, id, size), id)
}

// RegenerateAppender turns the appender file id into a normal file and
// returns its new file ID.
func (f *Files) RegenerateAppender(ctx context.Context, id string) (string, error) {
	newID, err := f.eng.RegenerateAppender(ctx, id)
	if err != nil {
		return "", ToStatus(err, id)
	}
	return newID, nil
}
