package trackernode

import (
	"context"

	"github.com/fdfsgo/fdfs/internal/connstate"
)

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
	if s.loop != nil {
		s.loop.Close() // its connections are idle between requests
	}
	if err := connstate.Drain(ctx, s.dropIdle); err != nil {
		s.log.Warn("requests still running at the end of the shutdown grace, cut", "err", err)
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
		if cs.state.DropIfIdle() {
			cs.c.Close()
		} else if cs.state.Busy() {
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
func (cs *conn) startRequest() bool { return cs.state.Begin() }

// endRequest marks cs idle after its answer; false when the server is
// shutting down, and the connection must close now.
func (s *Server) endRequest(cs *conn) bool {
	if s.draining.Load() {
		return false
	}
	return cs.state.End()
}
