//go:build linux

package evloop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockConn is a detached connection: the loop's own descriptor, put in
// Go's network poller through an *os.File, behind the net.Conn the
// Handler gets. net.FileConn cost 16 system calls per hand-over (the
// descriptor made blocking for os.NewFile, a duplicate made non-blocking
// again, SO_TYPE and both addresses asked for, five socket options, the
// original closed); this costs os.NewFile's F_GETFL and the poller's
// registration. A client with a connection per upload (the C client's and
// PHP's default) pays it on every upload. Keepalive probes go by the
// kernel's timers, not the 15 s net.FileConn set: both servers put a
// deadline on every read. Errors read as a *net.TCPConn's:
// a *net.OpError, net.ErrClosed once closed, os.ErrDeadlineExceeded (a
// net.Error whose Timeout is true) past a deadline.
type sockConn struct {
	f         *os.File
	rc        syscall.RawConn
	remote    *net.TCPAddr
	closed    atomic.Bool // by Close: what fails from then on failed for it
	localOnce sync.Once
	local     *net.TCPAddr
}

// newSockConn takes fd over: non-blocking, it goes into the poller. On
// error fd is closed.
func newSockConn(fd int, remote *net.TCPAddr) (*sockConn, error) {
	f := os.NewFile(uintptr(fd), "tcp")
	// A descriptor the poller did not take would block a thread on each
	// read and have no deadlines: refused rather than served so.
	if err := f.SetDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("evloop: socket not in the network poller: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sockConn{f: f, rc: rc, remote: remote}, nil
}

func (c *sockConn) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	return n, c.opError("read", err)
}

func (c *sockConn) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	return n, c.opError("write", err)
}

func (c *sockConn) Close() error {
	c.closed.Store(true)
	return c.opError("close", c.f.Close())
}

func (c *sockConn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr is asked for once, when first wanted (an upload wants it, for
// the file's name; a download does not).
func (c *sockConn) LocalAddr() net.Addr {
	c.localOnce.Do(func() {
		c.local = &net.TCPAddr{}
		c.rc.Control(func(fd uintptr) {
			var rsa unix.RawSockaddrAny
			n := uint32(unix.SizeofSockaddrAny)
			_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, fd, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)))
			if errno == 0 {
				c.local = tcpAddr(&rsa)
			}
		})
	})
	return c.local
}

func (c *sockConn) SetDeadline(t time.Time) error {
	return c.opError("set", c.f.SetDeadline(t))
}

func (c *sockConn) SetReadDeadline(t time.Time) error {
	return c.opError("set", c.f.SetReadDeadline(t))
}

func (c *sockConn) SetWriteDeadline(t time.Time) error {
	return c.opError("set", c.f.SetWriteDeadline(t))
}

// SyscallConn is the socket's, for its options (internal/tcpopt).
func (c *sockConn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// opError gives err the shape a *net.TCPConn's has; io.EOF stays itself.
func (c *sockConn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrClosed) || c.closed.Load() {
		// Also the poller's own error for a send cut short by Close,
		// which os does not export.
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.remote, Err: err}
}

// maxSendfile is the most one sendfile(2) call is asked to send (bytes),
// as Go's own: the kernel caps a call near 2 GiB anyway.
const maxSendfile = 1 << 30

// ReadFrom sends a file (an *os.File, or an io.LimitedReader of one) by
// sendfile(2) from its offset, which it then moves past what was sent, as
// *net.TCPConn does: the storage's large downloads are such an io.Copy.
// Other readers are copied through a buffer.
func (c *sockConn) ReadFrom(r io.Reader) (int64, error) {
	f, remain := sendSource(r)
	if f == nil {
		return io.Copy(writerOnly{c}, r)
	}
	if remain <= 0 {
		return 0, nil
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return io.Copy(writerOnly{c}, r) // not a file sendfile can read
	}
	src, err := f.SyscallConn()
	if err != nil {
		return io.Copy(writerOnly{c}, r)
	}
	var sent int64
	var serr error
	cerr := src.Control(func(sfd uintptr) {
		sent, serr = c.sendfile(int(sfd), &pos, remain)
	})
	if lr, ok := r.(*io.LimitedReader); ok {
		lr.N -= sent
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil && serr == nil {
		serr = err
	}
	if cerr != nil && serr == nil {
		serr = cerr
	}
	return sent, c.opError("sendfile", serr)
}

// sendfile sends up to remain bytes of sfd from *pos, waiting for room in
// the socket under its write deadline; it stops early at the file's end.
func (c *sockConn) sendfile(sfd int, pos *int64, remain int64) (int64, error) {
	var sent int64
	var serr error
	werr := c.rc.Write(func(fd uintptr) bool {
		for remain > 0 {
			n, err := unix.Sendfile(int(fd), sfd, pos, int(min(remain, maxSendfile)))
			if n > 0 {
				sent += int64(n)
				remain -= int64(n)
			}
			switch {
			case errors.Is(err, unix.EAGAIN):
				return false // wait for room
			case errors.Is(err, unix.EINTR):
			case err != nil:
				serr = os.NewSyscallError("sendfile", err)
				return true
			case n == 0:
				return true // the file ended
			}
		}
		return true
	})
	if serr == nil {
		serr = werr
	}
	return sent, serr
}

// sendSource is the file r reads and how much of it, nil if r is not one.
func sendSource(r io.Reader) (*os.File, int64) {
	switch v := r.(type) {
	case *os.File:
		return v, 1<<63 - 1
	case *io.LimitedReader:
		if f, ok := v.R.(*os.File); ok {
			return f, v.N
		}
	}
	return nil, 0
}

// writerOnly hides ReadFrom from io.Copy, which would call it again.
type writerOnly struct{ io.Writer }
