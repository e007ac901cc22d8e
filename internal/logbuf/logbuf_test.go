package logbuf

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records every write it gets.
type sink struct {
	mu     sync.Mutex
	writes []string
	fail   error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestBatchesUntilFlush(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour, 0)
	defer w.Close()
	for range 100 {
		w.Write([]byte("line\n"))
	}
	if got := s.get(); len(got) != 0 {
		t.Fatalf("%d writes before a flush, want 0", len(got))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := s.get()
	if len(got) != 1 || got[0] != strings.Repeat("line\n", 100) {
		t.Fatalf("writes %q, want the 100 lines in one write", got)
	}
}

func TestFullBufferWritesAtOnce(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour, 10)
	defer w.Close()
	w.Write([]byte("12345"))
	w.Write([]byte("67890ab"))
	if got := s.get(); len(got) != 1 || got[0] != "1234567890ab" {
		t.Fatalf("writes %q, want one write of the 12 bytes", got)
	}
}

func TestIntervalFlushes(t *testing.T) {
	s := &sink{}
	w := New(s, 5*time.Millisecond, 0)
	defer w.Close()
	w.Write([]byte("tick\n"))
	for deadline := time.Now().Add(10 * time.Second); len(s.get()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the interval never flushed the buffer")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseFlushesAndWritesThrough(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour, 0)
	w.Write([]byte("a"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("b"))
	if got := s.get(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("writes %q, want [a b]", got)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriteErrorSticks(t *testing.T) {
	boom := errors.New("disk full")
	s := &sink{fail: boom}
	w := New(s, time.Hour, 0)
	defer w.Close()
	w.Write([]byte("x"))
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want %v", err, boom)
	}
	if _, err := w.Write([]byte("y")); !errors.Is(err, boom) {
		t.Fatalf("Write after a failed flush = %v, want %v", err, boom)
	}
}

func TestHandlerFlushesImportantRecords(t *testing.T) {
	tests := []struct {
		level slog.Level
		flush bool
	}{
		{slog.LevelDebug, false},
		{slog.LevelInfo, false},
		{slog.LevelWarn, true},
		{slog.LevelError, true},
	}
	for _, tc := range tests {
		t.Run(tc.level.String(), func(t *testing.T) {
			s := &sink{}
			w := New(s, time.Hour, 0)
			defer w.Close()
			log := slog.New(Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}), w, slog.LevelWarn))
			log.Info("before")
			log.With("k", "v").WithGroup("g").Log(t.Context(), tc.level, "msg", "a", 1)
			got := strings.Join(s.get(), "")
			if flushed := strings.Contains(got, "msg"); flushed != tc.flush {
				t.Fatalf("level %v: flushed=%v, want %v (output %q)", tc.level, flushed, tc.flush, got)
			}
			if tc.flush && !strings.Contains(got, "before") {
				t.Fatalf("the flush lost the earlier line: %q", got)
			}
			w.Flush()
			if all := strings.Join(s.get(), ""); !strings.Contains(all, "k=v") || !bytes.Contains([]byte(all), []byte("g.a=1")) {
				t.Fatalf("attrs or group lost: %q", all)
			}
		})
	}
}
