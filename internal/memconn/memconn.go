package memconn

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Listener hands out the server ends of the connections its Dial and
// DialContext make. It implements net.Listener.
type Listener struct {
	size      int
	conns     chan *Conn
	done      chan struct{}
	closeOnce sync.Once
}

// Listen returns a Listener whose connections buffer up to size bytes in
// each direction. size must be positive.
func Listen(size int) *Listener {
	if size <= 0 {
		panic(fmt.Sprintf("memconn: buffer size %d", size))
	}
	return &Listener{size: size, conns: make(chan *Conn), done: make(chan struct{})}
}

// Accept waits for a Dial and returns the server end of its connection.
// After Close it returns net.ErrClosed, which ends a server's Serve loop.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("memconn: accept: %w", net.ErrClosed)
	}
}

// Close makes Accept and Dial fail from now on; connections made before
// stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr is the Addr of every Listener and connection.
func (l *Listener) Addr() net.Addr { return Addr{} }

// Dial is DialContext without a context.
func (l *Listener) Dial() (net.Conn, error) { return l.DialContext(context.Background()) }

// DialContext connects to the Listener: it waits until Accept takes the
// server end, ctx ends or the Listener is closed, and returns the client
// end.
func (l *Listener) DialContext(ctx context.Context) (net.Conn, error) {
	up, down := newBuffer(l.size), newBuffer(l.size)
	client := newConn(down, up)
	select {
	case l.conns <- newConn(up, down):
		return client, nil
	case <-l.done:
		return nil, fmt.Errorf("memconn: dial: %w", net.ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("memconn: dial: %w", ctx.Err())
	}
}

// Addr is the address of the connections: there is only one, "memconn".
type Addr struct{}

// Network returns "memconn".
func (Addr) Network() string { return "memconn" }

// String returns "memconn".
func (Addr) String() string { return "memconn" }

// Conn is one end of a connection. It implements net.Conn.
type Conn struct {
	r, w *buffer // what this end reads and writes
	// wmu keeps Writes whole: a Write that waits for room in a full buffer
	// must not have another Write's bytes interleaved with its own.
	wmu       sync.Mutex
	rd, wd    deadline
	closeOnce sync.Once
}

func newConn(r, w *buffer) *Conn {
	return &Conn{r: r, w: w, rd: makeDeadline(), wd: makeDeadline()}
}

// Read reads what the peer wrote, waiting for data if there is none.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.rd.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		n, wait, err := c.r.read(p)
		if wait == nil {
			return n, err
		}
		select {
		case <-wait:
		case <-c.rd.wait():
		}
	}
}

// Write writes all of p, waiting for the peer to read when the buffer is
// full. It returns early only with an error: the deadline, a closed end.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for {
		if c.wd.expired() {
			return written, os.ErrDeadlineExceeded
		}
		n, wait, err := c.w.write(p[written:])
		written += n
		if wait == nil {
			return written, err
		}
		select {
		case <-wait:
		case <-c.wd.wait():
		}
	}
}

// Close closes this end: its calls fail with net.ErrClosed, blocked ones
// included; the peer reads the bytes already written, then io.EOF, and
// its writes fail with io.ErrClosedPipe. A second Close returns
// net.ErrClosed, as a TCP connection's does.
func (c *Conn) Close() error {
	closed := false
	c.closeOnce.Do(func() {
		c.r.closeReader()
		c.w.closeWriter()
		closed = true
	})
	if !closed {
		return fmt.Errorf("memconn: close: %w", net.ErrClosed)
	}
	return nil
}

// LocalAddr returns Addr{}.
func (c *Conn) LocalAddr() net.Addr { return Addr{} }

// RemoteAddr returns Addr{}.
func (c *Conn) RemoteAddr() net.Addr { return Addr{} }

// SetDeadline sets the read and the write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the time after which Read fails with
// os.ErrDeadlineExceeded; the zero time means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

// SetWriteDeadline sets the time after which Write fails with
// os.ErrDeadlineExceeded; the zero time means none.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wd.set(t)
	return nil
}

// buffer is one direction of a connection: a ring of a fixed size.
type buffer struct {
	mu   sync.Mutex
	data []byte // nil once the reader closed
	r, n int    // read offset, bytes buffered
	// rclosed and wclosed record that the reading and the writing end
	// closed.
	rclosed, wclosed bool
	// changed is closed, and replaced, on the next change of state when
	// a call waits for one (waiting).
	changed chan struct{}
	waiting bool
}

func newBuffer(size int) *buffer {
	return &buffer{data: make([]byte, size), changed: make(chan struct{})}
}

// read copies buffered bytes into p. When there are none yet it returns
// a channel to wait on before trying again.
func (b *buffer) read(p []byte) (int, <-chan struct{}, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.rclosed:
		return 0, nil, fmt.Errorf("memconn: read: %w", net.ErrClosed)
	case len(p) == 0:
		return 0, nil, nil
	case b.n == 0 && b.wclosed:
		return 0, nil, io.EOF
	case b.n == 0:
		return 0, b.waitLocked(), nil
	}
	k := 0
	for k < len(p) && b.n > 0 {
		m := copy(p[k:], b.data[b.r:min(b.r+b.n, len(b.data))])
		k += m
		b.r = (b.r + m) % len(b.data)
		b.n -= m
	}
	b.notifyLocked()
	return k, nil, nil
}

// write copies as much of p as fits. When not all of it did it returns a
// channel to wait on before writing the rest.
func (b *buffer) write(p []byte) (int, <-chan struct{}, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.wclosed:
		return 0, nil, fmt.Errorf("memconn: write: %w", net.ErrClosed)
	case b.rclosed:
		return 0, nil, fmt.Errorf("memconn: write: %w", io.ErrClosedPipe)
	}
	k := 0
	for k < len(p) && b.n < len(b.data) {
		w := (b.r + b.n) % len(b.data)
		end := len(b.data)
		if w < b.r {
			end = b.r
		}
		m := copy(b.data[w:end], p[k:])
		k += m
		b.n += m
	}
	if k > 0 {
		b.notifyLocked()
	}
	if k < len(p) {
		return k, b.waitLocked(), nil
	}
	return k, nil, nil
}

func (b *buffer) closeReader() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rclosed = true
	// Nobody reads them any more.
	b.data, b.n = nil, 0
	b.notifyLocked()
}

func (b *buffer) closeWriter() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wclosed = true
	b.notifyLocked()
}

func (b *buffer) waitLocked() <-chan struct{} {
	b.waiting = true
	return b.changed
}

// notifyLocked wakes the calls waiting for a change, if any: the channel
// is only replaced when someone holds it, so that a stream of reads and
// writes that never wait allocates nothing.
func (b *buffer) notifyLocked() {
	if b.waiting {
		close(b.changed)
		b.changed = make(chan struct{})
		b.waiting = false
	}
}

// deadline is a read or write deadline: a channel closed when it passes.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	passed chan struct{}
}

func makeDeadline() deadline { return deadline{passed: make(chan struct{})} }

// set moves the deadline to t; the zero time removes it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// A timer that fired already may not have closed passed yet: wait for
	// it, so that it cannot close the channel of the new deadline.
	if d.timer != nil && !d.timer.Stop() {
		<-d.passed
	}
	d.timer = nil
	if isClosed(d.passed) {
		d.passed = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.passed)
		return
	}
	passed := d.passed
	d.timer = time.AfterFunc(dur, func() { close(passed) })
}

// wait returns the channel closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

func (d *deadline) expired() bool { return isClosed(d.wait()) }

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
