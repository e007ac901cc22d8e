package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processStep is what one command line of upstream's process model did:
// its exit status, and then whether the daemon serves and under which pid.
type processStep struct {
	args    string
	ok      bool
	serving bool
	pid     int // of the pid file, 0 when none or not running
}

// TestProcessModel runs the same command lines that upstream's systemd
// units, init scripts and operators run (`fdfs_trackerd CONF`, `... start`
// while running, `status`, `restart`, `stop`, `status`, `stop` again) against the C tracker
// and against our binary installed under its name, and checks that both
// answer alike: exit status, serving or not, pid file and pid changes.
func TestProcessModel(t *testing.T) {
	e := newEnv(t)
	link := filepath.Join(e.mkdir("bin"), "fdfs_trackerd")
	if err := os.Symlink(ourBin, link); err != nil {
		t.Fatal(err)
	}
	got := map[impl][]processStep{}
	for _, im := range []impl{upstream, ours} {
		n := e.newNode("tracker", im, trackerPort, nil)
		n.writeConf()
		prog, env := link, os.Environ()
		if im == upstream {
			prog, env = filepath.Join(refBin, "fdfs_trackerd"), refEnv()
		}
		pidPath := filepath.Join(n.base, "data", "fdfs_trackerd.pid")
		t.Cleanup(func() { killPid(pidPath) })
		for i, action := range []string{"", "start", "status", "restart", "stop", "status", "stop"} {
			args := strings.Fields(n.conf + " " + action)
			ok, out := runProgram(prog, env, args)
			s := observe(n.addr(), pidPath, i < 4, action == "restart", got[im])
			s.args, s.ok = action, ok
			got[im] = append(got[im], s)
			t.Logf("%s %s: exit ok %v, serving %v, pid %d\n%s", im, strings.Join(args[1:], " "), ok, s.serving, s.pid, out)
		}
		if _, err := os.Stat(filepath.Join(n.base, "logs", "trackerd.log")); err != nil {
			t.Errorf("%s: no base_path/logs/trackerd.log: %v", im, err)
		}
	}
	for im, steps := range got {
		want := []struct{ ok, serving, pid, samePid bool }{
			{true, true, true, false},    // start
			{false, true, true, true},    // start while running: refused, the first one still serves
			{true, true, true, true},     // status: running
			{true, true, true, false},    // restart: another pid
			{true, false, false, false},  // stop
			{false, false, false, false}, // status: not running
			{false, false, false, false}, // stop again: no pid file
		}
		for i, w := range want {
			s := steps[i]
			if s.ok != w.ok || s.serving != w.serving || (s.pid != 0) != w.pid || i > 0 && (s.pid == steps[i-1].pid) != w.samePid && w.pid {
				t.Errorf("%s, step %d (%q): %+v, want exit ok %v, serving %v, a pid %v (the previous one: %v)",
					im, i, s.args, s, w.ok, w.serving, w.pid, w.samePid)
			}
		}
	}
}

func runProgram(prog string, env, args []string) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

// observe waits up to 10 s (upstream's start returns before its daemon
// listens and writes its pid file) for the daemon at addr to serve with a
// pid file, and with a new pid when newPid, or for neither when not
// serving, and says what it found.
func observe(addr, pidPath string, serving, newPid bool, before []processStep) processStep {
	prev := 0
	if len(before) > 0 {
		prev = before[len(before)-1].pid
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var s processStep
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			s.serving = true
		}
		s.pid = runningPid(pidPath)
		done := s.serving == serving && (s.pid != 0) == serving && (!newPid || s.pid != prev)
		if done || time.Now().After(deadline) {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runningPid is the pid in the pid file if that process runs, else 0.
func runningPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// killPid kills what a pid file names: a daemon in the background is not
// the test's child.
func killPid(path string) {
	if pid := runningPid(path); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
