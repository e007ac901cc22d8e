package storagenode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/connstate"
	"github.com/fdfsgo/fdfs/internal/pollkick"
	"github.com/fdfsgo/fdfs/internal/tcpopt"
)

// A client or peer connection: buffered reads with per-operation
// deadlines, replies, and the loop that reads and serves its requests.

// connError marks a failure of the client connection itself: the
// connection is closed without a reply.
type connError struct{ err error }

func (e *connError) Error() string { return "connection: " + e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// conn is one client connection with its per-operation deadlines.
type conn struct {
	s    *Server
	c    net.Conn
	in   *bufio.Reader    // the socket (socketReader): a header and a short body come in one read
	body io.LimitedReader // the current request's unread body
	// syncPeer is the storage id a peer announced with REPORT_SERVER_ID
	// on a sync connection ("" on client connections).
	syncPeer string
	state    connstate.State // idle, busy or dropped (shutdown.go)
	// headerBy, while a request header is awaited, is when it must have
	// arrived whole: network_timeout after the wait began, not renewed by
	// each byte, so a client trickling a header (slowloris) cannot hold a
	// max_connections slot for longer. Zero while a body is read: content
	// reads renew network_timeout per read, as upstream.
	headerBy time.Time
	// held is replies not written yet: a pipelining peer's next request
	// was already here, whole, when they were made (reply).
	held []byte
	// readBy and writeBy are the socket's read and write deadlines as
	// last set (renew).
	readBy, writeBy time.Time
	// sent counts the bytes written for the current request and
	// replyName is its reply's file name, for the access log.
	sent      int64
	replyName string
	// streak is how long requests have come without a wait: a peer
	// replaying files back to back (internal/pollkick).
	streak pollkick.Streak
}

// requestBufSize is the read buffer of a connection (bytes): the header and
// the body of every request but large content and metadata fit, so most
// requests take one read syscall, a small file written with its header
// (our client, the gateway) included. Content reads of at least this size
// go straight to the caller's buffer.
const requestBufSize = 16 << 10

// requestBufs recycles the read buffers of ended connections: clients
// that connect per request would otherwise allocate one each time.
var requestBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, requestBufSize) }}

// newRequestReader returns a pooled read buffer on cc's socket.
func newRequestReader(cc *conn) *bufio.Reader {
	r := requestBufs.Get().(*bufio.Reader)
	r.Reset(socketReader{cc})
	return r
}

// recycle gives a pooled read buffer back (one made for a sync
// connection is left to the garbage collector).
func recycle(r *bufio.Reader) {
	if r.Size() == requestBufSize {
		r.Reset(nil)
		requestBufs.Put(r)
	}
}

// syncBufSize is the read buffer of a sync connection (bytes), set when
// the peer introduces itself: a pipelining peer's small files come
// several to a read.
const syncBufSize = 64 << 10

// maxHeld is how many bytes of replies wait for the next one (bytes).
const maxHeld = 1 << 10

// Read reads what the client sent, buffered.
func (cc *conn) Read(p []byte) (int, error) { return cc.in.Read(p) }

// socketReader reads from the socket with a fresh network_timeout deadline
// per call (upstream applies the timeout per I/O, not per request).
type socketReader struct{ cc *conn }

func (r socketReader) Read(p []byte) (int, error) {
	cc := r.cc
	t := cc.s.cfg.NetworkTimeout
	deadline := time.Now().Add(t)
	if !cc.headerBy.IsZero() && cc.headerBy.Before(deadline) {
		deadline = cc.headerBy
	}
	if renew(cc.readBy, deadline, t) {
		cc.readBy = deadline
		cc.c.SetReadDeadline(deadline)
	}
	n, err := cc.c.Read(p)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		err = &connError{err}
	}
	return n, err
}

// renew reports whether a deadline set at set must be moved to want for
// an I/O step of timeout t: when it is later (a header's deadline holds)
// or earlier by more than t/8. Back-to-back requests thus share one
// deadline instead of changing it (a timer update under a lock, ~150 ns)
// for every read and write; each step still gets at least 7/8 of t.
func renew(set, want time.Time, t time.Duration) bool {
	return set.After(want) || want.Sub(set) > t/8
}

// Write writes to the socket with a fresh deadline (renew).
func (cc *conn) Write(p []byte) (int, error) {
	b := p
	if len(cc.held) > 0 {
		b = append(cc.held, p...)
		cc.held = cc.held[:0]
	}
	t := cc.s.cfg.NetworkTimeout
	if deadline := time.Now().Add(t); renew(cc.writeBy, deadline, t) {
		cc.writeBy = deadline
		cc.c.SetWriteDeadline(deadline)
	}
	n, err := cc.c.Write(b)
	if err != nil {
		return max(n-(len(b)-len(p)), 0), &connError{err}
	}
	cc.sent += int64(len(p))
	return len(p), nil
}

// flush writes the replies held back.
func (cc *conn) flush() error {
	if len(cc.held) == 0 {
		return nil
	}
	_, err := cc.Write(nil)
	return err
}

// readBody reads exactly n bytes of the request body.
func (cc *conn) readBody(n int64) ([]byte, error) {
	if n < 0 || n > cc.body.N {
		return nil, fmt.Errorf("need %d body bytes, %d left: %w", n, cc.body.N, protocol.ErrInvalid)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(&cc.body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readFixed reads a request body that must be exactly n bytes long; what
// names the request in the error.
func (cc *conn) readFixed(h protocol.Header, n int64, what string) ([]byte, error) {
	if h.Length != n {
		return nil, fmt.Errorf("%s body of %d bytes: %w", what, h.Length, protocol.ErrInvalid)
	}
	return cc.readBody(n)
}

// readRest reads the remaining body, which must fit the buffer size
// (upstream rejects larger non-content requests with EINVAL).
func (cc *conn) readRest() ([]byte, error) {
	if cc.body.N >= cc.s.cfg.BuffSize {
		return nil, fmt.Errorf("request body of %d bytes exceeds buff_size: %w", cc.body.N, protocol.ErrInvalid)
	}
	return cc.readBody(cc.body.N)
}

func (cc *conn) reply(body []byte) error {
	if cc.s.access != nil && len(body) > protocol.GroupNameLen {
		cc.replyName = string(body[protocol.GroupNameLen:]) // an upload's name, for the access log
	}
	if len(body) == 0 && cc.syncPeer != "" && len(cc.held) < maxHeld && cc.nextBuffered() {
		// A pipelining peer (sync_batch.go) reads the replies after
		// sending all its requests: this one goes with the next.
		cc.held = append(cc.held, okReply[:]...)
		return nil
	}
	return protocol.WriteResponse(cc, body)
}

// okReply is a reply without body and with status 0.
var okReply = [protocol.HeaderSize]byte{8: protocol.CmdResp}

// nextBuffered reports whether a whole request is buffered after the
// current one, so that serving it needs nothing more from the client.
func (cc *conn) nextBuffered() bool {
	if cc.body.N != 0 || cc.in.Buffered() < protocol.HeaderSize {
		return false
	}
	b, err := cc.in.Peek(protocol.HeaderSize)
	if err != nil {
		return false
	}
	h, err := protocol.DecodeHeader(b)
	return err == nil && h.Length >= 0 && h.Length <= int64(cc.in.Buffered()-protocol.HeaderSize)
}

func (s *Server) serveConn(c net.Conn, pending []byte) {
	cc := &conn{s: s, c: c}
	cc.in = newRequestReader(cc)
	if len(pending) > 0 {
		cc.in.Reset(io.MultiReader(bytes.NewReader(pending), socketReader{cc}))
	}
	if !s.serving(cc, true) {
		recycle(cc.in)
		return
	}
	defer func() { recycle(cc.in) }()
	defer s.serving(cc, false)
	defer cc.flush() // replies held back for a request that never came
	log := s.log.With("client", c.RemoteAddr().String())
	for {
		// An idle connection is closed after network_timeout, as upstream;
		// the header must be whole by then.
		waitFrom := time.Now()
		cc.headerBy = waitFrom.Add(s.cfg.NetworkTimeout)
		h, err := protocol.ReadHeader(cc)
		cc.headerBy = time.Time{}
		if err != nil {
			if !isClosedErr(err) {
				log.Debug("closing connection", "err", err)
			}
			return
		}
		cc.streak.Read(time.Since(waitFrom))
		if !cc.state.Begin() {
			return // dropped by Shutdown while the header came in
		}
		if h.Cmd == protocol.CmdQuit || !s.serveRequest(cc, h, log) {
			return
		}
		// Back to idle, unless Shutdown is waiting for this request.
		if s.draining.Load() || !cc.state.End() {
			return
		}
	}
}

// serveRequest answers one request whose header was read; false when the
// connection must end.
func (s *Server) serveRequest(cc *conn, h protocol.Header, log *slog.Logger) bool {
	if h.Length > int64(cc.in.Buffered()) {
		// Clients that write the body after the header with Nagle on
		// wait for our ACK of the header (internal/tcpopt).
		tcpopt.QuickAck(cc.c)
	}
	cc.body = io.LimitedReader{R: cc, N: h.Length}
	began := time.Now()
	name := s.accessName(cc, h)
	err := s.dispatch(cc, h)
	s.reqs.Observe(h.Cmd, protocol.StatusOf(err), time.Since(began))
	if err == nil && cc.body.N != 0 {
		err = fmt.Errorf("cmd %d left %d body bytes unread: %w", h.Cmd, cc.body.N, protocol.ErrInvalid)
	}
	if s.access != nil {
		st := protocol.StatusOf(err)
		defer func() { // after the error reply, which it counts
			name = accessReplyName(h.Cmd, name, cc.replyName)
			s.access.record(cc.c.RemoteAddr(), h.Cmd, name, st, began, h.Length+protocol.HeaderSize, cc.sent)
		}()
	}
	if err == nil {
		return true
	}
	var ce *connError
	if errors.As(err, &ce) {
		log.Debug("connection failed", "cmd", h.Cmd, "err", err)
		return false
	}
	st := logFailed(log, h.Cmd, err)
	// The status goes out before the rest of the body is skipped: a
	// client still sending finds it waiting, even if the connection
	// ends before it reads it.
	if protocol.WritePacket(cc, protocol.CmdResp, st, nil) != nil {
		return false
	}
	// Skip what is left so the connection stays in step. File content
	// is read and dropped however long it is (each read bounded by
	// network_timeout, nothing written to disk): closing with unread
	// bytes would reset the connection, and a client still writing a
	// refused upload would see "connection reset" instead of ENOSPC.
	// Any other large remainder is garbage and ends the connection.
	if cc.body.N > s.cfg.BuffSize && !carriesContent(h.Cmd) {
		return false
	}
	return discardBody(cc) == nil
}

// logFailed logs a request answered with an error status and returns the
// status: a missing file is routine (Debug), anything else is Info.
func logFailed(log *slog.Logger, cmd byte, err error) byte {
	st := protocol.StatusOf(err)
	if st == protocol.ENOENT {
		log.Debug("request failed", "cmd", cmd, "err", err)
	} else {
		log.Info("request failed", "cmd", cmd, "status", st, "err", err)
	}
	return st
}

// carriesContent reports whether cmd's body ends with file content a
// client streams (uploads, appends, modifies and their replicas).
func carriesContent(cmd byte) bool {
	switch cmd {
	case protocol.CmdUploadFile, protocol.CmdUploadAppenderFile, protocol.CmdUploadSlaveFile,
		protocol.CmdAppendFile, protocol.CmdModifyFile,
		protocol.CmdSyncCreateFile, protocol.CmdSyncUpdateFile, protocol.CmdSyncAppendFile, protocol.CmdSyncModifyFile:
		return true
	}
	return false
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
