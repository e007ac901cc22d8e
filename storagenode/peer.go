package storagenode

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/pollkick"
	"github.com/fdfsgo/fdfs/internal/regfile"
)

// dialer makes the storage's outbound connections (to its trackers and
// its peers): connect_timeout, network_timeout per I/O step, and bind_addr
// as the local address when client_bind is set, so that peers and
// trackers see the address they know this storage by.
func (s *Server) dialer() *fdfsnet.Dialer {
	d := &fdfsnet.Dialer{ConnectTimeout: s.cfg.ConnectTimeout, NetworkTimeout: s.cfg.NetworkTimeout}
	if s.cfg.ClientBind && s.cfg.BindAddr != "" {
		d.LocalIP = s.cfg.BindAddr
	}
	return d
}

// peerConn is a connection to a peer storage (sync, recovery). It is
// bound for its whole life to a context derived from the server's, so
// that closing the server aborts whatever it is blocked on. Every error
// that leaves it unusable is a *connError, even when its cause carries a
// FastDFS status (a malformed reply is EINVAL to the engine): callers read
// a bare status as the peer's answer about a record, and a broken
// connection is no such answer.
type peerConn struct {
	*fdfsnet.Conn
	s       *Server
	release func() bool
	last    time.Time // when the last request was sent (keep-alive)
	// streak is how long replies have come without a wait: a peer that
	// answers each file before we are done with the last one
	// (internal/pollkick).
	streak pollkick.Streak
}

// dialPeer connects to a peer storage at addr ("ip:port").
func (s *Server) dialPeer(ctx context.Context, addr string) (*peerConn, error) {
	return s.dialPeerWith(ctx, s.dialer(), addr)
}

// dialPeerWith is dialPeer through d.
func (s *Server) dialPeerWith(ctx context.Context, d *fdfsnet.Dialer, addr string) (*peerConn, error) {
	c, err := d.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if !s.track(c.NetConn(), true) {
		c.Close()
		return nil, net.ErrClosed
	}
	return &peerConn{Conn: c, s: s, release: c.Bind(ctx)}, nil
}

// hangUp closes the connection.
func (pc *peerConn) hangUp() {
	pc.release()
	pc.s.track(pc.NetConn(), false)
	pc.Close()
}

// request sends cmd with head and n bytes of f from off (n = 0: no
// content), and returns the status of the reply, whose body (sync replies
// have none) is read off.
func (pc *peerConn) request(cmd, status byte, head []byte, f *regfile.File, off, n int64) (byte, error) {
	pc.last = time.Now()
	var content io.Reader
	switch {
	case n > fdfsnet.InlineMax:
		// Large content goes by sendfile from the file's offset, which
		// takes an *os.File (f.Close is a no-op from here).
		of := f.OS()
		defer of.Close()
		if _, err := of.Seek(off, io.SeekStart); err != nil {
			return 0, &connError{err}
		}
		content = of
	case n > 0:
		content = io.NewSectionReader(f, off, n) // read (pread) with the header, one write
	}
	if err := pc.Send(cmd, status, head, content, n); err != nil {
		return 0, &connError{err}
	}
	waitFrom := time.Now()
	h, err := pc.RecvHeader()
	pc.streak.Read(time.Since(waitFrom))
	if err == nil {
		_, err = pc.RecvBody(h, maxSyncReplyBody)
	}
	var se *protocol.StatusError
	if err != nil && pc.Clean() && errors.As(err, &se) {
		return se.Code, nil
	}
	if err != nil {
		return 0, &connError{err}
	}
	return 0, nil
}

// call sends a request without content and returns the reply's body of at
// most max bytes; a status the peer answered is returned as is.
func (pc *peerConn) call(cmd, status byte, body []byte, max int64) ([]byte, error) {
	pc.last = time.Now()
	if err := pc.Send(cmd, status, body, nil, 0); err != nil {
		return nil, &connError{err}
	}
	waitFrom := time.Now()
	b, err := pc.Recv(max)
	pc.streak.Read(time.Since(waitFrom))
	return b, pc.failure(err)
}

// failure wraps err in a connError unless it is a status answered on a
// connection still in step.
func (pc *peerConn) failure(err error) error {
	if err == nil || pc.Clean() && fdfsnet.IsStatus(err) {
		return err
	}
	return &connError{err}
}
