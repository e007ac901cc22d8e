// Package fdfsproc runs the fdfs binary (built by fdfsbin) as daemon
// processes for the process-level suites (tests/ops, tests/procs): it
// starts a daemon with its output in a log file, stops it with SIGTERM,
// waits for it to listen, and writes its conf files on free loopback
// addresses. A daemon still running when its test ends is killed, and its
// log is printed when the test failed.
package fdfsproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/devcluster"
)

// waitLimit turns a hang (a daemon that never listens or never exits)
// into a test failure; it is not a speed requirement.
const waitLimit = 60 * time.Second

// Daemon is one running fdfs process.
type Daemon struct {
	Name    string
	LogPath string // the process's stdout and stderr
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has ended
	err     error         // its exit status, set before exited is closed
}

// Start runs bin with args as the daemon name, its output in dir/name.log
// (truncated).
func Start(t testing.TB, bin, dir, name string, args ...string) *Daemon {
	t.Helper()
	d := &Daemon{Name: name, LogPath: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(d.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		logf.Close()
		close(d.exited)
	}()
	t.Cleanup(func() {
		if exited, _ := d.Exited(); !exited {
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			out, _ := os.ReadFile(d.LogPath)
			t.Logf("%s output:\n%s", name, out)
		}
	})
	return d
}

// Pid is the process's id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Done is closed once the process has ended; Err then tells how.
func (d *Daemon) Done() <-chan struct{} { return d.exited }

// Err is the exit error (nil for status 0) of an ended process.
func (d *Daemon) Err() error {
	<-d.exited
	return d.err
}

// Exited reports, without waiting, whether the process has ended and
// with which status.
func (d *Daemon) Exited() (bool, error) {
	select {
	case <-d.exited:
		return true, d.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM and returns the exit error (nil for status 0).
func (d *Daemon) Stop(t testing.TB) error {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", d.Name, err)
	}
	select {
	case <-d.exited:
		return d.err
	case <-time.After(waitLimit):
		t.Fatalf("%s did not exit after SIGTERM", d.Name)
		return nil
	}
}

// WaitListening waits until addr accepts a TCP connection, failing at once
// if the daemon exits first.
func (d *Daemon) WaitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if exited, exit := d.Exited(); exited {
			t.Fatalf("%s exited before listening on %s: %v", d.Name, addr, exit)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s: %v", d.Name, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreeIP returns a random loopback address where port can be bound.
func FreeIP(t testing.TB, port int) string {
	t.Helper()
	ip, err := devcluster.FreeIP(port)
	if err != nil {
		t.Fatal(err)
	}
	return ip
}

// WriteFile writes format filled with args to path, creating its
// directory, and returns path.
func WriteFile(t testing.TB, path, format string, args ...any) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fmt.Appendf(nil, format, args...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// SetKey rewrites the "key = value" line of the conf file at path (the
// lines the devcluster writes), as an operator editing it would.
func SetKey(t testing.TB, path, key, value string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = .*$`)
	if !line.Match(b) {
		t.Fatalf("%s has no %s line", path, key)
	}
	if err := os.WriteFile(path, line.ReplaceAll(b, []byte(key+" = "+value)), 0o644); err != nil {
		t.Fatal(err)
	}
}
