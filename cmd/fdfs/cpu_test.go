package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The CPU meter sees this process's own work, in its own figure and when
// it is named as a server too (through /proc), and refuses a pid that
// does not exist.
func TestCPUMeter(t *testing.T) {
	m := &cpuMeter{pids: []int{os.Getpid()}}
	m.start()
	deadline := time.Now().Add(150 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	m.stop()
	if m.err != nil {
		t.Fatal(m.err)
	}
	self, srv := m.self1-m.self0, m.pids1-m.pids0
	// 150 ms of spinning; /proc counts in 10 ms ticks.
	if self < 50*time.Millisecond || srv < 50*time.Millisecond {
		t.Fatalf("spun 150 ms (%d loops), measured self %s, as a server %s", x, self, srv)
	}
	if line := m.report(3); !strings.HasPrefix(line, "cpu client=") || !strings.Contains(line, "servers=") || !strings.Contains(line, "/op") {
		t.Errorf("report %q", line)
	}

	bad := &cpuMeter{pids: []int{1 << 30}}
	bad.start()
	bad.stop()
	if line := bad.report(1); !strings.Contains(line, "server pid") {
		t.Errorf("report for a missing pid: %q", line)
	}
}
