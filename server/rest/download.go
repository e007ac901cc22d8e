package rest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/internal/httpfast"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/grpcapi"
)

// download serves GET and HEAD /v1/files/{file_id=**}:download. The
// optional "filename" query parameter turns Content-Disposition into an
// attachment with that name.
//
// A normal file's ID encodes its size, CRC32 and creation time, which is
// all the headers need: a plain GET (no conditional headers) of one goes
// straight to the download, and the status line is written when the
// storage starts sending, so a missing file still gets a 404. Other files,
// HEAD and conditional requests ask the storage for the file's info first.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, params map[string]string) {
	id := params["file_id"]
	_, name, err := client.DecodeFileID(id)
	if err != nil {
		h.fail(w, r, badFileID(id, err))
		return
	}
	size, fromName, err := h.downloadSize(r, id, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	e := describe(id, name, size, r.URL.Query().Get("filename"))
	hdr := w.Header()
	setEntityHeaders(hdr, &e)

	if code := checkPreconditions(r, e.etag, e.modified); code != 0 {
		h.conditionFailed(w, r, hdr, id, &e, code)
		return
	}

	offset, length, code, ok := h.downloadRange(w, r, hdr, id, &e, size)
	if !ok {
		return
	}
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	out := &bodyWriter{w: w, rc: http.NewResponseController(w), timeout: h.opt.IOTimeout, code: code, small: length <= smallBody}
	defer out.resetDeadline()
	if !fromName {
		out.commit()
	}
	if r.Method == http.MethodHead || length == 0 {
		h.sendNoBody(w, r, hdr, id, out, fromName)
		return
	}
	h.sendBody(w, r, hdr, id, out, offset, length)
}

// downloadSize returns the size of file id (decoded as name) in bytes.
// fromName reports that it comes from the ID alone, the storage not asked
// yet; else the storage's file info gave it, and also the CRC32 and
// creation time that name lacked.
func (h *Handler) downloadSize(r *http.Request, id string, name *fileid.Name) (size int64, fromName bool, err error) {
	fromName = name.Size >= 0
	size = name.Size
	if !fromName || r.Method != http.MethodGet || conditional(r) {
		info, err := h.files.Info(r.Context(), id)
		if err != nil {
			return 0, false, err
		}
		fromName, size = false, info.Size
		if name.Size < 0 {
			name.CRC32, name.Timestamp = info.CRC32, info.CreateTime.Unix()
		}
	}
	return size, fromName, nil
}

// setEntityHeaders sets the header fields that describe e on a download.
func setEntityHeaders(hdr http.Header, e *entity) {
	hdr.Set("ETag", e.etag)
	hdr.Set("Last-Modified", e.modified.Format(http.TimeFormat))
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Content-Type", e.ctype)
	hdr.Set(ChecksumHeader, e.crc32)
	if e.disposition != "" {
		hdr.Set("Content-Disposition", e.disposition)
	}
}

// conditionFailed answers a download whose conditional headers say not to
// send the file: 304 with the validators and no body, or 412 with the JSON
// status of the failed condition (ETAG_MISMATCH for If-Match,
// MODIFIED_SINCE for If-Unmodified-Since), as a 416 is answered: neither
// describes a body, so the file's Content-Type and Content-Disposition go.
func (h *Handler) conditionFailed(w http.ResponseWriter, r *http.Request, hdr http.Header, id string, e *entity, code int) {
	hdr.Del("Content-Type")
	if code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	hdr.Del("Content-Disposition")
	var err error
	if im := r.Header.Get("If-Match"); im != "" {
		err = fileops.NotSentETag(im, e.etag)
	} else {
		err = fileops.NotSentModified(r.Header.Get("If-Unmodified-Since"), e.modified)
	}
	h.fail(w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusPreconditionFailed, Err: fileops.ToStatus(err, id)})
}

// downloadRange applies r's Range header to file id (described by e) of
// size bytes: it returns the part to send, from offset for length bytes,
// and its status, 206 with Content-Range set or 200 for the whole file.
// ok=false means the range was not satisfiable and the 416 is answered.
func (h *Handler) downloadRange(w http.ResponseWriter, r *http.Request, hdr http.Header, id string, e *entity, size int64) (offset, length int64, code int, ok bool) {
	offset, length, code = 0, size, http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" && rangeApplies(r, e.etag, e.modified) {
		start, n, err := httpfast.ParseRange(rh, size)
		switch {
		case errors.Is(err, httpfast.ErrUnsatisfiable):
			hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			hdr.Del("Content-Disposition")
			h.fail(w, r, &runtime.HTTPStatusError{
				HTTPStatus: http.StatusRequestedRangeNotSatisfiable,
				Err:        fileops.ToStatus(fileops.OutOfRange("Range", fmt.Sprintf("range %q not satisfiable: the file has %d bytes", rh, size)), id),
			})
			return 0, 0, 0, false
		case err == nil:
			offset, length, code = start, n, http.StatusPartialContent
			hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+n-1, size))
		}
		// A malformed or multi-range header is ignored: the whole file
		// (200), as RFC 9110 §14.2 allows; multipart/byteranges is not
		// served.
	}
	return offset, length, code, true
}

// sendNoBody completes the answer to a HEAD request or of an empty file:
// the headers alone, once the storage has confirmed that the file exists
// when fromName says it has not been asked yet.
func (h *Handler) sendNoBody(w http.ResponseWriter, r *http.Request, hdr http.Header, id string, out *bodyWriter, fromName bool) {
	if fromName {
		// The storage has not been asked yet: check that the file
		// exists (an empty normal file).
		if _, err := h.files.Info(r.Context(), id); err != nil {
			hdr.Del("Content-Length")
			h.fail(w, r, err)
			return
		}
	}
	out.commit()
}

// sendBody downloads length bytes of file id from offset into out. A
// failure before the status line is written is answered with the error's
// status; after it, the connection is dropped (panic http.ErrAbortHandler).
func (h *Handler) sendBody(w http.ResponseWriter, r *http.Request, hdr http.Header, id string, out *bodyWriter, offset, length int64) {
	n, err := h.files.Download(r.Context(), id, offset, length, out)
	if err == nil && n != length {
		err = fmt.Errorf("the storage sent %d of %d bytes", n, length)
	}
	if err == nil {
		return
	}
	if !out.committed {
		for _, k := range []string{"Content-Length", "Content-Range", "ETag", "Last-Modified", "Content-Disposition", "Accept-Ranges", ChecksumHeader} {
			hdr.Del(k)
		}
		h.log.Debug("download failed", "file_id", id, "err", err)
		h.fail(w, r, grpcapi.ToStatus(err, id))
		return
	}
	// The status line is gone; dropping the connection is the only way
	// left to tell the client the body is incomplete.
	h.log.Warn("download failed", "file_id", id, "offset", offset, "length", length, "sent", n, "err", err)
	panic(http.ErrAbortHandler)
}

// entity holds the headers that describe a file's content; the net/http
// and the fast path (ServeFast) both take them from describe.
type entity struct {
	etag        string
	modified    time.Time
	ctype       string
	disposition string // "" when the filename cannot be encoded
	crc32       string // X-Checksum-Crc32: the content's CRC32, 8 hex digits
}

// describe returns the entity headers of file id (decoded as n) of size
// bytes. filename, when set, asks for an attachment of that name.
func describe(id string, n *fileid.Name, size int64, filename string) entity {
	e := entity{
		etag:     fileops.EntityTag(n.CRC32, size, n.Timestamp),
		modified: time.Unix(n.Timestamp, 0).UTC(),
		ctype:    "application/octet-stream",
		crc32:    fmt.Sprintf("%08x", n.CRC32),
	}
	if n.Ext != "" {
		if t := mime.TypeByExtension("." + n.Ext); t != "" {
			e.ctype = t
		}
	}
	// "inline" keeps browsers showing the file while naming it for
	// `curl -OJ` and "save as"; ?filename= asks for a download instead.
	if filename != "" {
		e.disposition = mime.FormatMediaType("attachment", map[string]string{"filename": filename})
	} else {
		e.disposition = mime.FormatMediaType("inline", map[string]string{"filename": path.Base(id)})
	}
	return e
}

// ChecksumHeader carries the CRC32 of the whole file's content (8 hex
// digits, as in the file ID) on downloads, ranged ones included.
const ChecksumHeader = "X-Checksum-Crc32"

// conditionalHeaders make the answer depend on the file's current state.
var conditionalHeaders = []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"}

// conditional reports whether r has one of conditionalHeaders.
func conditional(r *http.Request) bool {
	for _, k := range conditionalHeaders {
		if r.Header.Get(k) != "" {
			return true
		}
	}
	return false
}

// checkPreconditions evaluates the conditional headers as RFC 9110 §13.2.2
// orders them; it returns 0 to go on, 304 or 412.
func checkPreconditions(r *http.Request, etag string, modified time.Time) int {
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagListMatch(im, etag, true) {
			return http.StatusPreconditionFailed
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && modified.After(t) {
		return http.StatusPreconditionFailed
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagListMatch(inm, etag, false) {
			return http.StatusNotModified
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !modified.After(t) {
		return http.StatusNotModified
	}
	return 0
}

// rangeApplies evaluates If-Range: the range is served only if the
// validator still matches (strong comparison for an ETag).
func rangeApplies(r *http.Request, etag string, modified time.Time) bool {
	ir := r.Header.Get("If-Range")
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
		return ir == etag
	}
	t, err := http.ParseTime(ir)
	return err == nil && t.Equal(modified)
}

// etagListMatch reports whether a comma-separated list of entity tags (or
// "*") matches etag; strong comparison rejects weak tags.
func etagListMatch(list, etag string, strong bool) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if w, ok := strings.CutPrefix(t, "W/"); ok {
			if strong {
				continue
			}
			t = w
		}
		if t == etag {
			return true
		}
	}
	return false
}

// bodyWriter writes the response body. It writes the status line when
// the first bytes arrive (commit), pushes the connection's write deadline
// forward before each step so that a stalled client is dropped while a
// long healthy download is not, and keeps the ResponseWriter's ReadFrom so
// that the body can be spliced from the storage socket.
type bodyWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	timeout   time.Duration
	code      int
	committed bool
	small     bool // the body is at most smallBody bytes
}

// smallBody is the size up to which a body is read into a buffer and
// written at once (bytes): splicing costs more syscalls than it saves
// for small files.
const smallBody = 64 << 10

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBody); return &b }}

func (b *bodyWriter) commit() {
	if !b.committed {
		b.committed = true
		b.w.WriteHeader(b.code)
	}
}

func (b *bodyWriter) arm() {
	if b.timeout > 0 {
		b.rc.SetWriteDeadline(time.Now().Add(b.timeout))
	}
}

// resetDeadline clears the write deadline so that it does not outlive the
// download on a kept-alive connection.
func (b *bodyWriter) resetDeadline() {
	if b.timeout > 0 {
		b.rc.SetWriteDeadline(time.Time{})
	}
}

func (b *bodyWriter) Write(p []byte) (int, error) {
	b.commit()
	b.arm()
	return b.w.Write(p)
}

// ReadFrom is called by the engine once per chunk of up to 4 MiB.
func (b *bodyWriter) ReadFrom(src io.Reader) (int64, error) {
	b.commit()
	b.arm()
	if b.small {
		bp := smallBufs.Get().(*[]byte)
		defer smallBufs.Put(bp)
		n, err := io.ReadFull(src, *bp)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		}
		if n > 0 {
			if _, werr := b.w.Write((*bp)[:n]); werr != nil {
				return 0, werr
			}
		}
		return int64(n), err
	}
	return httpfast.ReadFrom(b.w, src)
}
