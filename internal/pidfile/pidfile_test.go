package pidfile

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestWriteReadRemove(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fdfs_trackerd.pid")
	if err := Write(p); err != nil {
		t.Fatal(err)
	}
	if pid, err := Read(p); err != nil || pid != os.Getpid() {
		t.Fatalf("Read = %d, %v; want %d", pid, err, os.Getpid())
	}
	if err := Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file left: %v", err)
	}
	// Another process's pid file is not ours to remove.
	os.WriteFile(p, []byte("1\n"), 0o644)
	if err := Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("another pid's file removed: %v", err)
	}
	for _, bad := range []string{"", "abc", "-5", "0"} {
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := Read(p); err == nil {
			t.Errorf("Read(%q): no error", bad)
		}
	}
}

// sleeper runs a process that sleeps until killed, reaped by the test.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// /proc/PID/cmdline may still be empty just after the exec.
	for i := 0; i < 500; i++ {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"); len(b) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cmd
}

func TestCheck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fdfs_storaged.pid")
	always := func(int, []string) bool { return true }
	if err := Check(p, always); err != nil {
		t.Errorf("no pid file: %v", err)
	}
	cmd := sleeper(t)
	os.WriteFile(p, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	var seen []string
	err := Check(p, func(_ int, c []string) bool { seen = c; return true })
	if !errors.Is(err, ErrRunning) || len(seen) != 2 || seen[0] != "sleep" || seen[1] != "600" {
		t.Errorf("a live daemon: %v (cmdline %q), want ErrRunning", err, seen)
	}
	if err := Check(p, func(int, []string) bool { return false }); err != nil {
		t.Errorf("a live pid of another program: %v", err)
	}
	if pid, err := Running(p, always); err != nil || pid != cmd.Process.Pid {
		t.Errorf("Running = %d, %v; want %d", pid, err, cmd.Process.Pid)
	}
	if _, err := Running(p, func(int, []string) bool { return false }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Running of another program's pid: %v, want ErrNotExist", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := Check(p, always); err != nil {
		t.Errorf("a dead pid: %v", err)
	}
	if _, err := Running(p, always); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Running of a dead pid: %v, want ErrNotExist", err)
	}
	os.WriteFile(p, []byte("garbage"), 0o644)
	if err := Check(p, always); err != nil {
		t.Errorf("an unreadable pid file: %v, want no obstacle", err)
	}
}

func TestStop(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fdfs_trackerd.pid")
	always := func(int, []string) bool { return true }
	if err := Stop(p, always, t.Logf); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no pid file: %v, want ErrNotExist", err)
	}
	cmd := sleeper(t)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // reaps it, so that it does not linger as a zombie
	os.WriteFile(p, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	// A stale file whose pid another program has: left alone.
	if err := Stop(p, func(int, []string) bool { return false }, t.Logf); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("another program's pid: %v, want ESRCH", err)
	}
	if syscall.Kill(cmd.Process.Pid, 0) != nil {
		t.Fatal("Stop killed a process that is not the daemon")
	}
	var said []string
	if err := Stop(p, always, func(f string, a ...any) { said = append(said, f) }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || len(said) != 2 {
		t.Errorf("sleep ended with %v, said %q; want killed by SIGTERM, waiting and exit", err, said)
	}
	if err := Stop(p, always, t.Logf); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("a dead pid: %v, want ESRCH", err)
	}
}
