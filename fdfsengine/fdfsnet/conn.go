package fdfsnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// StreamChunk is how many content bytes are copied under one deadline
// (bytes). The deadline is refreshed between chunks so that NetworkTimeout
// bounds a stalled transfer, not a long healthy one, while each chunk still
// goes through sendfile/splice in one call.
const StreamChunk = 4 << 20

// maxErrorBody bounds how much of a (non-standard) body attached to an
// error response is drained to keep the connection usable (bytes).
const maxErrorBody = 64 << 10

// aLongTimeAgo is a deadline in the past; setting it aborts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Conn is one TCP connection to a tracker or a storage server. It is used
// by one exchange at a time; only the context watcher touches it
// concurrently, under mu.
type Conn struct {
	nc      net.Conn
	addr    string
	timeout time.Duration // per I/O step; 0 = none
	// clean is true when the last exchange was read to its end, so the
	// next request may be written on this connection.
	clean bool
	// split writes content after the header and fixed part, never with
	// them, as the C and Java clients do (the Dialer's Nagle).
	split bool

	mu       sync.Mutex
	ctx      context.Context // of the operation in progress, nil when idle
	canceled bool            // ctx ended during the operation
}

// NewConn wraps nc, dialled to addr ("host:port", the key callers pool it
// by), with timeout bounding each I/O step (0 = none).
func NewConn(nc net.Conn, addr string, timeout time.Duration) *Conn {
	return &Conn{nc: nc, addr: addr, timeout: timeout, clean: true}
}

// NetConn is the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Addr is the address the connection was dialled to.
func (c *Conn) Addr() string { return c.addr }

// Clean reports whether the last exchange was read to its end (or none
// was started), so the next request may be written on this connection.
func (c *Conn) Clean() bool { return c.clean }

// Bind attaches ctx to the connection for one operation: when ctx ends, the
// connection's deadline is expired so that any blocked read or write
// returns at once. The returned release detaches it and reports whether the
// connection is still usable as far as cancellation is concerned.
func (c *Conn) Bind(ctx context.Context) (release func() bool) {
	c.mu.Lock()
	c.ctx, c.canceled = ctx, false
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.canceled = true
		c.nc.SetDeadline(aLongTimeAgo)
		c.mu.Unlock()
	})
	return func() bool {
		// If the watcher already started it may still be expiring the
		// deadline: the connection cannot be trusted any more.
		ok := stop()
		c.mu.Lock()
		ok = ok && !c.canceled
		c.ctx = nil
		c.mu.Unlock()
		return ok
	}
}

// arm sets the deadline of the next I/O step: now + timeout, or the
// context's deadline if that is earlier.
func (c *Conn) arm() error { return c.armFor(c.timeout) }

// armFor is arm with a step timeout of its own (0 = none).
func (c *Conn) armFor(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled {
		return context.Cause(c.ctx)
	}
	var d time.Time
	if timeout > 0 {
		d = time.Now().Add(timeout)
	}
	if c.ctx != nil {
		if dl, ok := c.ctx.Deadline(); ok && (d.IsZero() || dl.Before(d)) {
			d = dl
		}
	}
	return c.nc.SetDeadline(d)
}

// ioErr turns an I/O error into the context's error when the operation was
// cancelled (the deadline expiry is only the mechanism).
func (c *Conn) ioErr(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled && c.ctx != nil {
		return fmt.Errorf("%w (%v)", context.Cause(c.ctx), err)
	}
	return err
}

// InlineMax is the largest content Send writes in one piece with the
// header (bytes): a request in one write reaches the server in one
// segment and wakes it once, where a header written alone wakes it to
// read 10 bytes and, with Nagle on, ask for an immediate ACK.
const InlineMax = 64 << 10

// Send writes one request: a header announcing len(fixed)+n body bytes,
// the fixed part, then exactly n bytes copied from content. Content of up
// to InlineMax bytes is read first and goes out with the header and fixed
// part in one write (unless the Dialer's Nagle asked for split writes);
// larger content is copied in chunks straight to the socket after them
// (sendfile when content is an *os.File).
func (c *Conn) Send(cmd, status byte, fixed []byte, content io.Reader, n int64) error {
	c.clean = false
	if err := c.arm(); err != nil {
		return err
	}
	head := protocol.HeaderSize + len(fixed)
	var inline int64
	if n <= InlineMax && !c.split {
		inline = n
	}
	var b []byte
	if inline > 0 && head+int(inline) <= sendBufSize {
		// The pooled copy buffer, not a new one per small request.
		bp := sendBufs.Get().(*[]byte)
		defer sendBufs.Put(bp)
		b = (*bp)[:head+int(inline)]
	} else {
		b = make([]byte, head+int(inline))
	}
	protocol.Header{Length: int64(len(fixed)) + n, Cmd: cmd, Status: status}.Put(b)
	copy(b[protocol.HeaderSize:], fixed)
	if inline > 0 {
		if _, err := io.ReadFull(content, b[head:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("content ended before its announced size of %d bytes: %w", n, io.ErrUnexpectedEOF)
			}
			return err
		}
		n = 0
	}
	if _, err := c.nc.Write(b); err != nil {
		return c.refusal(c.ioErr(err))
	}
	_, isFile := content.(*os.File)
	for n > 0 {
		if err := c.arm(); err != nil {
			return err
		}
		chunk := min(n, StreamChunk)
		var w int64
		var err error
		if isFile {
			w, err = io.CopyN(c.nc, content, chunk) // sendfile
		} else {
			w, err = copyBuffered(c.nc, content, chunk)
		}
		n -= w
		if err == io.EOF {
			return fmt.Errorf("content ended %d bytes before its announced size: %w", n, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return c.refusal(c.ioErr(err))
		}
	}
	return nil
}

// refusal returns the status a server sent before it closed the
// connection on a request whose content it did not want (a storage that
// refuses an upload for space answers ENOSPC at once, and one that does not
// read the rest resets the connection): the reply is still in the socket
// after the reset. Without one, writeErr is the error.
func (c *Conn) refusal(writeErr error) error {
	if !errors.Is(writeErr, syscall.EPIPE) && !errors.Is(writeErr, syscall.ECONNRESET) {
		return writeErr
	}
	_, err := c.RecvHeader()
	// The connection is gone whatever the reply said.
	c.clean = false
	if IsStatus(err) {
		return fmt.Errorf("the server answered before the whole request was sent: %w", err)
	}
	return writeErr
}

// sendBufSize is the buffer of copyBuffered (bytes).
const sendBufSize = 256 << 10

var sendBufs = sync.Pool{New: func() any { b := make([]byte, sendBufSize); return &b }}

// copyBuffered copies exactly n bytes from r to w through a pooled
// sendBufSize buffer (io.EOF if r ends first). A TCP connection's own
// ReadFrom would copy a non-file reader 32 KiB per write syscall, which
// made a 1 GiB upload through the gateway 32768 writes.
func copyBuffered(w io.Writer, r io.Reader, n int64) (int64, error) {
	bp := sendBufs.Get().(*[]byte)
	defer sendBufs.Put(bp)
	written, err := io.CopyBuffer(struct{ io.Writer }{w}, io.LimitReader(r, n), *bp)
	if err == nil && written < n {
		err = io.EOF
	}
	return written, err
}

// RecvHeader reads a response header. A non-zero status is returned as a
// *protocol.StatusError after draining any body, leaving the connection
// clean.
func (c *Conn) RecvHeader() (protocol.Header, error) {
	if err := c.arm(); err != nil {
		return protocol.Header{}, err
	}
	h, err := protocol.ReadHeader(c.nc)
	if err != nil {
		return h, c.ioErr(err)
	}
	if h.Cmd != protocol.CmdResp {
		return h, fmt.Errorf("response cmd %d, want %d: %w", h.Cmd, protocol.CmdResp, protocol.ErrInvalid)
	}
	if h.Status != 0 {
		if h.Length > maxErrorBody {
			return h, fmt.Errorf("error response with a %d-byte body: %w", h.Length, protocol.StatusErr(h.Status))
		}
		if h.Length > 0 {
			if _, err := io.CopyN(io.Discard, c.nc, h.Length); err != nil {
				return h, c.ioErr(err)
			}
		}
		c.clean = true
		return h, protocol.StatusErr(h.Status)
	}
	return h, nil
}

// RecvBody reads the body announced by h (at most max bytes).
func (c *Conn) RecvBody(h protocol.Header, max int64) ([]byte, error) {
	if err := c.arm(); err != nil {
		return nil, err
	}
	b, err := protocol.ReadBody(c.nc, h, max)
	if err != nil {
		return nil, c.ioErr(err)
	}
	c.clean = true
	return b, nil
}

// Recv reads a whole response of at most max body bytes.
func (c *Conn) Recv(max int64) ([]byte, error) {
	h, err := c.RecvHeader()
	if err != nil {
		return nil, err
	}
	return c.RecvBody(h, max)
}

// RecvTo streams the body announced by h into w in deadline-bounded
// chunks and returns the bytes written. A failing w leaves the rest of the
// body unread: the connection is then not clean and gets closed.
func (c *Conn) RecvTo(h protocol.Header, w io.Writer) (int64, error) {
	var total int64
	for total < h.Length {
		if err := c.arm(); err != nil {
			return total, err
		}
		n, err := io.CopyN(w, c.nc, min(h.Length-total, StreamChunk))
		total += n
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, c.ioErr(err)
		}
	}
	c.clean = true
	return total, nil
}

// Reader reads the rest of a reply straight from the connection, for a
// body the caller parses as it comes (an endless stream such as
// FETCH_ONE_PATH_BINLOG's). Each read is bounded by stepTimeout (0 = the
// connection's own) and by the bound context. The connection is not clean
// afterwards: its end is the caller's to find.
func (c *Conn) Reader(stepTimeout time.Duration) io.Reader {
	c.clean = false
	if stepTimeout == 0 {
		stepTimeout = c.timeout
	}
	return &stepReader{c: c, timeout: stepTimeout}
}

type stepReader struct {
	c       *Conn
	timeout time.Duration
}

func (r *stepReader) Read(p []byte) (int, error) {
	if err := r.c.armFor(r.timeout); err != nil {
		return 0, err
	}
	n, err := r.c.nc.Read(p)
	if err != nil && err != io.EOF {
		err = r.c.ioErr(err)
	}
	return n, err
}

// RoundTrip sends a request without content and reads a reply of at most
// max bytes.
func (c *Conn) RoundTrip(cmd byte, body []byte, max int64) ([]byte, error) {
	if err := c.Send(cmd, 0, body, nil, 0); err != nil {
		return nil, err
	}
	return c.Recv(max)
}

// ActiveTest checks the connection with an ACTIVE_TEST round trip.
func (c *Conn) ActiveTest() error {
	b, err := c.RoundTrip(protocol.CmdActiveTest, nil, 0)
	if err == nil && len(b) != 0 {
		err = fmt.Errorf("active test reply of %d bytes: %w", len(b), protocol.ErrInvalid)
	}
	return err
}

// Alive reports whether an idle connection is still open and has nothing
// unsolicited waiting (see peekAlive): the check before reusing a pooled
// connection.
func (c *Conn) Alive() bool { return peekAlive(c.nc) }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// IsStatus reports whether err is a FastDFS status (an answer from the
// server or a malformed reply), as opposed to a connection failure.
func IsStatus(err error) bool {
	var se *protocol.StatusError
	return errors.As(err, &se)
}
