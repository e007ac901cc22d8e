package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The CPU meter sees this process's own work, in its own figure and when
// it is named as a server too (through /proc), and refuses a pid that
// does not exist.
func TestCPUMeter(t *testing.T) {
	m := &cpuMeter{pids: []int{os.Getpid()}}
	m.start()
	// Spin until the kernel has charged 150 ms of CPU to this process (a
	// wall-clock spin gets less on a busy machine).
	start := processCPU(t)
	x := 0
	for processCPU(t)-start < 150*time.Millisecond {
		x++
	}
	m.stop()
	if m.err != nil {
		t.Fatal(m.err)
	}
	self, srv := m.self1-m.self0, m.pids1-m.pids0
	// /proc counts in 10 ms ticks.
	if self < 50*time.Millisecond || srv < 50*time.Millisecond {
		t.Fatalf("spun 150 ms of CPU (%d loops), measured self %s, as a server %s", x, self, srv)
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

// processCPU is the user+system CPU time charged to this process so far.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
