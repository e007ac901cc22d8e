package trackernode

import (
	"net"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/evloop"
)

// maxInlineBody is the largest request body answered on the event loop
// (bytes): a QUERY_FETCH body is a group name and a file name, the other
// stateless commands' bodies are smaller.
const maxInlineBody = 1024

// loopHandler is the tracker as an evloop.Handler: the stateless commands
// are answered on the loops, and a connection is detached to serveConn at
// its first other request (a storage's JOIN, a peer tracker's).
type loopHandler struct{ s *Server }

// Open applies allow_hosts and max_connections, as acceptLoop does.
func (h loopHandler) Open(c *evloop.Conn) bool {
	s := h.s
	if s.stopping() {
		return false
	}
	if !s.allow.Allows(c.RemoteAddr()) {
		s.log.Warn("peer not in allow_hosts, refusing", "peer", c.RemoteAddr().String())
		return false
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.log.Warn("max_connections reached, refusing", "peer", c.RemoteAddr().String())
		return false
	}
	// Loops accept concurrently: the peak may miss a racing
	// increment, never go down.
	for n := int32(len(s.sem)); ; {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			return true
		}
	}
}

// Inline takes the stateless commands (server.go) and QUIT; anything else
// is served by serveConn.
func (loopHandler) Inline(_ *evloop.Conn, hd protocol.Header) bool {
	return hd.Length <= maxInlineBody && (stateless(hd.Cmd) || hd.Cmd == protocol.CmdQuit)
}

func (h loopHandler) Serve(_ *evloop.Conn, hd protocol.Header, body, out []byte) ([]byte, evloop.Action) {
	if hd.Cmd == protocol.CmdQuit {
		return out, evloop.Close
	}
	began := time.Now()
	resp, err := h.s.answer(hd.Cmd, body)
	status := protocol.StatusOf(err)
	h.s.reqs.Observe(hd.Cmd, status, time.Since(began))
	if err != nil {
		h.s.log.Debug("request failed", "cmd", hd.Cmd, "err", err)
		resp = nil
	}
	return protocol.AppendPacket(out, protocol.CmdResp, status, resp), evloop.Next
}

// Detach hands the connection to serveConn with what was read of it.
func (h loopHandler) Detach(_ *evloop.Conn, nc net.Conn, pending []byte) {
	s := h.s
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.stopping() {
		nc.Close()
		<-s.sem
		return
	}
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
	go s.serveConn(nc, pending)
}

// Closed gives the connection's max_connections slot back.
func (h loopHandler) Closed(*evloop.Conn) { <-h.s.sem }
