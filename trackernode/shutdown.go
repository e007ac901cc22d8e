package trackernode

import (
	"context"
	"time"
)

// A connection is idle (waiting for a request header), busy (serving a
// request) or dropped (closed by Shutdown while idle).
const (
	connIdle int32 = iota
	connBusy
	connDropped
)

// shutdownPoll is how often Shutdown looks for requests still running.
const shutdownPoll = 10 * time.Millisecond

// Shutdown stops the tracker gracefully: it stops accepting connections,
// closes the idle ones, lets the requests in progress be answered (until
// ctx ends) and closes every connection after its answer, then closes the
// server as Close does. Storages keep their ACTIVE status in the saved
// state, as with Close, so a restarted tracker routes at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.connMu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.connMu.Unlock()
	t := time.NewTicker(shutdownPoll)
	defer t.Stop()
	for s.dropIdle() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("requests still running at the end of the shutdown grace, cut", "err", ctx.Err())
			return s.Close()
		case <-t.C:
		}
	}
	return s.Close()
}

// stopping reports whether Close or Shutdown has begun.
func (s *Server) stopping() bool {
	select {
	case <-s.done:
		return true
	default:
		return s.draining.Load()
	}
}

// dropIdle closes the idle connections and returns how many are still
// serving a request.
func (s *Server) dropIdle() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	busy := 0
	for cs := range s.served {
		if cs.state.CompareAndSwap(connIdle, connDropped) {
			cs.c.Close()
		} else if cs.state.Load() == connBusy {
			busy++
		}
	}
	return busy
}

// serving adds (or removes) a connection to those Shutdown waits for.
func (s *Server) serving(cs *conn, add bool) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if add {
		s.served[cs] = struct{}{}
	} else {
		delete(s.served, cs)
	}
}

// startRequest marks cs busy once a request header arrived; false when
// Shutdown dropped it meanwhile.
func (cs *conn) startRequest() bool { return cs.state.CompareAndSwap(connIdle, connBusy) }

// endRequest marks cs idle after its answer; false when the server is
// shutting down, and the connection must close now.
func (s *Server) endRequest(cs *conn) bool {
	if s.draining.Load() {
		return false
	}
	return cs.state.CompareAndSwap(connBusy, connIdle)
}
