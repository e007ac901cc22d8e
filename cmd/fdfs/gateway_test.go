package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/gateway"
)

// TestGatewayAndBenchAPI runs the gateway as `fdfs gateway` does, from a
// gateway.yaml naming the cluster's client.conf, and drives it with
// bench-api over gRPC and REST.
func TestGatewayAndBenchAPI(t *testing.T) {
	c, err := devcluster.Launch(context.Background(), devcluster.Options{
		Dir: t.TempDir(), Storages: 1, SubdirCount: 4, HeartBeatInterval: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const key = "bench-api-test-key-0123456789"
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	yaml := fmt.Sprintf("client_conf: %s\ngrpc_listen: 127.0.0.1:0\nhttp_listen: 127.0.0.1:0\naccess_log: false\napi_keys:\n  - {name: bench, key: %s, mode: rw}\n", c.ClientConfPath, key)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *gateway.Gateway, 1)
	done := make(chan error, 1)
	go func() {
		done <- runGateway(ctx, gateway.Options{Config: cfg, Log: slog.New(slog.DiscardHandler)}, func(g *gateway.Gateway) { started <- g })
	}()
	var g *gateway.Gateway
	select {
	case g = <-started:
	case err := <-done:
		t.Fatalf("gateway: %v", err)
	}

	for _, op := range []string{"upload", "download"} {
		out, err := runCLI(t, "bench-api", "--grpc", g.GRPCAddr(), "--rest", g.HTTPURL(), "--key", key,
			"--op", op, "--size", "5KB", "--count", "40", "--concurrency", "4")
		if err != nil {
			t.Fatalf("bench-api --op %s: %v\n%s", op, err, out)
		}
		if strings.Count(out, "ok=40 failed=0") != 2 || !strings.Contains(out, "== grpc") || !strings.Contains(out, "== rest") {
			t.Errorf("bench-api --op %s printed:\n%s", op, out)
		}
	}
	if out, err := runCLI(t, "bench-api", "--rest", g.HTTPURL(), "--op", "upload", "--count", "1"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bench-api without a key: %v\n%s", err, out)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("gateway shutdown: %v", err)
	}
}
