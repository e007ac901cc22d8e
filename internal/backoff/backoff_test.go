package backoff

import (
	"context"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("pause %d = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Next(); got != b.Min {
		t.Fatalf("after Reset: %v, want %v", got, b.Min)
	}
	if got := (&Backoff{Min: time.Second, Max: 10 * time.Millisecond}).Next(); got != 10*time.Millisecond {
		t.Fatalf("Max below Min: %v, want Max", got)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep reported an ended context")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on an ended context waited")
	}
}
