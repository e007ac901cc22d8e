package pollkick

import (
	"testing"
	"time"
)

func TestStreak(t *testing.T) {
	us := time.Microsecond
	type read struct {
		at, took time.Duration // since the start; how long the read took
	}
	for _, tc := range []struct {
		name  string
		reads []read
		kicks int
	}{
		{"first read starts the streak", []read{{0, 0}}, 0},
		{"short stretch", []read{{0, 0}, {40 * us, 2 * us}, {99 * us, 2 * us}}, 0},
		{"a stretch without waits kicks", []read{{0, 0}, {60 * us, 2 * us}, {100 * us, 2 * us}}, 1},
		{"a wait restarts the stretch", []read{{0, 0}, {90 * us, 20 * us}, {180 * us, 2 * us}}, 0},
		{"the next kick comes after twice as long", []read{{0, 0}, {100 * us, 0}, {250 * us, 0}, {300 * us, 0}}, 2},
		{"kicks double their interval up to 800 µs", []read{
			{0, 0}, {100 * us, 0}, {300 * us, 0}, {700 * us, 0}, {1500 * us, 0}, {2299 * us, 0}, {2300 * us, 0}, {3100 * us, 0},
		}, 6},
		{"a wait starts the intervals over", []read{{0, 0}, {100 * us, 0}, {300 * us, 0}, {310 * us, 30 * us}, {410 * us, 0}}, 3},
		{"reads that all wait never kick", []read{{0, 50 * us}, {200 * us, 80 * us}, {900 * us, 15 * us}}, 0},
		{"a read just under the wait threshold counts as none", []read{{0, 0}, {120 * us, 14 * us}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Streak
			kicks := 0
			t0 := time.Unix(1_800_000_000, 0)
			for _, r := range tc.reads {
				s.read(r.took, t0.Add(r.at), func() { kicks++ })
			}
			if kicks != tc.kicks {
				t.Errorf("%d kicks, want %d", kicks, tc.kicks)
			}
		})
	}
}

// Kick must never block, however often it is called, and must leave the
// parked goroutine to take the next one.
func TestKickNeverBlocks(t *testing.T) {
	done := make(chan struct{})
	go func() {
		for range 100_000 {
			Kick()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Kick blocked")
	}
}

func TestCount(t *testing.T) {
	before := Count()
	for range 3 {
		Kick()
	}
	if got := Count() - before; got != 3 {
		t.Errorf("Count grew by %d after 3 kicks, want 3", got)
	}
}
