package storagenode

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Close leaves the clean mark, the next start consumes it and skips the
// temp sweep; a run that did not end with Close gets the sweep.
func TestCleanShutdownMark(t *testing.T) {
	cfg := testConfig(t)
	mark := filepath.Join(cfg.BasePath, "data", cleanMarkFile)
	s := startServer(t, cfg)
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("clean mark present while running")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("no clean mark after Close: %v", err)
	}
	// A temp planted after a clean stop is nobody's: with the mark, the
	// start does not look for it (nothing of ours can have left it).
	planted := filepath.Join(cfg.BasePath, "data", "00", "00", ".upload-planted.tmp")
	if err := os.WriteFile(planted, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(planted, old, old)
	startServer(t, cfg)
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("clean mark left in place by the start that consumed it")
	}
	// s2 has not ended with Close (as after a crash): a start now sweeps.
	startServer(t, cfg)
	waitFor(t, "the sweep after a run that did not end with Close", func() bool {
		_, err := os.Stat(planted)
		return os.IsNotExist(err)
	})
}
