package rest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// Bounds of the non-file fields of a multipart upload.
const (
	maxFields    = 64       // fields before the file part
	maxFieldSize = 64 << 10 // bytes per field
	// maxFormOverhead is how much larger than the file a multipart body
	// may be: the fields plus part headers and boundaries (bytes).
	maxFormOverhead = maxFields*maxFieldSize + 64<<10
)

// content is the content of an upload or append request, ready to be
// streamed: exactly size bytes are to be read from r.
type content struct {
	r    *bodyReader
	size int64
	// params are the query parameters plus the multipart fields sent
	// before the file part (fields win).
	params url.Values
	// filename is the multipart part's file name ("" for a raw body).
	filename string
	// rest is read after the upload to check that the body carried no
	// more than size bytes (nil when the size was measured by spooling).
	rest io.Reader
	// close releases the spool file, if any.
	close func()
}

// trailing reports whether the body has bytes beyond the announced size.
func (c *content) trailing() bool {
	if c.rest == nil {
		return false
	}
	var b [1]byte
	n, _ := io.ReadFull(c.rest, b[:])
	return n > 0
}

// readContent prepares the content of r: a raw body of known length is
// streamed as is; a multipart form is read up to its file part; content of
// unknown size is spooled to disk.
func (h *Handler) readContent(w http.ResponseWriter, r *http.Request) (*content, error) {
	max := h.opt.MaxUploadSize
	body := newBodyReader(w, r.Body, h.opt.IOTimeout)
	c := &content{r: body, params: r.URL.Query(), close: func() {}}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if max > 0 && r.ContentLength > max+maxFormOverhead {
			return nil, tooLarge(r.ContentLength, max)
		}
		return c, h.readMultipart(c, params["boundary"])
	}
	if max > 0 && r.ContentLength > max {
		return nil, tooLarge(r.ContentLength, max)
	}
	if r.ContentLength >= 0 {
		c.size = r.ContentLength
		return c, nil
	}
	return c, h.spool(c, body)
}

func (h *Handler) readMultipart(c *content, boundary string) error {
	if boundary == "" {
		return invalidArg("Content-Type", "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(c.r, boundary)
	declared := int64(-1)
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return invalidArg("file", "the multipart form has no file part (a part named \"file\" or with a filename)")
		}
		if err != nil {
			return bodyError(fmt.Errorf("multipart form: %w", err))
		}
		if part.FormName() == "file" || part.FileName() != "" {
			c.filename = part.FileName()
			if v := part.Header.Get("Content-Length"); v != "" {
				declared, err = strconv.ParseInt(v, 10, 64)
				if err != nil || declared < 0 {
					return invalidArg("file", "bad Content-Length %q of the file part", v)
				}
			} else if v := c.params.Get("size"); v != "" {
				declared, err = strconv.ParseInt(v, 10, 64)
				if err != nil || declared < 0 {
					return invalidArg("size", "bad size %q", v)
				}
			}
			if declared < 0 {
				return h.spool(c, part)
			}
			if max := h.opt.MaxUploadSize; max > 0 && declared > max {
				return tooLarge(declared, max)
			}
			c.size, c.rest = declared, part
			c.r = &bodyReader{r: part, src: c.r}
			return nil
		}
		if i >= maxFields {
			return invalidArg(part.FormName(), "more than %d fields before the file part", maxFields)
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
		if err != nil {
			return bodyError(fmt.Errorf("multipart field %q: %w", part.FormName(), err))
		}
		if len(v) > maxFieldSize {
			return invalidArg(part.FormName(), "field %q is longer than %d bytes", part.FormName(), maxFieldSize)
		}
		c.params[part.FormName()] = []string{string(v)}
	}
}

// spool copies src to an unlinked temporary file and makes it the content,
// so that its size is known and the upload can use sendfile.
func (h *Handler) spool(c *content, src io.Reader) error {
	f, err := os.CreateTemp(h.opt.SpoolDir, "fdfs-upload-*")
	if err != nil {
		return status.Errorf(codes.Internal, "spool file: %v", err)
	}
	// Unlinked at once: the space is freed when f is closed, even if the
	// process dies first.
	os.Remove(f.Name())
	c.close = func() { f.Close() }
	limit := h.opt.MaxUploadSize
	if limit <= 0 {
		limit = 1<<63 - 2
	}
	n, err := io.Copy(f, io.LimitReader(src, limit+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return status.Errorf(codes.Internal, "spool file: %v", err)
		}
		return bodyError(err)
	}
	if n > limit {
		return tooLarge(n, limit)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return status.Errorf(codes.Internal, "spool file: %v", err)
	}
	c.size = n
	c.r = &bodyReader{r: f, src: c.r}
	return nil
}

// bodyError turns a failure to read the request body into the client's
// fault: 400, or 413 when net/http's MaxBytesReader stopped it.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit+1, mbe.Limit)
	}
	return invalidArg("body", "reading the request body: %v", err)
}

// bodyReader reads the request body (or a part of it, or its spool file),
// pushing the connection's read deadline forward as long as bytes arrive,
// and remembers the first error of the underlying body so that a failed
// upload can be blamed on the client rather than the storage.
type bodyReader struct {
	r   io.Reader
	src *bodyReader // the reader of the raw body when r is derived from it
	rc  *http.ResponseController
	// timeout is the read deadline of each step; next is when the
	// deadline needs pushing again (pushing it on every small read would
	// cost a syscall each).
	timeout time.Duration
	next    time.Time
	err     error // first error other than io.EOF
	n       int64 // bytes read
	eof     bool
}

func newBodyReader(w http.ResponseWriter, body io.Reader, timeout time.Duration) *bodyReader {
	return &bodyReader{r: body, rc: http.NewResponseController(w), timeout: timeout}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.eof {
		// Past the end the deadline must stay as net/http left it
		// (lifted for its background read of the connection: one set
		// again would expire there and cancel the request).
		return 0, io.EOF
	}
	if b.timeout > 0 && b.rc != nil {
		if now := time.Now(); now.After(b.next) {
			b.rc.SetReadDeadline(now.Add(b.timeout))
			b.next = now.Add(b.timeout / 8)
		}
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.eof = true
	} else if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// content is c as the content of a file operation: the client's fault
// (clientError) wins over the engine's error, and finish checks after the
// engine took size bytes that the body has no more. A body that may carry
// more than size bytes (c.rest) is checked before the engine gets the
// last of them (holdLast).
func (c *content) content(finish func() error) fileops.Content {
	fc := fileops.Content{R: c.r, Size: c.size, Failed: c.clientError, Finish: finish}
	if c.rest != nil && c.size > 0 {
		h := &holdLast{r: c.r, left: c.size, size: c.size, longer: c.trailing}
		fc.R = h
		fc.Failed = func() error {
			if h.err != nil {
				return h.err
			}
			return c.clientError()
		}
	}
	return fc
}

// holdLast reads the size bytes of content whose body may go on beyond
// them (a multipart part that declared its size), and keeps the last bytes
// read from the engine until the body is known to end there. Content
// longer than announced then fails the transfer before the storage has all
// of it, and a storage stores an upload, or applies an append, only once
// it has the whole body: nothing is stored or appended (checking after
// the transfer, an append could no longer be undone).
type holdLast struct {
	r      io.Reader
	left   int64
	size   int64
	longer func() bool
	err    error
}

func (h *holdLast) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if h.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= int64(n)
	if h.left == 0 && h.longer() {
		h.err = invalidArg("body", "the content is longer than the %d bytes announced", h.size)
		return 0, h.err
	}
	return n, err
}

// clientError returns the client's fault in a failed transfer of size
// bytes: the first read error of the body, or the content ending early.
// nil means the client sent what it announced.
func (c *content) clientError() error {
	for r := c.r; r != nil; r = r.src {
		if r.err != nil {
			return bodyError(r.err)
		}
	}
	if c.r.eof && c.r.n < c.size {
		return invalidArg("body", "the content ended after %d of the %d bytes announced", c.r.n, c.size)
	}
	return nil
}

// extOf returns the extension (without the dot) named by the request: the
// "ext" parameter (which must be valid), else the extension of the
// "filename" parameter or of the multipart part's file name when it is a
// valid FastDFS extension.
func extOf(c *content) (string, error) {
	if ext, ok := c.params["ext"]; ok {
		if err := fileid.ValidateExt(ext[0]); err != nil {
			return "", invalidArg("ext", "bad ext: %s", fileops.ValidationText(err))
		}
		return ext[0], nil
	}
	name := c.params.Get("filename")
	if name == "" {
		name = c.filename
	}
	ext := strings.TrimPrefix(path.Ext(path.Base(strings.ReplaceAll(name, `\`, "/"))), ".")
	if fileid.ValidateExt(ext) != nil {
		return "", nil
	}
	return ext, nil
}

// metaOf collects the "meta.<key>=<value>" parameters.
func metaOf(c *content) map[string]string {
	var m map[string]string
	for k, v := range c.params {
		if key, ok := strings.CutPrefix(k, "meta."); ok && key != "" {
			if m == nil {
				m = make(map[string]string)
			}
			m[key] = v[0]
		}
	}
	return m
}
