package procs

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `make dev` says what it is doing while the first start creates the data
// directories, and a SIGTERM to the process that runs it (make) stops the
// cluster: nothing keeps listening.
func TestMakeDev(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed: TestMakeDev skipped")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	const tracker = "127.0.0.43:22122"
	cmd := exec.Command("make", "--no-print-directory", "dev", "DEV_ARGS=--data "+data+" --base-ip 127.0.0.43")
	cmd.Dir = root
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	var seen []string
	ready := false
	timeout := time.After(waitLimit)
	for !ready {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("make dev ended before the cluster was ready:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			ready = strings.Contains(l, "dev cluster is ready")
		case <-timeout:
			t.Fatalf("make dev not ready after %v:\n%s", waitLimit, strings.Join(seen, "\n"))
		}
	}
	text := strings.Join(seen, "\n")
	for _, want := range []string{"starting the tracker on " + tracker, "first start, creating 65536 data directories", "waiting for the storages"} {
		if !strings.Contains(text, want) {
			t.Errorf("no progress line %q in:\n%s", want, text)
		}
	}
	go func() {
		for range lines {
		}
	}()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("make dev still running after SIGTERM")
	}
	if c, err := net.DialTimeout("tcp", tracker, time.Second); err == nil {
		c.Close()
		t.Fatalf("the tracker still listens on %s after make dev was stopped", tracker)
	}
}
