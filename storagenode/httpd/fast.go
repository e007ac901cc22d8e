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

	rep, ok := h.fastReply(r, e)
	if !ok {
		return false, false
	}

	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	out := appendHead((*bp)[:0], r, e, rep)
	*bp = out[:0]

	c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	defer c.SetWriteDeadline(time.Time{})
	body := r.Method != http.MethodHead && rep.status != 304 && rep.length > 0
	if body && rep.length <= smallFileBytes {
		if out, err = appendSmall(bp, out, e, rep); err != nil {
			// Nothing is written yet: net/http answers, as it would
			// have (a file cut short since it was opened, an I/O error).
			h.cfg.Log.Error("http read", "file", req.logical, "err", err)
			return false, false
		}
		if _, err := c.Write(out); err != nil {
			return false, true
		}
		return r.KeepAlive, true
	}
	if _, err := c.Write(out); err != nil {
		return false, true
	}
	if body && !h.sendFile(c, e, rep) {
		return false, true
	}
	return r.KeepAlive, true
}

// reply is what a fast-path response sends of a file: its status and the
// range of the content its body carries (bytes).
type reply struct {
	status        int // 200, 206 or 304
	start, length int64
}

// fastReply chooses the reply to r for e: 304 when a validator matches, 206
// for a single satisfiable range, else 200 and the whole file. ok=false
// leaves the request to net/http.
func (h *Handler) fastReply(r *httpfast.Request, e *entity) (rep reply, ok bool) {
	rep = reply{status: 200, length: e.size}
	switch rangeSpec := r.Header("Range"); {
	case notModified(r, e):
		rep.status, rep.length = 304, 0
	case rangeSpec != "":
		rs, err := h.ranges(rangeSpec, e.size)
		if err != nil || len(rs) > 1 {
			return reply{}, false // several parts, bad or unsatisfiable: net/http
		}
		if len(rs) == 1 {
			rep = reply{status: 206, start: rs[0].Start, length: rs[0].Length}
		}
	}
	return rep, true
}

// appendHead appends to out the status line and header fields of the
// response sending rep of e to r, and the blank line that ends them.
func appendHead(out []byte, r *httpfast.Request, e *entity, rep reply) []byte {
	out = r.AppendStatusLine(out, rep.status)
	out = append(out, "Server: fdfs\r\nETag: "...)
	out = append(out, e.etag...)
	out = append(out, "\r\nLast-Modified: "...)
	out = e.modified.UTC().AppendFormat(out, http.TimeFormat)
	out = append(out, "\r\n"...)
	if rep.status != 304 {
		out = append(out, "Content-Type: "...)
		out = append(out, e.ctype...)
		out = append(out, "\r\nAccept-Ranges: bytes\r\nContent-Length: "...)
		out = strconv.AppendInt(out, rep.length, 10)
		out = append(out, "\r\n"...)
		if rep.status == 206 {
			out = append(out, "Content-Range: bytes "...)
			out = strconv.AppendInt(out, rep.start, 10)
			out = append(out, '-')
			out = strconv.AppendInt(out, rep.start+rep.length-1, 10)
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
	return r.AppendHeadEnd(out)
}

// appendSmall reads the body of rep (at most smallFileBytes) from e after
// head, in the pooled buffer *bp, for one write of head and body. *bp
// follows the buffer if it grows, so that the pool keeps the larger one.
func appendSmall(bp *[]byte, head []byte, e *entity, rep reply) ([]byte, error) {
	hl := len(head)
	out := slices.Grow(head, int(rep.length))[:hl+int(rep.length)]
	*bp = out[:0]
	_, err := io.ReadFull(io.NewSectionReader(e.f, e.base+rep.start, rep.length), out[hl:])
	return out, err
}

// sendFile writes the body of rep from e on c with sendfile(2), after the
// head. It takes e's descriptor (e.f.OS) and reports whether the whole body
// was written.
func (h *Handler) sendFile(c net.Conn, e *entity, rep reply) bool {
	f := e.f.OS()
	defer f.Close()
	if _, err := f.Seek(e.base+rep.start, io.SeekStart); err != nil {
		return false
	}
	// *net.TCPConn.ReadFrom of a limited *os.File is sendfile(2). The
	// write timeout applies per chunk, so a slow reader of a big file
	// is not cut off while it keeps making progress.
	for left := rep.length; left > 0; {
		n := min(left, sendChunkBytes)
		c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		if _, err := io.CopyN(c, f, n); err != nil {
			return false
		}
		left -= n
	}
	return true
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
