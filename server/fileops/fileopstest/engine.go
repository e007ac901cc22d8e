// Package fileopstest provides Engine, an in-memory fileops.Engine for
// unit tests of the gateway's file operations and services: no cluster,
// the bytes are kept in a map, and failures are the real engine's typed
// errors (*client.OpError wrapping the *protocol.StatusError of package
// protocol), so that the error mapping is exercised as in production.
package fileopstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// Operation names, as the real engine names them in client.OpError.Op.
const (
	OpUpload             = "upload"
	OpUploadAppender     = "upload appender"
	OpUploadSlave        = "upload slave"
	OpDownload           = "download"
	OpDelete             = "delete"
	OpFileInfo           = "file info"
	OpSetMetadata        = "set metadata"
	OpGetMetadata        = "get metadata"
	OpAppend             = "append"
	OpModify             = "modify"
	OpTruncate           = "truncate"
	OpRegenerateAppender = "regenerate appender"
	OpStatSource         = "stat at source"
)

// Addr is the storage address the errors name.
const Addr = "127.0.0.1:23000"

// DefaultGroup is the group of uploads that name none.
const DefaultGroup = "group1"

// baseTime is the creation time of the first file; each upload is one
// second later, which also keeps file IDs unique.
var baseTime = time.Unix(1700000000, 0)

// Engine is an in-memory fileops.Engine. The zero value is not usable; use
// New.
type Engine struct {
	// Fail, when set, is asked before each operation with its name (the
	// Op* constants) and file ID ("" for a new file); a non-nil error is
	// returned, wrapped in a *client.OpError as the real engine does,
	// instead of running the operation.
	Fail func(op, fileID string) error

	mu    sync.Mutex
	files map[string]*file
	seq   int64
	calls []string
}

type file struct {
	data     []byte
	meta     map[string]string
	created  time.Time
	crc      uint32
	appender bool
}

var _ fileops.Engine = (*Engine)(nil)

// New returns an empty engine.
func New() *Engine { return &Engine{files: make(map[string]*file)} }

// Put stores a file directly (no Fail, no call recorded) and returns its ID.
func (e *Engine) Put(kind fileops.Kind, ext string, data []byte, meta map[string]string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, err := e.newFile(DefaultGroup, ext, data, kind == fileops.Appender)
	if err != nil {
		panic(err)
	}
	e.files[id].meta = maps.Clone(meta)
	return id
}

// File returns a copy of the content and metadata of a stored file.
func (e *Engine) File(id string) (data []byte, meta map[string]string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.files[id]
	if !ok {
		return nil, nil, false
	}
	return bytes.Clone(f.data), maps.Clone(f.meta), true
}

// IDs returns the IDs of the stored files, sorted.
func (e *Engine) IDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(maps.Keys(e.files))
}

// Calls returns the operations run so far, as "op fileID" ("op" alone for
// a new file), failed ones included.
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// begin records a call and asks Fail; the caller holds no lock.
func (e *Engine) begin(op, id string) error {
	e.mu.Lock()
	call := op
	if id != "" {
		call += " " + id
	}
	e.calls = append(e.calls, call)
	fail := e.Fail
	e.mu.Unlock()
	if fail != nil {
		if err := fail(op, id); err != nil {
			return opErr(op, id, err)
		}
	}
	return nil
}

func opErr(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return &client.OpError{Op: op, FileID: id, Addr: Addr, Err: err}
}

// read takes exactly size bytes from r, as the engine copies the content
// to the storage socket.
func read(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return nil, fmt.Errorf("size %d: %w", size, protocol.ErrInvalid)
	}
	var b bytes.Buffer
	n, err := io.CopyN(&b, r, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("sending %d content bytes (%d sent): %w", size, n, err)
	}
	return b.Bytes(), nil
}

// newFile stores a new file under a fresh name; e.mu is held.
func (e *Engine) newFile(group, ext string, data []byte, appender bool) (string, error) {
	e.seq++
	created := baseTime.Add(time.Duration(e.seq) * time.Second)
	src, err := fileid.SourceFromIP("127.0.0.1")
	if err != nil {
		return "", err
	}
	crc := crc32.ChecksumIEEE(data)
	name, err := fileid.Generate(0, 0, 0, fileid.Fields{
		Source: src, Timestamp: created.Unix(), Size: int64(len(data)), CRC32: crc, Appender: appender,
	}, ext)
	if err != nil {
		return "", err
	}
	id := fileid.Join(group, name)
	e.files[id] = &file{data: data, created: created, crc: crc, appender: appender}
	return id, nil
}

// Upload implements fileops.Engine.
func (e *Engine) Upload(ctx context.Context, r io.Reader, size int64, opt client.UploadOptions) (string, error) {
	return e.upload(ctx, OpUpload, r, size, opt, false)
}

// UploadAppender implements fileops.Engine.
func (e *Engine) UploadAppender(ctx context.Context, r io.Reader, size int64, opt client.UploadOptions) (string, error) {
	return e.upload(ctx, OpUploadAppender, r, size, opt, true)
}

func (e *Engine) upload(ctx context.Context, op string, r io.Reader, size int64, opt client.UploadOptions, appender bool) (string, error) {
	if err := e.begin(op, ""); err != nil {
		return "", err
	}
	group := opt.Group
	if group == "" {
		group = DefaultGroup
	}
	if !fileid.ValidGroup(group) {
		return "", opErr(op, "", fmt.Errorf("group name %q: %w", group, protocol.ErrInvalid))
	}
	data, err := read(r, size)
	if err != nil {
		return "", opErr(op, "", err)
	}
	e.mu.Lock()
	id, err := e.newFile(group, opt.Ext, data, appender)
	e.mu.Unlock()
	if err != nil {
		return "", opErr(op, "", fmt.Errorf("%w: %w", err, protocol.ErrInvalid))
	}
	if len(opt.Meta) > 0 {
		// As the engine: metadata right after the upload, and no file
		// without it.
		if err := e.SetMetadata(ctx, id, opt.Meta, protocol.MetaOverwrite); err != nil {
			if derr := e.Delete(context.WithoutCancel(ctx), id); derr != nil {
				err = errors.Join(err, fmt.Errorf("deleting the uploaded file: %w", derr))
			}
			return "", opErr(op+" (set metadata)", id, err)
		}
	}
	return id, nil
}

// UploadSlave implements fileops.Engine.
func (e *Engine) UploadSlave(ctx context.Context, r io.Reader, size int64, masterID, prefix, ext string) (string, error) {
	const op = OpUploadSlave
	if err := e.begin(op, masterID); err != nil {
		return "", err
	}
	group, master, err := fileid.Split(masterID)
	if err != nil {
		return "", opErr(op, masterID, err)
	}
	e.mu.Lock()
	_, ok := e.files[masterID]
	e.mu.Unlock()
	if !ok {
		return "", opErr(op, masterID, protocol.ErrNotFound)
	}
	name, err := fileid.SlaveName(master, prefix, ext)
	if err != nil {
		return "", opErr(op, masterID, err)
	}
	data, err := read(r, size)
	if err != nil {
		return "", opErr(op, masterID, err)
	}
	id := fileid.Join(group, name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.files[id]; ok {
		return "", opErr(op, masterID, protocol.ErrExists)
	}
	e.seq++
	e.files[id] = &file{data: data, created: baseTime.Add(time.Duration(e.seq) * time.Second), crc: crc32.ChecksumIEEE(data)}
	return id, nil
}

// lookup returns the file id after recording the call; e.mu is held on
// success, and the caller unlocks it.
func (e *Engine) lookup(op, id string) (*file, error) {
	if err := e.begin(op, id); err != nil {
		return nil, err
	}
	if _, err := fileid.Parse(nameOf(id)); err != nil {
		return nil, opErr(op, id, err)
	}
	e.mu.Lock()
	f, ok := e.files[id]
	if !ok {
		e.mu.Unlock()
		return nil, opErr(op, id, protocol.ErrNotFound)
	}
	return f, nil
}

func nameOf(id string) string {
	_, name, err := fileid.Split(id)
	if err != nil {
		return ""
	}
	return name
}

// Download implements fileops.Engine. As a storage, it refuses an offset
// at or past the end of the file (even offset 0 of an empty file) and a
// range past the end.
func (e *Engine) Download(ctx context.Context, id string, offset, length int64, w io.Writer) (int64, error) {
	f, err := e.lookup(OpDownload, id)
	if err != nil {
		return 0, err
	}
	data := f.data
	e.mu.Unlock()
	size := int64(len(data))
	if offset < 0 || length < 0 || offset >= size || length > 0 && offset+length > size {
		return 0, opErr(OpDownload, id, fmt.Errorf("offset %d, length %d of %d bytes: %w", offset, length, size, protocol.ErrInvalid))
	}
	end := size
	if length > 0 {
		end = offset + length
	}
	n, err := io.Copy(w, bytes.NewReader(data[offset:end]))
	return n, opErr(OpDownload, id, err)
}

// Delete implements fileops.Engine.
func (e *Engine) Delete(ctx context.Context, id string) error {
	if _, err := e.lookup(OpDelete, id); err != nil {
		return err
	}
	defer e.mu.Unlock()
	delete(e.files, id)
	return nil
}

// GetFileInfo implements fileops.Engine.
func (e *Engine) GetFileInfo(ctx context.Context, id string) (*client.FileInfo, error) {
	f, err := e.lookup(OpFileInfo, id)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	group, n, err := client.DecodeFileID(id)
	if err != nil {
		return nil, opErr(OpFileInfo, id, err)
	}
	crc := f.crc
	if f.appender {
		// Storages recompute the CRC32 of appender files, whose content
		// changes.
		crc = crc32.ChecksumIEEE(f.data)
	}
	return &client.FileInfo{
		FileID: id, Group: group, Size: int64(len(f.data)), CreateTime: f.created,
		CRC32: crc, SourceIP: "127.0.0.1", Name: n,
	}, nil
}

// SetMetadata implements fileops.Engine.
func (e *Engine) SetMetadata(ctx context.Context, id string, meta map[string]string, flag byte) error {
	if flag != protocol.MetaOverwrite && flag != protocol.MetaMerge {
		return opErr(OpSetMetadata, id, fmt.Errorf("metadata flag %q: %w", flag, protocol.ErrInvalid))
	}
	f, err := e.lookup(OpSetMetadata, id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if flag == protocol.MetaOverwrite || f.meta == nil {
		f.meta = make(map[string]string, len(meta))
	}
	maps.Copy(f.meta, meta)
	if len(f.meta) == 0 {
		f.meta = nil
	}
	return nil
}

// GetMetadata implements fileops.Engine; as upstream, a file without
// metadata is ENOENT too.
func (e *Engine) GetMetadata(ctx context.Context, id string) (map[string]string, error) {
	f, err := e.lookup(OpGetMetadata, id)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	if len(f.meta) == 0 {
		return nil, opErr(OpGetMetadata, id, protocol.ErrNotFound)
	}
	return maps.Clone(f.meta), nil
}

// appender returns the appender file id, locked, or the storage's refusal.
func (e *Engine) appender(op, id string) (*file, error) {
	f, err := e.lookup(op, id)
	if err != nil {
		return nil, err
	}
	if !f.appender {
		e.mu.Unlock()
		return nil, opErr(op, id, fmt.Errorf("not an appender file: %w", protocol.ErrInvalid))
	}
	return f, nil
}

// Append implements fileops.Engine.
func (e *Engine) Append(ctx context.Context, id string, r io.Reader, size int64) error {
	if _, err := e.appender(OpAppend, id); err != nil {
		return err
	}
	e.mu.Unlock()
	data, err := read(r, size)
	if err != nil {
		return opErr(OpAppend, id, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.files[id]
	if !ok {
		return opErr(OpAppend, id, protocol.ErrNotFound)
	}
	f.data = append(f.data, data...)
	return nil
}

// Modify implements fileops.Engine.
func (e *Engine) Modify(ctx context.Context, id string, offset int64, r io.Reader, size int64) error {
	f, err := e.appender(OpModify, id)
	if err != nil {
		return err
	}
	have := int64(len(f.data))
	e.mu.Unlock()
	if offset < 0 || offset > have {
		return opErr(OpModify, id, fmt.Errorf("offset %d of %d bytes: %w", offset, have, protocol.ErrInvalid))
	}
	data, err := read(r, size)
	if err != nil {
		return opErr(OpModify, id, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if f, ok := e.files[id]; ok {
		if end := offset + size; end > int64(len(f.data)) {
			f.data = append(f.data, make([]byte, end-int64(len(f.data)))...)
		}
		copy(f.data[offset:], data)
	}
	return nil
}

// Truncate implements fileops.Engine; as upstream, a file cannot grow.
func (e *Engine) Truncate(ctx context.Context, id string, size int64) error {
	f, err := e.appender(OpTruncate, id)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if size < 0 || size > int64(len(f.data)) {
		return opErr(OpTruncate, id, fmt.Errorf("size %d of %d bytes: %w", size, len(f.data), protocol.ErrInvalid))
	}
	f.data = f.data[:size]
	return nil
}

// RegenerateAppender implements fileops.Engine.
func (e *Engine) RegenerateAppender(ctx context.Context, id string) (string, error) {
	f, err := e.appender(OpRegenerateAppender, id)
	if err != nil {
		return "", err
	}
	defer e.mu.Unlock()
	group, _, _ := fileid.Split(id)
	n, _ := fileid.Parse(nameOf(id))
	newID, err := e.newFile(group, n.Ext, f.data, false)
	if err != nil {
		return "", opErr(OpRegenerateAppender, id, err)
	}
	e.files[newID].meta = f.meta
	delete(e.files, id)
	return newID, nil
}

// StatSource implements fileops.Engine.
func (e *Engine) StatSource(ctx context.Context, id string, withCRC bool) (*client.SourceState, error) {
	f, err := e.lookup(OpStatSource, id)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	st := &client.SourceState{Size: int64(len(f.data)), Meta: maps.Clone(f.meta)}
	if withCRC {
		st.CRC32 = crc32.ChecksumIEEE(f.data)
	}
	return st, nil
}
