package replication

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
)

// storageProc is one `fdfs storage` process.
type storageProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// buildFdfs compiles cmd/fdfs into dir.
func buildFdfs(t *testing.T, dir string) string {
	t.Helper()
	bin, err := fdfsbin.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func startStorageProc(t *testing.T, bin, confPath, logPath string) *storageProc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := &storageProc{cmd: exec.Command(bin, "storage", "--config", confPath), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 32<<10 {
				b = b[len(b)-32<<10:]
			}
			t.Logf("storage process output:\n%s", b)
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *storageProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// TestCatchUpAfterKill9: one storage runs as a real `fdfs storage`
// process and is killed with SIGKILL in the middle of a stream of uploads;
// restarted, it catches up and no acknowledged upload is missing anywhere.
func TestCatchUpAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the fdfs binary")
	}
	c := cluster.Start(t, cluster.Options{Storages: 3})
	bin := buildFdfs(t, t.TempDir())
	logPath := filepath.Join(t.TempDir(), "storage3.log")
	ip := c.Storages[2].IP
	c.StopStorage(2)
	p := startStorageProc(t, bin, c.Storages[2].ConfPath, logPath)
	waitStatus(t, c.Client, ip, protocol.StatusActive)

	u := startUploader(c.Client)
	u.waitAcked(t, 100)
	p.kill()
	u.waitAcked(t, 100)
	startStorageProc(t, bin, c.Storages[2].ConfPath, logPath)
	waitStatus(t, c.Client, ip, protocol.StatusActive)
	u.waitAcked(t, 50)
	acked := u.finish()
	t.Logf("%d uploads acknowledged, %d failed", len(acked), u.failed)
	wantSource(t, acked, ip)
	waitEverywhere(t, c.Storages, acked)
}
