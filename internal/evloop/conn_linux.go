//go:build linux

package evloop

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// event handles epoll's report on c. A connection with replies still to
// write waits only for EPOLLOUT: it reads no new request meanwhile.
func (l *loop) event(c *Conn, events uint32) {
	if len(c.out) > 0 {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if !l.flush(c) || len(c.out) > 0 {
			return
		}
		if c.quit {
			l.close(c)
			return
		}
		if l.ctl(unix.EPOLL_CTL_MOD, c.fd, unix.EPOLLIN) != nil {
			l.close(c)
			return
		}
		l.process(c, c.in) // requests held back while the replies waited
		return
	}
	if events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		l.read(c)
	}
}

// read takes what c has sent: into the loop's scratch buffer when nothing
// is pending (the usual case, one whole request), else after the pending
// bytes in c's own buffer.
func (l *loop) read(c *Conn) {
	var buf []byte
	if len(c.in) == 0 {
		buf = l.scratch
	} else {
		if cap(c.in)-len(c.in) < 4096 {
			c.in = append(c.in, make([]byte, 4096)...)[:len(c.in)]
		}
		buf = c.in[len(c.in):cap(c.in)]
	}
	n, err := unix.Read(c.fd, buf)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return
	case err != nil || n == 0: // reset, or the peer closed
		l.close(c)
		return
	}
	if len(c.in) == 0 {
		l.process(c, buf[:n])
	} else {
		c.in = c.in[:len(c.in)+n]
		l.process(c, c.in)
	}
}

// process serves the whole inline requests at the start of buf, writes
// the replies in one call and keeps the rest in c.in. Replies are made
// ahead of the client reading them up to maxOut bytes: a client that
// pipelines many downloads and reads nothing holds that much memory, not
// the sum of what it asked for.
func (l *loop) process(c *Conn, buf []byte) {
	for {
		rest, st := l.serveAll(c, buf)
		if st == gone {
			return
		}
		keep(c, rest)
		if !l.flush(c) || len(c.out) > 0 || st != full {
			return // after EPOLLOUT, event calls process again
		}
		buf = c.in
	}
}

// maxOut is how many bytes of replies process makes before writing them.
const maxOut = 256 << 10

// serveAll's outcomes.
const (
	partial = iota // buf ends inside a request, or is used up
	full           // maxOut bytes of replies wait
	gone           // c was closed or detached
)

// serveAll serves the requests at the start of buf while replies fit
// maxOut, and returns what is left of buf.
func (l *loop) serveAll(c *Conn, buf []byte) ([]byte, int) {
	h := l.s.cfg.Handler
	for len(buf) >= protocol.HeaderSize {
		if len(c.out) >= maxOut {
			return buf, full
		}
		hd, err := protocol.DecodeHeader(buf)
		if err != nil || hd.Length > maxInline || !h.Inline(c, hd) {
			l.detach(c, buf)
			return nil, gone
		}
		end := protocol.HeaderSize + int(hd.Length)
		if len(buf) < end {
			// The body comes in another segment: a client writing it
			// after the header with Nagle on waits for our ACK of the
			// header (see internal/tcpopt).
			unix.SetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
			break
		}
		out, act := l.serve(c, hd, buf[protocol.HeaderSize:end])
		switch act {
		case Handoff:
			l.detach(c, buf)
			return nil, gone
		case Close:
			c.quit = true
			if l.flush(c) && len(c.out) == 0 {
				l.close(c)
			}
			return nil, gone
		}
		c.out = out
		c.seen = l.now
		buf = buf[end:]
	}
	return buf, partial
}

// serve calls the Handler's Serve. A panic in it (a bug in one request)
// closes the connection instead of taking the server down.
func (l *loop) serve(c *Conn, hd protocol.Header, body []byte) (out []byte, act Action) {
	defer func() {
		if r := recover(); r != nil {
			l.s.cfg.Log.Error("panic serving request", "peer", c.remote.String(), "cmd", hd.Cmd, "panic", r)
			out, act = c.out, Close
		}
	}()
	out, act = l.s.cfg.Handler.Serve(c, hd, body, c.out)
	if act == Handoff {
		out = c.out
	}
	return out, act
}

// keep makes rest, what is left of a read, c's pending input.
func keep(c *Conn, rest []byte) {
	switch {
	case len(rest) == 0 && cap(c.in) > scratchSize:
		c.in = nil // a large request's buffer is not kept for idle time
	case len(rest) == 0:
		c.in = c.in[:0]
	case cap(c.in) == 0:
		c.in = append(make([]byte, 0, max(4096, len(rest))), rest...)
	default:
		c.in = append(c.in[:0], rest...) // overlapping: copy is a memmove
	}
}

// flush writes c.out; false when c was closed. What the socket does not
// take now waits for EPOLLOUT.
func (l *loop) flush(c *Conn) bool {
	off := 0
	for off < len(c.out) {
		n, err := unix.Write(c.fd, c.out[off:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			c.out = c.out[:copy(c.out, c.out[off:])]
			if l.ctl(unix.EPOLL_CTL_MOD, c.fd, unix.EPOLLOUT) != nil {
				l.close(c)
				return false
			}
			return true
		case err != nil:
			l.close(c)
			return false
		}
		off += n
	}
	if cap(c.out) > 2*scratchSize {
		c.out = nil // a run of large replies' buffer is not kept for idle time
	} else {
		c.out = c.out[:0]
	}
	return true
}

// detach hands c to the Handler at the request starting buf, once the
// replies before it are written.
func (l *loop) detach(c *Conn, buf []byte) {
	keep(c, buf)
	if !l.flush(c) || len(c.out) > 0 {
		return // event resumes here after EPOLLOUT
	}
	delete(l.conns, c.fd)
	l.ctl(unix.EPOLL_CTL_DEL, c.fd, 0)
	pending := append([]byte(nil), c.in...)
	c.in = nil
	nc, err := newSockConn(c.fd, c.remote)
	if err != nil {
		l.s.cfg.Log.Error("detach failed", "peer", c.remote.String(), "err", err)
		c.closed = true
		l.s.cfg.Handler.Closed(c)
		return
	}
	l.s.cfg.Handler.Detach(c, nc, pending)
}
