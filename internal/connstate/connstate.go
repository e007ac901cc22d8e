package connstate

import (
	"context"
	"sync/atomic"
	"time"
)

const (
	idle int32 = iota
	busy
	dropped
)

// Poll is how often Drain looks for requests still running.
const Poll = 10 * time.Millisecond

// State is the state of one connection; the zero value is idle.
type State struct{ v atomic.Int32 }

// Begin marks a request read; false when Shutdown dropped the connection
// meanwhile (its handler must close it without serving).
func (s *State) Begin() bool { return s.v.CompareAndSwap(idle, busy) }

// End marks the request answered; false when the connection was dropped.
func (s *State) End() bool { return s.v.CompareAndSwap(busy, idle) }

// DropIfIdle marks an idle connection dropped (its owner then closes it);
// false when it is busy or dropped already.
func (s *State) DropIfIdle() bool { return s.v.CompareAndSwap(idle, dropped) }

// Busy reports whether a request is being served.
func (s *State) Busy() bool { return s.v.Load() == busy }

// Drain calls dropIdle, which closes the idle connections and returns how
// many are busy, every Poll until none is busy; ctx's error if it ends
// first.
func Drain(ctx context.Context, dropIdle func() int) error {
	t := time.NewTicker(Poll)
	defer t.Stop()
	for dropIdle() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
