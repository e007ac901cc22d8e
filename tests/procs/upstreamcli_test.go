package procs

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// TestUpstreamCommandLine runs the binary under upstream's names, as the
// C daemons' systemd units and init scripts do (Type=forking, PIDFile=,
// `fdfs_trackerd CONF start|stop|restart|status`, -V): a start returns
// once the daemon serves in the background, which logs to base_path/logs
// and keeps its pid in base_path/data; a second start is refused while it
// runs; restart replaces it; a start that cannot serve says why and exits
// non-zero; SIGHUP rotates the log; stop ends it and its pid file.
func TestUpstreamCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	trackerd, storaged := filepath.Join(dir, "fdfs_trackerd"), filepath.Join(dir, "fdfs_storaged")
	for _, l := range []string{trackerd, storaged} {
		if err := os.Symlink(bin, l); err != nil {
			t.Fatal(err)
		}
	}
	const trackerPort, storagePort = 22122, 23000
	trackerIP := fdfsproc.FreeIP(t, trackerPort)
	trackerAddr := net.JoinHostPort(trackerIP, fmt.Sprint(trackerPort))
	tbase := filepath.Join(dir, "tracker")
	mkdirs(t, tbase)
	tconf := fdfsproc.WriteFile(t, filepath.Join(dir, "tracker.conf"), trackerConf, trackerIP, trackerPort, tbase)
	ip := fdfsproc.FreeIP(t, storagePort)
	sbase := filepath.Join(dir, "storage")
	mkdirs(t, sbase)
	sconf := fdfsproc.WriteFile(t, filepath.Join(dir, "storage.conf"), storageConf, ip, storagePort, sbase, sbase, trackerAddr)
	tpid, spid := filepath.Join(tbase, "data", "fdfs_trackerd.pid"), filepath.Join(sbase, "data", "fdfs_storaged.pid")
	t.Cleanup(func() { killPidFile(tpid); killPidFile(spid) })

	out := mustRun(t, trackerd, tconf) // upstream's default action: start
	first := livePid(t, tpid)
	if log := readLog(t, filepath.Join(tbase, "logs", "trackerd.log")); !strings.Contains(log, "tracker started") {
		t.Errorf("trackerd.log lacks the start:\n%s", log)
	}
	mustRun(t, storaged, sconf, "start")
	livePid(t, spid)

	cl, ctx := newClient(t, fdfsproc.WriteFile(t, filepath.Join(dir, "client.conf"), clientConf, dir, trackerAddr))
	waitActive(t, ctx, cl, map[string]bool{ip: true})
	data := []byte("served by a daemon in the background")
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}

	if out := mustRun(t, trackerd, tconf, "status"); !strings.Contains(out, fmt.Sprintf("Running, pid: %d", first)) {
		t.Errorf("status said %q", out)
	}
	if out := mustRun(t, trackerd, "-V"); !strings.Contains(out, "fdfs_trackerd V6.16.1") {
		t.Errorf("-V said %q", out)
	}
	// A second start while it runs is refused, and leaves it running.
	if out, err := run(trackerd, tconf, "start"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("second start: %v\n%s\nwant a refusal: already running", err, out)
	}
	if livePid(t, tpid) != first {
		t.Error("the refused start replaced the running tracker")
	}
	// A start that cannot serve (its port is the running tracker's) fails
	// with the reason, from the background child.
	other := filepath.Join(dir, "other")
	mkdirs(t, other)
	oconf := fdfsproc.WriteFile(t, filepath.Join(dir, "other.conf"), trackerConf, trackerIP, trackerPort, other)
	if out, err := run(trackerd, oconf); err == nil || !strings.Contains(out, "address already in use") {
		t.Errorf("start on a taken port: %v\n%s\nwant the bind error", err, out)
	}

	out = mustRun(t, trackerd, tconf, "restart")
	if !strings.Contains(out, fmt.Sprintf("waiting for pid [%d] exit", first)) || !strings.Contains(out, "starting ...") {
		t.Errorf("restart said:\n%s", out)
	}
	if second := livePid(t, tpid); second == first || syscall.Kill(first, 0) == nil {
		t.Errorf("restart: pid %d -> %d, the old one still alive: %v", first, second, syscall.Kill(first, 0) == nil)
	}
	waitActive(t, ctx, cl, map[string]bool{ip: true})
	var got bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &got); err != nil || got.String() != string(data) {
		t.Fatalf("download after the tracker's restart: %q, %v", got.String(), err)
	}

	// SIGHUP rotates the log, as upstream's.
	syscall.Kill(livePid(t, spid), syscall.SIGHUP)
	waitFor(t, "a rotated storaged.log", func() bool {
		m, _ := filepath.Glob(filepath.Join(sbase, "logs", "storaged.log.2*"))
		return len(m) == 1
	})

	for _, c := range []struct{ prog, conf, pid string }{{storaged, sconf, spid}, {trackerd, tconf, tpid}} {
		p := livePid(t, c.pid)
		out := mustRun(t, c.prog, c.conf, "stop")
		if !strings.Contains(out, fmt.Sprintf("pid [%d] exit.", p)) || syscall.Kill(p, 0) == nil {
			t.Errorf("%s stop: %s", filepath.Base(c.prog), out)
		}
		if _, err := os.Stat(c.pid); err == nil {
			t.Errorf("%s left after stop", c.pid)
		}
	}
	if out, err := run(trackerd, tconf, "status"); err == nil || !strings.Contains(out, "NOT running") {
		t.Errorf("status of a stopped tracker: %v, %q", err, out)
	}
	if out, err := run(bin, "tracker", "--config", tconf, "stop"); err == nil || !strings.Contains(out, "fdfs_trackerd.pid") {
		t.Errorf("stop of a stopped tracker: %v\n%s\nwant an error naming the pid file", err, out)
	}
}

func run(prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, args...).CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := run(prog, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
	return out
}

// livePid is the pid in the pid file, which must be a running process.
func livePid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		t.Fatalf("%s: %q names no running process (%v)", path, b, err)
	}
	return pid
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// killPidFile kills what a pid file names: a background daemon is not the
// test's child, so nothing else would.
func killPidFile(path string) {
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
