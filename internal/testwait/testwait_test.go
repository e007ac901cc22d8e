package testwait

import (
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	tests := []struct {
		name    string
		readyAt int // the call that succeeds; 0 = never
		timeout time.Duration
		wantErr bool
	}{
		{"at once", 1, time.Second, false},
		{"after a few polls", 4, time.Second, false},
		{"never", 0, 30 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Wait(tt.timeout, func() error {
				calls++
				if calls == tt.readyAt {
					return nil
				}
				return errors.New("not yet")
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v after %d calls, want error %v", err, calls, tt.wantErr)
			}
			if !tt.wantErr && calls != tt.readyAt {
				t.Fatalf("%d calls, want %d", calls, tt.readyAt)
			}
		})
	}
}

// fakeTB records Fatalf without stopping the goroutine, to see Until fail.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = format
}

func TestUntilFailsWhenBoundPasses(t *testing.T) {
	f := &fakeTB{TB: t}
	Until(f, 20*time.Millisecond, "never", func() bool { return false })
	if f.failed == "" {
		t.Fatal("Until did not fail the test")
	}
	f = &fakeTB{TB: t}
	Until(f, time.Second, "now", func() bool { return true })
	if f.failed != "" {
		t.Fatal("Until failed a condition that held")
	}
}
