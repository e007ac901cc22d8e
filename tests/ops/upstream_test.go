package ops

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// TestUpstreamIgnoresMetricsListen starts upstream's C tracker and
// storage (FDFS_REF_DIR, docs/interop.md) with conf files that carry
// metrics_listen: the key must not stop them, so one conf file serves
// both implementations during a migration.
func TestUpstreamIgnoresMetricsListen(t *testing.T) {
	ref := os.Getenv("FDFS_REF_DIR")
	if ref == "" {
		t.Skip("FDFS_REF_DIR not set: no upstream build to run (docs/interop.md)")
	}
	bin := filepath.Join(ref, "install", "usr", "bin")
	env := append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(ref, "install", "usr", "lib"))
	dir := t.TempDir()
	tip := fdfsproc.FreeIP(t, trackerPort)
	tracker := net.JoinHostPort(tip, fmt.Sprint(trackerPort))
	tconf := fdfsproc.WriteFile(t, filepath.Join(dir, "tracker", "tracker.conf"), trackerConf, tip, trackerPort,
		filepath.Join(dir, "tracker"), net.JoinHostPort(tip, fmt.Sprint(metricsPort)))
	sip := fdfsproc.FreeIP(t, storagePort)
	base := filepath.Join(dir, "storage")
	// Upstream's storage exits (EINVAL) without thread_stack_size: its 256 KB
	// default is below its own 320 KB minimum; its sample sets 512KB.
	sconf := fdfsproc.WriteFile(t, filepath.Join(base, "storage.conf"), storageConf+"thread_stack_size = 512KB\n", sip, storagePort, base, base,
		tracker, net.JoinHostPort(sip, fmt.Sprint(metricsPort)))
	for _, d := range []struct{ daemon, conf, addr string }{
		{"fdfs_trackerd", tconf, tracker},
		{"fdfs_storaged", sconf, net.JoinHostPort(sip, fmt.Sprint(storagePort))},
	} {
		cmd := exec.Command(filepath.Join(bin, d.daemon), "-N", d.conf) // -N: in the foreground
		cmd.Env = env
		out, err := os.Create(filepath.Join(dir, d.daemon+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait(); out.Close() }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-done
			if t.Failed() {
				b, _ := os.ReadFile(out.Name())
				t.Logf("%s output:\n%s", d.daemon, b)
			}
		})
		waitFor(t, d.daemon+" listening with metrics_listen in its conf", func() (bool, string) {
			select {
			case err := <-done:
				done <- err
				t.Fatalf("%s exited: %v", d.daemon, err)
			default:
			}
			c, err := net.DialTimeout("tcp", d.addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil, fmt.Sprint(err)
		})
	}
}
