package httpfast

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// An Answerer answers a request the parser accepted. It writes the whole
// response on c and returns ok=true, with keep telling whether the
// connection may serve another request (normally r.KeepAlive, false after
// a write error); or it writes nothing and returns ok=false, and the
// request and its connection go to the net/http server. ctx ends when
// Shutdown gives up waiting. The Answerer sets its own write deadline and
// must clear it before returning with keep=true.
type Answerer func(ctx context.Context, c net.Conn, r *Request) (keep, ok bool)

// maxHeadBytes bounds a request head the fast path reads (bytes); a larger
// one goes to net/http, which applies its own limit.
const maxHeadBytes = 8 << 10

// Server runs the fast path in front of a net/http server.
type Server struct {
	answer        Answerer
	fallback      *http.Server
	handoff       *handoffListener
	idleTimeout   time.Duration
	headerTimeout time.Duration
	ctx           context.Context
	cancel        context.CancelFunc

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool // true while idle between requests
	closed bool
	serve  sync.WaitGroup // the fallback's Serve
	active sync.WaitGroup // fast-path connections
}

// New returns a server answering with answer and handing everything else
// to fallback, which must not be serving yet: Serve runs it. New wraps
// fallback.Handler so that a connection net/http has answered a request
// on comes back to the fast path when it can (see reclaim). idle bounds
// the wait for a request on a kept-alive connection and header the
// reading of one request head, and the wait for the first request of a
// new connection; 0 means no limit.
func New(answer Answerer, fallback *http.Server, idle, header time.Duration) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		answer: answer, fallback: fallback, handoff: newHandoffListener(),
		idleTimeout: idle, headerTimeout: header, ctx: ctx, cancel: cancel,
		conns: map[net.Conn]bool{},
	}
	next := fallback.Handler
	if next == nil {
		next = http.DefaultServeMux
	}
	fallback.Handler = s.reclaim(next)
	// reclaim finds the connection, and its connState, in the context.
	connContext := fallback.ConnContext
	fallback.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connContext != nil {
			ctx = connContext(ctx, c)
		}
		return context.WithValue(ctx, connKey{}, c)
	}
	return s
}

// Serve accepts connections on ln until Shutdown, then returns
// http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.handoff.addr = ln.Addr()
	s.serve.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.serve.Done()
		s.fallback.Serve(s.handoff)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off as
				// net/http does rather than spin.
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			return http.ErrServerClosed
		}
		go s.serveConn(c, &connState{threshold: 1, fresh: true})
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track registers a new connection as idle; false once closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = true
	s.active.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.active.Done()
}

// idle marks c idle and arms a read deadline d away, unless the server is
// closing. The lock is the one Shutdown holds while it wakes the idle
// connections, so a deadline set here can never undo Shutdown's.
func (s *Server) idle(c net.Conn, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = true
	setReadDeadline(c, d)
	return true
}

// busy marks c as reading or answering a request: Shutdown lets it finish.
func (s *Server) busy(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = false
	setReadDeadline(c, s.headerTimeout)
}

func setReadDeadline(c net.Conn, d time.Duration) {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	c.SetReadDeadline(t)
}

// Shutdown stops accepting, wakes the connections idle between requests,
// lets those reading or answering one finish, and shuts the net/http
// server down gracefully. When ctx ends first the remaining connections
// are closed and the Answerers' context is cancelled.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c, idle := range s.conns {
		if idle {
			c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	// No hand-over once the net/http server is shutting down: a connection
	// that would need it is closed instead.
	s.handoff.Close()
	err := s.fallback.Shutdown(ctx)
	if err != nil {
		s.fallback.Close()
	}
	done := make(chan struct{})
	go func() {
		s.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		if err == nil {
			err = ctx.Err()
		}
	}
	s.cancel()
	s.serve.Wait()
	return err
}

// connState follows a connection on its trips between the fast path and
// net/http. Taking a connection back costs about as much as a request, so
// one that keeps bouncing back to net/http is taken back ever more rarely:
// after 1, 2, 4 ... up to maxReclaimAfter answers of net/http, and after
// 1 again once the fast path has answered on it.
type connState struct {
	served    int  // requests net/http answered since the hand-over
	threshold int  // answers of net/http before reclaim tries again
	fresh     bool // no request read yet: the first waits headerTimeout
}

const maxReclaimAfter = 64

// serveConn answers requests on c until the client closes, a request needs
// net/http (the connection is then handed over, see reclaim) or an error.
func (s *Server) serveConn(c net.Conn, st *connState) {
	defer s.untrack(c)
	br := bufio.NewReaderSize(c, 4096)
	var head []byte
	var r Request
	for {
		// A new connection's first request must arrive within the header
		// timeout, as net/http's: idle_timeout is only the wait between
		// requests, and a silent connection must not hold a descriptor
		// for it.
		wait := s.idleTimeout
		if st.fresh && s.headerTimeout > 0 {
			wait = s.headerTimeout
		}
		st.fresh = false
		if !s.idle(c, wait) {
			break
		}
		if _, err := br.Peek(1); err != nil {
			break
		}
		s.busy(c)
		var err error
		head, err = readHead(br, head[:0])
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				s.handOver(c, st, head, br)
				return
			}
			break
		}
		c.SetReadDeadline(time.Time{})
		if r.parse(string(head)) {
			keep, ok := s.answer(s.ctx, c, &r)
			if ok {
				st.threshold = 1
				if keep {
					continue
				}
				break
			}
			head = canonicalLine(head, &r)
		}
		s.handOver(c, st, head, br)
		return
	}
	c.Close()
}

// reclaim runs next and then, when the connection can carry another
// request and the response is complete once flushed, takes the connection
// back from net/http (Hijack) and serves it on the fast path again.
// Without it one upload, refused key or range request would keep a
// client's connection on the slow path for good.
//
// A response is complete once flushed when a Content-Length frames it:
// the handler's, or the one reclaimWriter adds to a small body it held
// back, as net/http itself does for a handler that wrote little.
func (s *Server) reclaim(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pc, _ := r.Context().Value(connKey{}).(*prefixConn)
		if pc == nil || pc.st == nil || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Close || r.Header.Get("Expect") != "" {
			next.ServeHTTP(w, r)
			return
		}
		st := pc.st
		if st.served++; st.served < st.threshold {
			next.ServeHTTP(w, r)
			return
		}
		rw := &reclaimWriter{ResponseWriter: w}
		var body *eofReader
		if r.Body != http.NoBody {
			// Left alone otherwise: handlers may compare it to NoBody.
			body = &eofReader{ReadCloser: r.Body}
			r.Body = body
		}
		next.ServeHTTP(rw, r)
		if !rw.finish(r) || body != nil && !body.drained() {
			return
		}
		rc := http.NewResponseController(w)
		if rc.Flush() != nil {
			return
		}
		c, brw, err := rc.Hijack()
		if err != nil {
			return
		}
		// Unwrap the replays already consumed, so that connections going
		// back and forth do not nest.
		for {
			pc, ok := c.(*prefixConn)
			if !ok || len(pc.prefix) > 0 {
				break
			}
			c = pc.Conn
		}
		if n := brw.Reader.Buffered(); n > 0 {
			// A pipelined request net/http has already read.
			b, _ := brw.Reader.Peek(n)
			c = &prefixConn{Conn: c, prefix: bytes.Clone(b)}
		}
		c.SetDeadline(time.Time{})
		if !s.track(c) {
			c.Close()
			return
		}
		st.threshold = min(2*st.threshold, maxReclaimAfter)
		go s.serveConn(c, st)
	})
}

// holdBytes is the most body reclaimWriter holds back (bytes): less than
// net/http's own buffer, so that nothing has reached the wire before the
// handler returns.
const holdBytes = 2048

// reclaimWriter holds back the status and a small body until the handler
// returns, so that a Content-Length can frame them, and records what
// reclaim needs to know of the response.
type reclaimWriter struct {
	http.ResponseWriter
	code    int    // final status, 0 until written
	held    []byte // body held back
	through bool   // status and body go straight to net/http
	n       int64  // body bytes passed to net/http
}

func (w *reclaimWriter) WriteHeader(code int) {
	if code < 200 || w.through {
		w.ResponseWriter.WriteHeader(code) // 1xx, or a late call net/http reports
		return
	}
	if w.code == 0 {
		w.code = code
	}
}

// release stops holding back.
func (w *reclaimWriter) release() error {
	if w.through {
		return nil
	}
	w.through = true
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(w.code)
	if len(w.held) == 0 {
		return nil
	}
	n, err := w.ResponseWriter.Write(w.held)
	w.n += int64(n)
	w.held = nil
	return err
}

func (w *reclaimWriter) Write(p []byte) (int, error) {
	if !w.through {
		if len(w.held)+len(p) < holdBytes {
			if w.code == 0 {
				w.code = http.StatusOK
			}
			w.held = append(w.held, p...)
			return len(p), nil
		}
		if err := w.release(); err != nil {
			return 0, err
		}
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile and splice.
func (w *reclaimWriter) ReadFrom(src io.Reader) (int64, error) {
	if err := w.release(); err != nil {
		return 0, err
	}
	n, err := ReadFrom(w.ResponseWriter, src)
	w.n += n
	return n, err
}

func (w *reclaimWriter) Flush() {
	if w.release() != nil {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *reclaimWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish passes on what is held back, framed by a Content-Length when
// net/http would have added one, and reports whether the connection may
// carry another request and the response is complete once flushed.
func (w *reclaimWriter) finish(r *http.Request) bool {
	h := w.Header()
	if !w.through {
		if w.code == 0 {
			w.code = http.StatusOK
		}
		// net/http's rule for a handler done after one small write.
		if bodyAllowed(w.code) && h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" &&
			h.Get("Trailer") == "" && (r.Method != http.MethodHead || len(w.held) > 0) {
			h.Set("Content-Length", strconv.Itoa(len(w.held)))
		}
		if w.release() != nil {
			return false
		}
	}
	if h.Get("Connection") != "" || h.Get("Transfer-Encoding") != "" || h.Get("Trailer") != "" {
		return false
	}
	if !bodyAllowed(w.code) {
		return w.n == 0
	}
	cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil {
		return false
	}
	// net/http drops the body of a HEAD response.
	return r.Method == http.MethodHead || w.n == cl
}

// bodyAllowed mirrors net/http: 1xx, 204 and 304 have no body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// eofReader tells whether a request body was read to its end.
type eofReader struct {
	io.ReadCloser
	eof    bool
	closed bool
}

func (b *eofReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *eofReader) Close() error {
	b.closed = true
	return b.ReadCloser.Close()
}

// drained reports whether the body is entirely read, reading it when the
// handler stopped right at its end (as io.LimitReader does).
func (b *eofReader) drained() bool {
	if b.eof {
		return true
	}
	if b.closed {
		return false
	}
	var one [1]byte
	n, err := b.ReadCloser.Read(one[:])
	return n == 0 && err == io.EOF
}

type connKey struct{}

// canonicalLine returns head with its request line written with single
// SPs, as net/http reads it: a request the fast path parsed (runs of SP
// allowed, splitRequestLine) and its Answerer declined must reach net/http
// as the same request, not as a malformed one.
func canonicalLine(head []byte, r *Request) []byte {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	want := r.Method + " " + r.Target + " " + r.Proto
	if string(line) == want {
		return head
	}
	return append(append([]byte(want), "\r\n"...), rest...)
}

// handOver gives c to the net/http server with the bytes already read
// replayed in front of the rest of the stream.
func (s *Server) handOver(c net.Conn, st *connState, head []byte, br *bufio.Reader) {
	buffered, _ := br.Peek(br.Buffered())
	prefix := make([]byte, 0, len(head)+len(buffered))
	prefix = append(append(prefix, head...), buffered...)
	st.served = 0
	if !s.handoff.give(&prefixConn{Conn: c, prefix: prefix, st: st}) {
		c.Close()
	}
}

var errHeadTooLarge = errors.New("request head too large")

// readHead appends one request head (through the blank line) to head. On
// errHeadTooLarge the bytes read so far are returned for the hand-over.
func readHead(br *bufio.Reader, head []byte) ([]byte, error) {
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
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			return head, nil
		}
	}
}

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
// of it. ReadFrom keeps sendfile and splice for net/http's responses, and
// CloseWrite its lingering close of a connection with an unread body.
type prefixConn struct {
	net.Conn
	prefix []byte
	st     *connState // nil for a replay of pipelined bytes on reclaim
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *prefixConn) ReadFrom(r io.Reader) (int64, error) { return ReadFrom(c.Conn, r) }

// ReadFrom copies src to w with w's own ReadFrom when it has one (a TCP
// connection's or a net/http response's: sendfile or splice), else with a
// plain copy. Writers that wrap another one forward their ReadFrom here so
// that the wrapping does not cost the zero-copy path; unlike io.Copy it
// never prefers src's WriteTo, which would bypass w's ReadFrom.
func ReadFrom(w io.Writer, src io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w}, src)
}

func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
