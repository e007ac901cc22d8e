package httpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server answers the common download requests itself — GET or HEAD of a
// local file, whole, one byte range, or not modified — and hands every
// other request (errors, token failures, multiple ranges, proxying, odd
// headers) to a net/http server running the same Handler. The fast path
// exists because small files dominate photo sites and net/http costs two
// socket writes and a header map per response; here a small file goes out
// as one write of header and body.
type Server struct {
	h        *Handler
	fallback *http.Server
	handoff  *handoffListener
	idle     time.Duration // keep-alive idle timeout
	header   time.Duration // time allowed to send a request head

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Limits of the fast path.
const (
	maxHeadBytes   = 8 << 10  // a request head larger than this goes to net/http (431)
	smallFileBytes = 64 << 10 // files up to this size are sent with one write
	sendChunkBytes = 4 << 20  // bytes per sendfile step between write deadlines
)

// NewServer returns a server for h. fallback must not be serving yet: Serve
// runs it on the connections the fast path hands over. idle and header are
// the keep-alive and request-head timeouts.
func NewServer(h *Handler, fallback *http.Server, idle, header time.Duration) *Server {
	return &Server{
		h: h, fallback: fallback, idle: idle, header: header,
		handoff: newHandoffListener(),
		conns:   map[net.Conn]struct{}{},
	}
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	s.handoff.addr = ln.Addr()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.fallback.Serve(s.handoff)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.track(c, true) {
			c.Close()
			return http.ErrServerClosed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// Close closes the fast-path connections, then shuts the fallback server
// down gracefully (in-flight responses finish, bounded by deadline).
func (s *Server) Close(deadline time.Time) error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		// Wake a connection idle in a read; one writing a response ends
		// with its write error.
		c.SetDeadline(time.Now())
	}
	s.mu.Unlock()
	s.handoff.Close()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err := s.fallback.Shutdown(ctx)
	s.wg.Wait()
	return err
}

// armRead sets c's read deadline unless the server is closing. It holds
// the lock Close holds while it wakes the connections, so a deadline set
// here can never undo Close's.
func (s *Server) armRead(c net.Conn, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	c.SetReadDeadline(time.Now().Add(d))
	return true
}

// serveConn answers requests on c until the client closes, a request needs
// net/http (the connection is then handed over for good) or an error.
func (s *Server) serveConn(c net.Conn) {
	handedOff := false
	defer func() {
		if !handedOff {
			c.Close()
			s.track(c, false)
		}
	}()
	br := bufio.NewReaderSize(c, 4096)
	out := make([]byte, 0, 1024)
	for {
		if !s.armRead(c, s.idle) {
			return
		}
		if _, err := br.Peek(1); err != nil {
			return
		}
		if !s.armRead(c, s.header) {
			return
		}
		head, err := readHead(br)
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				s.handOver(c, head, br)
				handedOff = true
			}
			return
		}
		c.SetReadDeadline(time.Time{})
		req, ok := parseHead(head)
		if ok {
			var keep bool
			keep, ok, out = s.answer(c, req, out[:0])
			if ok {
				if !keep {
					return
				}
				continue
			}
		}
		s.handOver(c, head, br)
		handedOff = true
		return
	}
}

// handOver gives c to the net/http server with the bytes already read
// replayed in front of the rest of the stream.
func (s *Server) handOver(c net.Conn, head []byte, br *bufio.Reader) {
	s.track(c, false)
	buffered, _ := br.Peek(br.Buffered())
	prefix := make([]byte, 0, len(head)+len(buffered))
	prefix = append(append(prefix, head...), buffered...)
	if !s.handoff.give(&prefixConn{Conn: c, prefix: prefix}) {
		c.Close()
	}
}

var errHeadTooLarge = errors.New("request head too large")

// readHead reads one request head (through the blank line). On
// errHeadTooLarge the bytes read so far are returned for the hand-over.
func readHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return head, errHeadTooLarge
			}
			return head, err
		}
		if len(head) > maxHeadBytes {
			return head, errHeadTooLarge
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			return head, nil
		}
	}
}

// fastRequest is the part of a request the fast path looks at.
type fastRequest struct {
	head         bool // HEAD, else GET
	path         string
	query        url.Values
	keepAlive    bool
	rangeSpec    string
	ifNoneMatch  string
	ifModSince   string
	proxied      bool
	closeAsked   bool
	http10       bool
	unsupported  bool // a header the fast path does not implement
	contentBytes bool // the request announces a body
}

// parseHead parses a request head strictly; anything unusual returns
// ok=false and net/http decides.
func parseHead(head []byte) (fastRequest, bool) {
	var r fastRequest
	if bytes.Count(head, []byte("\n")) != bytes.Count(head, []byte("\r\n")) {
		return r, false // bare LF line ends: let net/http judge
	}
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return r, false
	}
	method, rest1, ok1 := strings.Cut(string(line), " ")
	target, proto, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 {
		return r, false
	}
	switch method {
	case http.MethodGet:
	case http.MethodHead:
		r.head = true
	default:
		return r, false
	}
	switch proto {
	case "HTTP/1.1":
		r.keepAlive = true
	case "HTTP/1.0":
		r.http10 = true
	default:
		return r, false
	}
	if target == "" || target[0] != '/' {
		return r, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return r, false
	}
	r.path = u.Path
	if r.query, err = url.ParseQuery(u.RawQuery); err != nil {
		return r, false
	}
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return r, false // obsolete line folding
		}
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(k) == 0 || bytes.ContainsAny(k, " \t") {
			return r, false
		}
		val := strings.TrimSpace(string(v))
		switch key := string(k); {
		case strings.EqualFold(key, "Range"):
			r.rangeSpec = val
		case strings.EqualFold(key, "If-None-Match"):
			r.ifNoneMatch = val
		case strings.EqualFold(key, "If-Modified-Since"):
			r.ifModSince = val
		case strings.EqualFold(key, "Connection"):
			for _, tok := range strings.Split(val, ",") {
				tok = strings.TrimSpace(tok)
				if strings.EqualFold(tok, "close") {
					r.closeAsked = true
				} else if strings.EqualFold(tok, "keep-alive") && r.http10 {
					r.keepAlive = true
				}
			}
		case strings.EqualFold(key, proxiedHeader):
			r.proxied = true
		case strings.EqualFold(key, "Content-Length"):
			if val != "0" {
				r.contentBytes = true
			}
		case strings.EqualFold(key, "Transfer-Encoding"), strings.EqualFold(key, "Expect"),
			strings.EqualFold(key, "If-Range"), strings.EqualFold(key, "If-Match"),
			strings.EqualFold(key, "If-Unmodified-Since"), strings.EqualFold(key, "Upgrade"):
			r.unsupported = true
		}
	}
	if r.closeAsked {
		r.keepAlive = false
	}
	return r, !r.unsupported && !r.contentBytes
}

// answer writes the response of a fast-path request. ok=false means
// nothing was written and net/http must answer; keep tells whether the
// connection stays open.
func (s *Server) answer(c net.Conn, r fastRequest, out []byte) (keep, ok bool, buf []byte) {
	h := s.h
	req := h.resolve(r.path, r.query, r.proxied)
	if req.code != 0 || req.tokenErr != nil {
		return false, false, out
	}
	e, err := h.open(req, r.query)
	if err != nil {
		return false, false, out
	}
	defer e.f.Close()

	status, start, length := 200, int64(0), e.size
	switch {
	case notModified(r, e):
		status, length = 304, 0
	case r.rangeSpec != "":
		if !h.cfg.MultiRange && strings.Contains(r.rangeSpec, ",") {
			break // served whole, as with multi_range disabled upstream
		}
		st, n, ok := parseRange(r.rangeSpec, e.size)
		if !ok {
			return false, false, out // multiple or unsatisfiable ranges: net/http
		}
		status, start, length = 206, st, n
	}

	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(status)...)
	out = append(out, "\r\nServer: fdfs\r\nDate: "...)
	out = append(out, httpDate()...)
	out = append(out, "\r\nETag: "...)
	out = append(out, e.etag...)
	out = append(out, "\r\nLast-Modified: "...)
	out = e.modified.UTC().AppendFormat(out, http.TimeFormat)
	if status != 304 {
		out = append(out, "\r\nContent-Type: "...)
		out = append(out, e.ctype...)
		out = append(out, "\r\nAccept-Ranges: bytes\r\nContent-Length: "...)
		out = strconv.AppendInt(out, length, 10)
		if status == 206 {
			out = append(out, "\r\nContent-Range: bytes "...)
			out = strconv.AppendInt(out, start, 10)
			out = append(out, '-')
			out = strconv.AppendInt(out, start+length-1, 10)
			out = append(out, '/')
			out = strconv.AppendInt(out, e.size, 10)
		}
		if e.disposition != "" {
			out = append(out, "\r\nContent-Disposition: "...)
			out = append(out, e.disposition...)
		}
	}
	if !r.keepAlive {
		out = append(out, "\r\nConnection: close"...)
	} else if r.http10 {
		out = append(out, "\r\nConnection: keep-alive"...)
	}
	out = append(out, "\r\n\r\n"...)

	c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	defer c.SetWriteDeadline(time.Time{})
	body := !r.head && status != 304 && length > 0
	if body && length <= smallFileBytes {
		hl := len(out)
		out = append(out, make([]byte, length)...)
		if _, err := io.ReadFull(io.NewSectionReader(e.f, start, length), out[hl:]); err != nil {
			h.cfg.Log.Error("http read", "file", req.logical, "err", err)
			return false, true, out[:0]
		}
		if _, err := c.Write(out); err != nil {
			return false, true, out[:0]
		}
		return r.keepAlive, true, out[:0]
	}
	if _, err := c.Write(out); err != nil {
		return false, true, out[:0]
	}
	if body {
		if _, err := e.f.Seek(start, io.SeekStart); err != nil {
			return false, true, out[:0]
		}
		// *net.TCPConn.ReadFrom of a limited *os.File is sendfile(2). The
		// write timeout applies per chunk, so a slow reader of a big file
		// is not cut off while it keeps making progress.
		for left := length; left > 0; {
			n := min(left, sendChunkBytes)
			c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
			if _, err := io.CopyN(c, e.f, n); err != nil {
				return false, true, out[:0]
			}
			left -= n
		}
	}
	return r.keepAlive, true, out[:0]
}

// notModified applies If-None-Match, or else If-Modified-Since (RFC 9110).
func notModified(r fastRequest, e *entity) bool {
	if r.ifNoneMatch != "" {
		for _, tag := range strings.Split(r.ifNoneMatch, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == e.etag {
				return true
			}
		}
		return false
	}
	if r.ifModSince == "" {
		return false
	}
	t, err := http.ParseTime(r.ifModSince)
	return err == nil && !e.modified.Truncate(time.Second).After(t)
}

// parseRange parses one "bytes=" range against size. ok=false for several
// ranges, a syntax error or an unsatisfiable range (net/http answers those).
func parseRange(spec string, size int64) (start, length int64, ok bool) {
	spec, found := strings.CutPrefix(spec, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		n = min(n, size)
		return size - n, n, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return 0, 0, false
	}
	last := size - 1
	if b != "" {
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < first {
			return 0, 0, false
		}
		last = min(l, size-1)
	}
	return first, last - first + 1, true
}

// httpDate is the Date header value, formatted once per second.
func httpDate() string {
	now := time.Now().Unix()
	if d := cachedDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var cachedDate atomic.Pointer[dateText]

// handoffListener feeds connections taken over from the fast path to the
// net/http server.
type handoffListener struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	addr      net.Addr
}

func newHandoffListener() *handoffListener {
	return &handoffListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// prefixConn replays bytes already read from a connection before the rest
// of it; ReadFrom keeps sendfile for net/http's responses.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *prefixConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
