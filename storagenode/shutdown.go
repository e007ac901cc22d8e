package storagenode

import (
	"context"

	"github.com/fdfsgo/fdfs/internal/connstate"
)

// Shutdown stops the server gracefully: it stops accepting connections,
// closes the idle client connections, lets the requests in progress finish
// (until ctx ends), then closes the server as Close does, which is when the
// trackers see it leave. A storage drained first (fdfs drain) gets no new
// requests, so replacing it costs clients nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.draining.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	if s.loop != nil {
		s.loop.Close() // its connections are idle between requests
	}
	if err := connstate.Drain(ctx, s.dropIdle); err != nil {
		s.log.Warn("requests still running at the end of the shutdown grace, cut", "err", err)
	}
	return s.Close()
}

// dropIdle closes the idle client connections and returns how many are
// still serving a request.
func (s *Server) dropIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := 0
	for cc := range s.served {
		if cc.state.DropIfIdle() {
			cc.c.Close()
		} else if cc.state.Busy() {
			busy++
		}
	}
	return busy
}

// serving adds (or removes) a client connection to those Shutdown waits
// for; false when the server is shutting down already.
func (s *Server) serving(cc *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.served, cc)
		return true
	}
	if s.closed || s.draining.Load() {
		return false
	}
	s.served[cc] = struct{}{}
	return true
}
