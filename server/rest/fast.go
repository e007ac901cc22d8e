package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/internal/httpfast"
	"github.com/fdfsgo/fdfs/server/grpcapi"
)

// FastDownload is a download the fast path (internal/httpfast) answers
// without net/http: GET of a normal file of 1 to FastMaxSize bytes, or
// HEAD of any normal file, with no query and no Range, conditional or TE
// header. Everything else is left to net/http, which implements it all.
type FastDownload struct {
	id   string
	name *fileid.Name
}

// FastMaxSize is the largest file a fast GET serves (bytes): the whole
// response is built in memory and sent with one write.
const FastMaxSize = smallBody

// fastBufs hold a response head and a body of up to FastMaxSize bytes.
var fastBufs = sync.Pool{New: func() any { b := make([]byte, 0, FastMaxSize+2048); return &b }}

// MatchFast reports whether r is a download ServeFast answers exactly as
// the route DownloadPattern would through net/http and the mux.
func MatchFast(r *httpfast.Request) (FastDownload, bool) {
	// A target with a query or escapes, or one net/http's ServeMux would
	// clean and redirect, is not worth reproducing.
	if r.Target != r.Path || path.Clean(r.Path) != r.Path {
		return FastDownload{}, false
	}
	id, ok1 := strings.CutPrefix(r.Path, "/v1/files/")
	id, ok2 := strings.CutSuffix(id, ":download")
	if !ok1 || !ok2 || !plainID(id) {
		return FastDownload{}, false
	}
	for _, k := range conditionalHeaders {
		if r.Has(k) {
			return FastDownload{}, false
		}
	}
	// TE: trailers would change the mux's error responses.
	if r.Has("Range") || r.Has("TE") {
		return FastDownload{}, false
	}
	_, name, err := client.DecodeFileID(id)
	if err != nil || name.Size < 0 {
		return FastDownload{}, false
	}
	if r.Method == http.MethodGet && (name.Size == 0 || name.Size > FastMaxSize) {
		return FastDownload{}, false
	}
	return FastDownload{id: id, name: name}, true
}

// plainID accepts the bytes of file IDs as storages generate them; other
// bytes (':' in particular, which the mux's verb matching treats apart)
// go through net/http.
func plainID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/'
		if !ok {
			return false
		}
	}
	return true
}

// ServeFast answers d on c with one write: the headers download sends
// (plus X-Request-Id: requestID, as the gateway adds it) and the body, or
// the error response the mux's error handler writes when the storage
// fails. Once the response is ready, and before it is written (as a
// net/http handler returns before the server flushes its answer), done
// gets the status and the body bytes, for the metrics and the access log.
// It returns whether the connection may serve another request.
func (h *Handler) ServeFast(ctx context.Context, c net.Conn, r *httpfast.Request, d FastDownload, requestID string, done func(status int, n int64)) (keep bool) {
	bp := fastBufs.Get().(*[]byte)
	defer fastBufs.Put(bp)
	out, status, n := h.appendFast(ctx, (*bp)[:0], r, d, requestID)
	*bp = out[:0]
	done(status, n)
	if h.opt.IOTimeout > 0 {
		c.SetWriteDeadline(time.Now().Add(h.opt.IOTimeout))
		defer c.SetWriteDeadline(time.Time{})
	}
	if _, err := c.Write(out); err != nil {
		return false
	}
	return r.KeepAlive
}

// appendFast appends the whole response to d to out.
func (h *Handler) appendFast(ctx context.Context, out []byte, r *httpfast.Request, d FastDownload, requestID string) ([]byte, int, int64) {
	size := d.name.Size
	head := r.Method == http.MethodHead
	if head {
		// As download does for HEAD: the storage confirms the file.
		info, err := h.files.Info(ctx, d.id)
		if err != nil {
			return h.appendFastError(ctx, out, r, d.id, requestID, err)
		}
		size = info.Size
	}
	e := describe(d.id, d.name, size, "")
	// The fields in net/http's order: sorted, then Date.
	out = r.AppendStatusLine(out, http.StatusOK)
	out = append(out, "Accept-Ranges: bytes\r\n"...)
	if e.disposition != "" {
		out = append(out, "Content-Disposition: "...)
		out = append(out, e.disposition...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "Content-Length: "...)
	out = strconv.AppendInt(out, size, 10)
	out = append(out, "\r\nContent-Type: "...)
	out = append(out, e.ctype...)
	out = append(out, "\r\nEtag: "...)
	out = append(out, e.etag...)
	out = append(out, "\r\nLast-Modified: "...)
	out = e.modified.AppendFormat(out, http.TimeFormat)
	out = append(out, "\r\n"+ChecksumHeader+": "...)
	out = append(out, e.crc32...)
	out = append(out, "\r\nX-Request-Id: "...)
	out = append(out, requestID...)
	out = append(out, "\r\n"...)
	out = r.AppendHeadEnd(out)
	if head {
		return out, http.StatusOK, 0
	}
	hl := len(out)
	// One spare byte of room catches a storage sending more than size.
	out = slices.Grow(out, int(size)+1)
	got, err := h.files.Download(ctx, d.id, 0, size, &sliceWriter{p: out[hl : hl+int(size)+1]})
	if err == nil && got != size {
		err = fmt.Errorf("the storage sent %d of %d bytes", got, size)
	}
	if err != nil {
		return h.appendFastError(ctx, out[:0], r, d.id, requestID, err)
	}
	return out[:hl+int(size)], http.StatusOK, size
}

// appendFastError appends the response download gives for err: the mux's
// error handler runs on a recorded response, which is then laid out as
// net/http would send it.
func (h *Handler) appendFastError(ctx context.Context, out []byte, r *httpfast.Request, id, requestID string, err error) ([]byte, int, int64) {
	hdr := make(http.Header)
	for k, v := range r.Fields() {
		hdr.Add(k, v)
	}
	req := (&http.Request{
		Method: r.Method, URL: &url.URL{Path: r.Path}, RequestURI: r.Target,
		Proto: r.Proto, ProtoMajor: 1, ProtoMinor: 1, Header: hdr, Host: hdr.Get("Host"),
	}).WithContext(ctx)
	if r.Proto == "HTTP/1.0" {
		req.ProtoMinor = 0
	}
	rec := &recordedResponse{header: http.Header{"X-Request-Id": {requestID}}}
	h.fail(rec, req, grpcapi.ToStatus(err, id))
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	out = r.AppendStatusLine(out, rec.code)
	b := bytes.NewBuffer(out)
	rec.header.Write(b)
	out = b.Bytes()
	// net/http adds the length of a body the handler wrote in one go;
	// for HEAD it counts the bytes it then drops.
	if len(rec.body) > 0 && rec.header.Get("Content-Length") == "" {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(rec.body)), 10)
		out = append(out, "\r\n"...)
	}
	out = r.AppendHeadEnd(out)
	if r.Method != http.MethodHead {
		out = append(out, rec.body...)
	}
	return out, rec.code, int64(len(rec.body))
}

// recordedResponse keeps what a handler writes.
type recordedResponse struct {
	header http.Header
	code   int
	body   []byte
}

func (w *recordedResponse) Header() http.Header { return w.header }

func (w *recordedResponse) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recordedResponse) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

var errTooLong = errors.New("the storage sent more bytes than the file has")

// sliceWriter fills p, the room for a body of known size. The engine
// copies with io.CopyN, which calls ReadFrom: the content goes from the
// storage socket straight into the response buffer.
type sliceWriter struct{ p []byte }

func (w *sliceWriter) Write(b []byte) (int, error) {
	n := copy(w.p, b)
	w.p = w.p[n:]
	if n < len(b) || len(w.p) == 0 {
		return n, errTooLong
	}
	return n, nil
}

func (w *sliceWriter) ReadFrom(src io.Reader) (int64, error) {
	var total int64
	for len(w.p) > 0 {
		n, err := src.Read(w.p)
		w.p = w.p[n:]
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, errTooLong
}
