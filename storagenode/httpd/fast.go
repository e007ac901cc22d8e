package httpd

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/internal/httpfast"
)

// Server answers the common download requests itself — GET or HEAD of a
// local file, whole, one byte range (after coalescing), or not modified —
// and hands every other request (errors, token failures, multipart ranges,
// proxying, odd headers) to a net/http server running the same Handler.
// The fast path exists because small files dominate photo sites and
// net/http costs two socket writes and a header map per response; here a
// small file goes out as one write of header and body.
type Server struct {
	h    *Handler
	fast *httpfast.Server
}

// Limits of the fast path.
const (
	smallFileBytes = 64 << 10 // files up to this size are sent with one write
	sendChunkBytes = 4 << 20  // bytes per sendfile step between write deadlines
)

// smallBufs hold a response head and a small file's content (bytes).
var smallBufs = sync.Pool{New: func() any { b := make([]byte, 0, smallFileBytes+2048); return &b }}

// NewServer returns a server for h. fallback must not be serving yet: Serve
// runs it on the connections the fast path hands over. idle and header are
// the keep-alive and request-head timeouts.
func NewServer(h *Handler, fallback *http.Server, idle, header time.Duration) *Server {
	s := &Server{h: h}
	s.fast = httpfast.New(s.answer, fallback, idle, header)
	return s
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error { return s.fast.Serve(ln) }

// Close stops accepting, lets the responses in flight finish until
// deadline, then closes what is left.
func (s *Server) Close(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return s.fast.Shutdown(ctx)
}

// answer writes the response of a fast-path request. ok=false means
// nothing was written and net/http must answer; keep tells whether the
// connection stays open.
func (s *Server) answer(_ context.Context, c net.Conn, r *httpfast.Request) (keep, ok bool) {
	// Preconditions the fast path does not implement.
	if r.Has("If-Range") || r.Has("If-Match") || r.Has("If-Unmodified-Since") {
		return false, false
	}
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil {
		return false, false
	}
	h := s.h
	req := h.resolve(r.Path, q)
	if req.code != 0 || req.tokenErr != nil {
		return false, false
	}
	e, err := h.open(req, q)
	if err != nil {
		return false, false
	}
	defer e.f.Close()

	status, start, length := 200, int64(0), e.size
	switch rangeSpec := r.Header("Range"); {
	case notModified(r, e):
		status, length = 304, 0
	case rangeSpec != "":
		rs, err := h.ranges(rangeSpec, e.size)
		if err != nil || len(rs) > 1 {
			return false, false // several parts, bad or unsatisfiable: net/http
		}
		if len(rs) == 1 {
			status, start, length = 206, rs[0].Start, rs[0].Length
		}
	}

	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	out := r.AppendStatusLine((*bp)[:0], status)
	out = append(out, "Server: fdfs\r\nETag: "...)
	out = append(out, e.etag...)
	out = append(out, "\r\nLast-Modified: "...)
	out = e.modified.UTC().AppendFormat(out, http.TimeFormat)
	out = append(out, "\r\n"...)
	if status != 304 {
		out = append(out, "Content-Type: "...)
		out = append(out, e.ctype...)
		out = append(out, "\r\nAccept-Ranges: bytes\r\nContent-Length: "...)
		out = strconv.AppendInt(out, length, 10)
		out = append(out, "\r\n"...)
		if status == 206 {
			out = append(out, "Content-Range: bytes "...)
			out = strconv.AppendInt(out, start, 10)
			out = append(out, '-')
			out = strconv.AppendInt(out, start+length-1, 10)
			out = append(out, '/')
			out = strconv.AppendInt(out, e.size, 10)
			out = append(out, "\r\n"...)
		}
		if e.disposition != "" {
			out = append(out, "Content-Disposition: "...)
			out = append(out, e.disposition...)
			out = append(out, "\r\n"...)
		}
	}
	out = r.AppendHeadEnd(out)
	*bp = out[:0]

	c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	defer c.SetWriteDeadline(time.Time{})
	body := r.Method != http.MethodHead && status != 304 && length > 0
	if body && length <= smallFileBytes {
		hl := len(out)
		out = slices.Grow(out, int(length))[:hl+int(length)]
		*bp = out[:0]
		if _, err := io.ReadFull(io.NewSectionReader(e.f, e.base+start, length), out[hl:]); err != nil {
			h.cfg.Log.Error("http read", "file", req.logical, "err", err)
			return false, true
		}
		if _, err := c.Write(out); err != nil {
			return false, true
		}
		return r.KeepAlive, true
	}
	if _, err := c.Write(out); err != nil {
		return false, true
	}
	if body {
		f := e.f.OS()
		defer f.Close()
		if _, err := f.Seek(e.base+start, io.SeekStart); err != nil {
			return false, true
		}
		// *net.TCPConn.ReadFrom of a limited *os.File is sendfile(2). The
		// write timeout applies per chunk, so a slow reader of a big file
		// is not cut off while it keeps making progress.
		for left := length; left > 0; {
			n := min(left, sendChunkBytes)
			c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
			if _, err := io.CopyN(c, f, n); err != nil {
				return false, true
			}
			left -= n
		}
	}
	return r.KeepAlive, true
}

// notModified applies If-None-Match, or else If-Modified-Since (RFC 9110).
func notModified(r *httpfast.Request, e *entity) bool {
	if inm := r.Header("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == e.etag {
				return true
			}
		}
		return false
	}
	ims := r.Header("If-Modified-Since")
	if ims == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	return err == nil && !e.modified.Truncate(time.Second).After(t)
}
