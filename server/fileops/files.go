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
	eng  Engine
	log  *slog.Logger
	idem *Idempotency
}

// New returns the file operations of eng; log receives the failures to
// clean up after a failed upload (nil discards).
func New(eng Engine, log *slog.Logger) *Files {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Files{eng: eng, log: log, idem: NewIdempotency(0, 0)}
}

// WithIdempotency makes f remember idempotency keys in c, which
// transports of one gateway share (a key used over REST is then
// recognised over gRPC); New gives each Files its own. It returns f.
func (f *Files) WithIdempotency(c *Idempotency) *Files {
	if c != nil {
		f.idem = c
	}
	return f
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
	// IdempotencyKey, when not "", makes an upload repeated with the same
	// key, group and spec store nothing and answer the first file ID
	// (Idempotency); the same key with another spec is refused.
	IdempotencyKey string
	// Checksum, when set, is the checksum the whole content must have:
	// nothing is stored otherwise (verifiedContent).
	Checksum *Checksum
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
func (f *Files) engineError(c *Content, err error, fileID string) error {
	if cerr := c.failed(); cerr != nil {
		return cerr
	}
	return f.status(err, fileID)
}

// status logs err, the engine's error with the addresses and status codes
// clients do not see, and returns ToStatus(err, fileID).
func (f *Files) status(err error, fileID string) error {
	if err == nil {
		return nil
	}
	st := ToStatus(err, fileID)
	if err != st {
		f.log.Debug("file operation failed", "file_id", fileID, "err", err)
	}
	return st
}

// checkAppender refuses to change id when its name says that it is not
// an appender file (FAILED_PRECONDITION), without asking a storage, which
// would answer EINVAL. IDs that do not decode are left to the engine.
func checkAppender(op, id string) error {
	if _, n, err := client.DecodeFileID(id); err == nil && !n.Appender {
		return ToStatus(NotAppender(op, id), id)
	}
	return nil
}

// beyondEnd turns the EINVAL of a storage refusing an offset or size into
// OUT_OF_RANGE when the file's size shows that this was the reason: past
// reports whether a file of size bytes is too short.
func (f *Files) beyondEnd(ctx context.Context, err error, id, field string, past func(size int64) (string, bool)) error {
	if !errors.Is(err, protocol.ErrInvalid) {
		return err
	}
	fi, ierr := f.eng.GetFileInfo(ctx, id)
	if ierr != nil {
		return err
	}
	if msg, ok := past(fi.Size); ok {
		f.log.Debug("file operation out of range", "file_id", id, "err", err)
		return OutOfRange(field, msg)
	}
	return err
}

// Upload stores c as a new file of kind u.Kind and returns its file ID.
// When a step after the upload fails (the slave's metadata, c.Finish) the
// new file is deleted.
func (f *Files) Upload(ctx context.Context, u Upload, c Content) (string, error) {
	if err := ValidateMetadata(u.Meta); err != nil {
		return "", ToStatus(err, u.Master)
	}
	meta, err := withStoredChecksum(u)
	if err != nil {
		return "", ToStatus(err, u.Master)
	}
	u.Meta = meta
	if u.IdempotencyKey == "" {
		return f.upload(ctx, u, c)
	}
	if err := checkIdempotencyKey(u.IdempotencyKey); err != nil {
		return "", ToStatus(err, "")
	}
	return f.uploadOnce(ctx, u, c, func() (string, error) { return f.upload(ctx, u, c) })
}

func (f *Files) upload(ctx context.Context, u Upload, c Content) (string, error) {
	opt := client.UploadOptions{Group: u.Group, Ext: u.Ext, Meta: u.Meta}
	var (
		id  string
		err error
	)
	if u.Checksum != nil {
		if c, err = verifiedContent(c, u.Checksum); err != nil {
			return "", ToStatus(err, u.Master)
		}
	}
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
		return "", f.engineError(&c, err, u.Master)
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
//
// A file whose ID says that it is not an appender file is refused with
// FAILED_PRECONDITION (reason ReasonNotAppender) before anything is read.
func (f *Files) Append(ctx context.Context, id string, c Content) error {
	return f.AppendIf(ctx, id, Precondition{}, c)
}

// AppendIf is Append when the file meets pre (checked first; see
// Precondition for what that guarantees). With pre.ExpectedSize, a
// repeated append whose first attempt was applied fails with
// SIZE_MISMATCH instead of appending twice; c is not read then.
func (f *Files) AppendIf(ctx context.Context, id string, pre Precondition, c Content) error {
	if err := checkAppender("append", id); err != nil {
		return err
	}
	if err := f.check(ctx, id, pre); err != nil {
		return err
	}
	if err := f.eng.Append(ctx, id, c.R, c.Size); err != nil {
		return f.engineError(&c, err, id)
	}
	return c.finish()
}

// Modify overwrites the bytes of the appender file id at offset with c.
// An offset past the end of the file is OUT_OF_RANGE (field "offset"), a
// file that is not an appender file FAILED_PRECONDITION.
func (f *Files) Modify(ctx context.Context, id string, offset int64, c Content) error {
	return f.ModifyIf(ctx, id, offset, Precondition{}, c)
}

// ModifyIf is Modify when the file meets pre (checked first).
func (f *Files) ModifyIf(ctx context.Context, id string, offset int64, pre Precondition, c Content) error {
	if err := checkAppender("modify", id); err != nil {
		return err
	}
	if err := f.check(ctx, id, pre); err != nil {
		return err
	}
	if err := f.eng.Modify(ctx, id, offset, c.R, c.Size); err != nil {
		if cerr := c.failed(); cerr != nil {
			return cerr
		}
		err = f.beyondEnd(ctx, err, id, "offset", func(size int64) (string, bool) {
			return fmt.Sprintf("offset %d is past the end of the file (%d bytes)", offset, size), offset > size
		})
		return f.status(err, id)
	}
	return c.finish()
}

// Download writes the bytes [offset, offset+length) of file id to w
// (length 0: to the end) and returns how many it wrote. A range past the
// end of the file is OUT_OF_RANGE (field "offset" or "length").
func (f *Files) Download(ctx context.Context, id string, offset, length int64, w io.Writer) (int64, error) {
	n, err := f.eng.Download(ctx, id, offset, length, w)
	if n == 0 && errors.Is(err, protocol.ErrInvalid) {
		// Storages refuse to read at an offset >= the file size, even
		// offset 0 of an empty file (a valid read here, of no bytes), and
		// a range past the end.
		if fi, ierr := f.eng.GetFileInfo(ctx, id); ierr == nil {
			size := fi.Size
			switch {
			case offset == 0 && length == 0 && size == 0:
				err = nil
			case offset > 0 && offset >= size:
				f.log.Debug("download out of range", "file_id", id, "err", err)
				err = OutOfRange("offset", fmt.Sprintf("offset %d is past the end of the file (%d bytes)", offset, size))
			case length > 0 && offset+length > size:
				f.log.Debug("download out of range", "file_id", id, "err", err)
				err = OutOfRange("length", fmt.Sprintf("offset %d + length %d is past the end of the file (%d bytes)", offset, length, size))
			}
		}
	}
	return n, f.status(err, id)
}

// Info returns what the storage and the file ID tell of file id.
func (f *Files) Info(ctx context.Context, id string) (*client.FileInfo, error) {
	fi, err := f.eng.GetFileInfo(ctx, id)
	if err != nil {
		return nil, f.status(err, id)
	}
	return fi, nil
}

// Delete deletes file id.
func (f *Files) Delete(ctx context.Context, id string) error {
	return f.DeleteIf(ctx, id, Precondition{})
}

// DeleteIf is Delete when the file meets pre (pre.IfMatch: its etag;
// checked first).
func (f *Files) DeleteIf(ctx context.Context, id string, pre Precondition) error {
	if err := f.check(ctx, id, pre); err != nil {
		return err
	}
	return f.status(f.eng.Delete(ctx, id), id)
}

// SetMetadata replaces (protocol.MetaOverwrite) or merges into
// (protocol.MetaMerge) the metadata of file id. Metadata FastDFS cannot
// store as given is refused (ValidateMetadata).
func (f *Files) SetMetadata(ctx context.Context, id string, meta map[string]string, flag byte) error {
	return f.SetMetadataIf(ctx, id, meta, flag, Precondition{})
}

// SetMetadataIf is SetMetadata when the file meets pre (pre.IfMatch: its
// etag, which covers the content, not the metadata; checked first).
func (f *Files) SetMetadataIf(ctx context.Context, id string, meta map[string]string, flag byte, pre Precondition) error {
	if err := ValidateMetadata(meta); err != nil {
		return ToStatus(err, id)
	}
	if err := f.check(ctx, id, pre); err != nil {
		return err
	}
	return f.status(f.eng.SetMetadata(ctx, id, meta, flag), id)
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
		return nil, f.status(err, id)
	}
	return meta, nil
}

// Truncate sets the size of the appender file id. When the storage
// refuses a size beyond the file's (EINVAL; storages that grow the file
// do not), that is OUT_OF_RANGE (field "size"); a file that is not an
// appender file is FAILED_PRECONDITION.
func (f *Files) Truncate(ctx context.Context, id string, size int64) error {
	return f.TruncateIf(ctx, id, size, Precondition{})
}

// TruncateIf is Truncate when the file meets pre (checked first).
func (f *Files) TruncateIf(ctx context.Context, id string, size int64, pre Precondition) error {
	if err := checkAppender("truncate", id); err != nil {
		return err
	}
	if err := f.check(ctx, id, pre); err != nil {
		return err
	}
	err := f.eng.Truncate(ctx, id, size)
	if err != nil {
		err = f.beyondEnd(ctx, err, id, "size", func(have int64) (string, bool) {
			return fmt.Sprintf("size %d is beyond the end of the file (%d bytes): truncate cannot grow a file", size, have), size > have
		})
	}
	return f.status(err, id)
}

// RegenerateAppender turns the appender file id into a normal file and
// returns its new file ID.
func (f *Files) RegenerateAppender(ctx context.Context, id string) (string, error) {
	if err := checkAppender("regenerate appender", id); err != nil {
		return "", err
	}
	newID, err := f.eng.RegenerateAppender(ctx, id)
	if err != nil {
		return "", f.status(err, id)
	}
	return newID, nil
}
