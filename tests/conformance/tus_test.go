package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/gateway"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/slowproxy"
)

const (
	tusVersion = "4.3.1" // tus-js-client, pinned in package.json
	tusKey     = "conformance-tus-key-0123456789"
	// tusSegment is the gateway's segment size: an interrupted PATCH
	// keeps the whole segments it delivered.
	tusSegment = 256 << 10
)

// startTusGateway runs a gateway in front of c for the tus client.
func startTusGateway(t *testing.T, c *cluster.Cluster) *gateway.Gateway {
	t.Helper()
	off := false
	cfg := &config.Config{
		Trackers:   []string{c.TrackerAddr()},
		GRPCListen: "127.0.0.1:0",
		HTTPListen: "127.0.0.1:0",
		APIKeys:    []config.APIKey{{Name: "uploader", Key: tusKey, Mode: config.ReadWrite}},
		AccessLog:  &off,
		Uploads:    config.Uploads{Secret: "conformance-tus-secret-0123456789", SegmentSize: tusSegment},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	gw.Serve()
	t.Cleanup(func() { gw.Close() })
	return gw
}

// tusResult is the DONE line of tus-upload.js.
type tusResult struct {
	URL       string `json:"url"`
	FileID    string `json:"fileId"`
	ResumedAt int64  `json:"resumedAt"`
	Sent      int64  `json:"sent"`
}

// TestTusJSClientResume uploads a file with tus-js-client, kills the node
// process (SIGKILL) in the middle of the upload, and uploads the same file
// again from a new process: it must find the upload by its fingerprint,
// resume from the gateway's offset instead of starting over, and the
// stored file must be the file, byte for byte.
func TestTusJSClientResume(t *testing.T) {
	node := requireNode(t)
	requireTus(t)
	c := cluster.Start(t, cluster.Options{Storages: 1})
	gw := startTusGateway(t, c)
	// A killed process's socket still delivers what it had written (up
	// to a few MiB of kernel buffers on loopback), so the client is
	// killed when a quarter of the file went through, well before the
	// end.
	const size = 16 << 20
	proxy := slowproxy.Start(t, gw.HTTPAddr(), 16<<20)
	dir := t.TempDir()
	data := make([]byte, size)
	rand.Read(data)
	file := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"tus-upload.js", "http://" + proxy.Addr() + "/v1/uploads", file, filepath.Join(dir, "tus-urls.json"), tusKey}

	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	first := exec.CommandContext(ctx, node, args...)
	var stderr bytes.Buffer
	first.Stderr = &stderr
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the client once the gateway received a quarter of the file.
	done := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "DONE") {
				done <- sc.Text()
			}
		}
		close(done)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for proxy.Forwarded.Load() < size/4 {
		select {
		case l := <-done:
			t.Fatalf("the first client ended before it could be killed: %q; stderr: %s", l, stderr.String())
		case <-tick.C:
		}
	}
	first.Process.Kill()
	for range done {
	}
	if err := first.Wait(); err == nil {
		t.Fatalf("the killed client exited 0; stderr: %s", stderr.String())
	}
	// What the dead client's sockets still held goes through first.
	testwait.Until(t, time.Minute, "the killed client's connections end", func() bool { return proxy.Active.Load() == 0 })
	before := proxy.Forwarded.Load()
	t.Logf("killed the first client after the gateway received %d of %d bytes", before, size)
	proxy.Slow.Store(false)

	second := exec.CommandContext(ctx, node, args...)
	b, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second client: %v\n%s", err, b)
	}
	var res tusResult
	for _, l := range strings.Split(string(b), "\n") {
		if j, ok := strings.CutPrefix(l, "DONE "); ok {
			if err := json.Unmarshal([]byte(j), &res); err != nil {
				t.Fatal(err)
			}
		}
	}
	resent := proxy.Forwarded.Load() - before
	t.Logf("second client: resumed at %d, sent %d bytes (the proxy forwarded %d with the requests' headers), file %s", res.ResumedAt, res.Sent, resent, res.FileID)
	if res.FileID == "" || res.ResumedAt <= 0 || res.ResumedAt >= size {
		t.Fatalf("second client did not resume: %+v\n%s", res, b)
	}
	// Never twice: the second client sent only what the gateway lacked
	// (plus a few KiB of requests), not the part it had.
	if resent > size-res.ResumedAt+64<<10 {
		t.Fatalf("the second client sent %d bytes; the gateway lacked only %d", resent, size-res.ResumedAt)
	}
	var got bytes.Buffer
	if _, err := c.Client.Download(ctx, res.FileID, 0, 0, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("stored file: %d bytes, want the %d uploaded", got.Len(), size)
	}
}

// requireTus fails (never skips) when tus-js-client is not installed.
func requireTus(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("node_modules", "tus-js-client", "package.json"))
	if err != nil || !bytes.Contains(b, []byte(`"version": "`+tusVersion+`"`)) {
		t.Fatalf("tus-js-client@%s is not installed (%v): run `npm ci --prefix tests/conformance` from the repository root", tusVersion, err)
	}
}
