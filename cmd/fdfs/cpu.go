package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 on every architecture it reports to user space.
const clockTick = 10 * time.Millisecond

// selfCPU returns the CPU time (user + system) this process has used.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// pidCPU returns the CPU time (user + system, all threads) process pid has
// used, from /proc/<pid>/stat (Linux).
func pidCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server pid %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	f := bytes.Fields(b[i+1:])
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("server pid %d: unexpected /proc stat %q", pid, b)
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("server pid %d: unexpected /proc stat %q", pid, b)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuMeter measures the CPU time this process and some other processes
// (the servers under test) spend between start and stop.
type cpuMeter struct {
	pids         []int
	self0, self1 time.Duration
	pids0, pids1 time.Duration
	err          error
}

func (m *cpuMeter) read() (self, pids time.Duration) {
	self, err := selfCPU()
	if err != nil && m.err == nil {
		m.err = err
	}
	for _, p := range m.pids {
		d, err := pidCPU(p)
		if err != nil && m.err == nil {
			m.err = err
		}
		pids += d
	}
	return self, pids
}

func (m *cpuMeter) start() { m.self0, m.pids0 = m.read() }

func (m *cpuMeter) stop() { m.self1, m.pids1 = m.read() }

// report is one line: CPU seconds of the client and of the servers, and
// per operation.
func (m *cpuMeter) report(ops int) string {
	if m.err != nil {
		return "cpu: " + m.err.Error()
	}
	per := func(d time.Duration) string {
		if ops == 0 {
			return "-"
		}
		return (d / time.Duration(ops)).Round(time.Microsecond).String()
	}
	self := m.self1 - m.self0
	line := fmt.Sprintf("cpu client=%.2fs (%s/op)", self.Seconds(), per(self))
	if len(m.pids) > 0 {
		srv := m.pids1 - m.pids0
		line += fmt.Sprintf(" servers=%.2fs (%s/op)", srv.Seconds(), per(srv))
	}
	return line
}
