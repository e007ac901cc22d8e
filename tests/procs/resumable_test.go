package procs

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/slowproxy"
)

const resumableKey = "procs-resumable-key-0123456789"

// gatewayProc is a `fdfs gateway` process.
type gatewayProc struct {
	bin, conf, log, grpc, http string
	cmd                        *exec.Cmd
}

func startGatewayProc(t *testing.T, bin, dir, tracker string) *gatewayProc {
	t.Helper()
	g := &gatewayProc{bin: bin, conf: filepath.Join(dir, "gateway.yaml"), log: filepath.Join(dir, "gateway.log"), grpc: wiretest.RefusedAddr(t, "127.0.0.1"), http: wiretest.RefusedAddr(t, "127.0.0.1")}
	yaml := fmt.Sprintf(`trackers: [%q]
grpc_listen: %s
http_listen: %s
api_keys: [{name: uploader, key: %s, mode: rw}]
uploads: {secret: procs-resumable-secret-0123456789}
`, tracker, g.grpc, g.http, resumableKey)
	if err := os.WriteFile(g.conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start(t)
	t.Cleanup(func() { g.kill() })
	return g
}

func (g *gatewayProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(g.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	g.cmd = exec.Command(g.bin, "gateway", "--config", g.conf)
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, waitLimit, "the gateway serves", func() bool {
		resp, err := http.Get("http://" + g.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill ends the gateway with SIGKILL: no graceful shutdown.
func (g *gatewayProc) kill() {
	if g.cmd != nil && g.cmd.Process != nil {
		g.cmd.Process.Kill()
		g.cmd.Wait()
	}
}

// TestUploadResumableCLI interrupts `fdfs upload-resumable` three ways:
// the CLI is killed (a second run resumes from the state file), the
// gateway process is killed and restarted, and the storage restarts (the
// running CLI retries from the committed offset). Each time the stored
// file is the file, byte for byte.
func TestUploadResumableCLI(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	c := cluster.Start(t, cluster.Options{Storages: 1})
	gw := startGatewayProc(t, bin, dir, c.TrackerAddr())
	const size = 16 << 20
	for _, tc := range []struct {
		name string
		// interrupt runs once a quarter of the file reached the gateway;
		// it reports whether the CLI was killed.
		interrupt func(t *testing.T, cli *exec.Cmd, stderr *syncbuf.Buffer) bool
	}{
		{"cli killed", func(t *testing.T, cli *exec.Cmd, _ *syncbuf.Buffer) bool {
			cli.Process.Kill()
			return true
		}},
		{"gateway killed", func(t *testing.T, _ *exec.Cmd, _ *syncbuf.Buffer) bool {
			gw.kill()
			gw.start(t)
			return false
		}},
		{"storage restarted", func(t *testing.T, _ *exec.Cmd, stderr *syncbuf.Buffer) bool {
			// Down until the CLI's writes failed, then back.
			c.StopStorage(0)
			testwait.Until(t, waitLimit, "the CLI sees the storage down", func() bool { return strings.Contains(stderr.String(), "failed") })
			c.RestartStorage(0)
			return false
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := make([]byte, size)
			rand.Read(data)
			file := filepath.Join(t.TempDir(), "big.bin")
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			proxy := slowproxy.Start(t, gw.grpc, 16<<20)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			args := []string{"upload-resumable", "--grpc", proxy.Addr(), "--key", resumableKey, "--chunk", "262144", file}
			cli := exec.CommandContext(ctx, bin, args...)
			var out, errOut syncbuf.Buffer
			cli.Stdout, cli.Stderr = &out, &errOut
			if err := cli.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cli.Wait() }()
			testwait.Until(t, waitLimit, "a quarter of the file sent", func() bool { return proxy.Forwarded.Load() >= size/4 })
			killed := tc.interrupt(t, cli, &errOut)
			proxy.Slow.Store(false)
			err := <-exited
			t.Logf("first run: %v, stderr: %s", err, errOut.String())
			if killed {
				if err == nil {
					t.Fatalf("the killed CLI exited 0: %s", out.String())
				}
				testwait.Until(t, waitLimit, "the killed CLI's connections end", func() bool { return proxy.Active.Load() == 0 })
				out.Reset()
				errOut.Reset()
				again := exec.CommandContext(ctx, bin, args...)
				again.Stdout, again.Stderr = &out, &errOut
				if err := again.Run(); err != nil {
					t.Fatalf("second run: %v\n%s", err, errOut.String())
				}
				t.Logf("second run: %s", errOut.String())
				if !strings.Contains(errOut.String(), "resuming at byte ") || strings.Contains(errOut.String(), "resuming at byte 0 ") {
					t.Fatalf("the second run did not resume: %s", errOut.String())
				}
			} else if err != nil {
				t.Fatalf("the CLI failed: %v\n%s", err, errOut.String())
			}
			id := strings.TrimSpace(out.String())
			var got bytes.Buffer
			if _, err := c.Client.Download(ctx, id, 0, 0, &got); err != nil {
				t.Fatalf("download %q: %v", id, err)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("stored file %s: %d bytes, want the %d uploaded", id, got.Len(), size)
			}
			if _, err := os.Stat(file + ".fdfs-upload"); !os.IsNotExist(err) {
				t.Fatalf("the state file is left behind: %v", err)
			}
		})
	}
}
