package pidfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// Upstream's stop: SIGTERM, then a check every 100 ms with SIGTERM again
// every second, SIGKILL after 300 checks.
const (
	checkEvery = 100 * time.Millisecond
	termEvery  = 10 // checks
	killAfter  = 300
	killWait   = 50 // checks after SIGKILL before giving up
)

// ErrRunning is returned by Check when the daemon of the pid file runs.
var ErrRunning = errors.New("already running")

// Read returns the pid the file at path holds.
func Read(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is not a pid", path, bytes.TrimSpace(b))
	}
	return pid, nil
}

// Write records the calling process's pid at path (crash-safe replace,
// as upstream's writeToFile leaves no half-written file either).
func Write(path string) error {
	return atomicfile.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// Remove deletes the file at path if it holds the calling process's pid.
func Remove(path string) error {
	pid, err := Read(path)
	if err != nil || pid != os.Getpid() {
		return err
	}
	return os.Remove(path)
}

// Check refuses (ErrRunning, with the pid) when the file at path names a
// live process that same(pid, cmdline) says is the same daemon. A missing
// or unreadable file, a dead pid or a pid reused by another program is no
// obstacle, as upstream.
func Check(path string, same func(pid int, cmdline []string) bool) error {
	pid, err := Read(path)
	if err != nil || !alive(pid) {
		return nil // none, unreadable (the start replaces it) or stale
	}
	if isSame(pid, same) {
		return fmt.Errorf("pid %d (pid file %s): %w", pid, path, ErrRunning)
	}
	return nil
}

// isSame asks same about the command line of pid; a process gone or
// unreadable meanwhile is not the same. Without /proc (not Linux) the pid
// file alone names the daemon, as upstream's does everywhere.
func isSame(pid int, same func(pid int, cmdline []string) bool) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !hasProc()
	}
	return same(pid, strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
}

// hasProc reports whether /proc gives processes' command lines.
var hasProc = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/cmdline")
	return err == nil
})

// Running returns the pid of the file at path when that process runs and
// same says it is the daemon (upstream's `status`); the error wraps
// fs.ErrNotExist when the file is missing or its process is gone or
// another program.
func Running(path string, same func(pid int, cmdline []string) bool) (int, error) {
	pid, err := Read(path)
	if err != nil {
		return 0, err
	}
	if !alive(pid) || !isSame(pid, same) {
		return 0, fmt.Errorf("pid %d of %s is not running: %w", pid, path, fs.ErrNotExist)
	}
	return pid, nil
}

// alive reports whether a process of that pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Stop sends SIGTERM to the pid of the file at path and waits until it is
// gone, logging to say as upstream's stop does; after 30 s it kills it.
// It returns fs.ErrNotExist (wrapped) when there is no pid file and
// syscall.ESRCH when its process is not running, or is not the daemon as
// same says (a stale file whose pid another program has now: upstream
// would kill that program).
func Stop(path string, same func(pid int, cmdline []string) bool, say func(format string, args ...any)) error {
	pid, err := Read(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	if alive(pid) && !isSame(pid, same) {
		return fmt.Errorf("pid %d of %s is another program (a stale pid file): %w", pid, path, syscall.ESRCH)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("kill pid %d: %w", pid, err)
	}
	say("waiting for pid [%d] exit ...", pid)
	for i := 1; ; i++ {
		time.Sleep(checkEvery)
		sig := syscall.Signal(0)
		switch {
		case i == killAfter:
			sig = syscall.SIGKILL
			say("waiting for pid [%d] exit timeout, force kill!", pid)
		case i > killAfter+killWait:
			return fmt.Errorf("pid %d still there %v after SIGKILL", pid, killWait*checkEvery)
		case i%termEvery == 0:
			sig = syscall.SIGTERM
		}
		if err := syscall.Kill(pid, sig); err != nil {
			break
		}
	}
	say("pid [%d] exit.", pid)
	return nil
}
