package pollkick

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	// waited is how long a read must take to have blocked (µs scale): a
	// read that finds data returns in a few µs; one that parks waits at
	// least for the peer's reply, and the thread that ran it polled the
	// network when it went looking for other work.
	waited = 15 * time.Microsecond
	// firstKick is how long a goroutine goes without waiting before it
	// kicks: about one replayed file, so a client's request waits no
	// longer than that for the network to be polled.
	firstKick = 100 * time.Microsecond
	// maxKickEvery bounds the interval between kicks in a stretch without
	// waits, which doubles after each kick: the thread a kick starts keeps
	// polling between the requests it serves, so later kicks only make up
	// for a poller that took a long run of work itself. A peer catching up
	// streams for seconds; a kick every 100 µs added 15% to the CPU of
	// the replication after FastDFS's upload benchmark.
	maxKickEvery = 800 * time.Microsecond
)

// ready is what Kick sends to parked, started at the first kick.
var (
	ready     = make(chan struct{}, 1)
	startOnce sync.Once
)

// parked is the goroutine a kick readies: it only ever waits for the
// next one. It lives as long as the process (tests that check for
// leaked goroutines ignore it by this name).
func parked() {
	for range ready {
	}
}

// kicks counts the calls of Kick.
var kicks atomic.Int64

// Kick makes an idle runtime thread, if there is one with a processor to
// run on, poll the network. It never blocks: a kick not yet taken up
// stands for this one too.
func Kick() {
	kicks.Add(1)
	startOnce.Do(func() { go parked() })
	select {
	case ready <- struct{}{}:
	default:
	}
}

// Count is how many times Kick was called since the process started.
func Count() int64 { return kicks.Load() }

// Streak is how long one goroutine (a connection's server or client) has
// gone without waiting for its peer. The zero value is ready to use; a
// Streak must not be shared by goroutines running at once.
type Streak struct {
	since time.Time     // when the stretch began or the last kick was
	every time.Duration // until the next kick
}

// Read records one read of the next request or reply that took d: after
// firstKick without a read that waited it kicks, and again after twice
// as long each time, up to maxKickEvery.
func (s *Streak) Read(d time.Duration) {
	s.read(d, time.Now(), Kick)
}

func (s *Streak) read(d time.Duration, now time.Time, kick func()) {
	switch {
	case d >= waited || s.since.IsZero():
		s.since, s.every = now, firstKick
	case now.Sub(s.since) >= s.every:
		kick()
		s.since, s.every = now, min(2*s.every, maxKickEvery)
	}
}
