package gateway

import (
	"net"
	"sync"
	"sync/atomic"
)

// connLimiter is a listener that holds at most max connections open: one
// beyond it is accepted and closed at once (limits.max_connections), so a
// flood cannot take every file descriptor of the process, and a client
// refused sees a closed connection rather than waiting in the backlog.
type connLimiter struct {
	net.Listener
	max  int64
	open atomic.Int64
}

// limitConns returns ln holding at most max connections; 0: no limit.
// The connections it returns are not bare *net.TCPConn any more.
func limitConns(ln net.Listener, max uint32) net.Listener {
	if max == 0 {
		return ln
	}
	return &connLimiter{Listener: ln, max: int64(max)}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			c.Close()
			continue
		}
		release := sync.OnceFunc(func() { l.open.Add(-1) })
		if tc, ok := c.(*net.TCPConn); ok {
			// Embedding *net.TCPConn keeps its ReadFrom (sendfile,
			// splice), WriteTo, CloseWrite and SyscallConn.
			return &countedTCPConn{TCPConn: tc, release: release}, nil
		}
		return &countedConn{Conn: c, release: release}, nil
	}
}

type countedTCPConn struct {
	*net.TCPConn
	release func()
}

func (c *countedTCPConn) Close() error {
	c.release()
	return c.TCPConn.Close()
}

type countedConn struct {
	net.Conn
	release func()
}

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
