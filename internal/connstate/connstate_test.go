package connstate

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestState(t *testing.T) {
	var s State
	if !s.Begin() || !s.Busy() || s.DropIfIdle() {
		t.Fatal("a busy connection must not be dropped")
	}
	if !s.End() || s.Busy() {
		t.Fatal("End did not make it idle")
	}
	if !s.DropIfIdle() || s.Begin() || s.End() {
		t.Fatal("a dropped connection must take no request")
	}
}

func TestDrain(t *testing.T) {
	busy := 3
	err := Drain(context.Background(), func() int { busy--; return busy })
	if err != nil || busy != 0 {
		t.Fatalf("Drain = %v with %d busy, want nil and 0", err, busy)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := Drain(ctx, func() int { return 1 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with a request that never ends = %v, want DeadlineExceeded", err)
	}
}
