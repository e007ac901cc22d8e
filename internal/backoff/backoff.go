package backoff

import (
	"context"
	"time"
)

// Backoff is a doubling pause. The zero value pauses 0; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the pause before the next attempt: Min after a success (or
// at first), then twice the previous one, at most Max.
func (b *Backoff) Next() time.Duration {
	b.cur = min(max(b.cur*2, b.Min), b.Max)
	return b.cur
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d, or until ctx ends; false when ctx ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
