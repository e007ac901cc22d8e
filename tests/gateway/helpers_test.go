package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/fdfsgo/fdfs/openapi"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/gateway"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// The API keys of the test gateways.
const (
	rwKey = "test-read-write-key-0123456789"
	roKey = "test-read-only-key-0123456789"
)

// env is a cluster with a gateway in front of it.
type env struct {
	c    *cluster.Cluster
	gw   *gateway.Gateway
	base string // REST base URL
	conn *grpc.ClientConn
}

// startEnv runs a one-storage cluster and a gateway with both keys; mod
// may change the gateway's config.
func startEnv(t testing.TB, mod func(*config.Config)) *env {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Storages: 1})
	return &env{c: c, gw: startGateway(t, c, mod)}
}

func startGateway(t testing.TB, c *cluster.Cluster, mod func(*config.Config)) *gateway.Gateway {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("FDFS_TEST_LOG") == "stderr" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return startGatewayLog(t, c, mod, log)
}

// startGatewayLog is startGateway logging to log.
func startGatewayLog(t testing.TB, c *cluster.Cluster, mod func(*config.Config), log *slog.Logger) *gateway.Gateway {
	t.Helper()
	off := false
	cfg := &config.Config{
		Trackers:   []string{c.TrackerAddr()},
		GRPCListen: "127.0.0.1:0",
		HTTPListen: "127.0.0.1:0",
		APIKeys: []config.APIKey{
			{Name: "writer", Key: rwKey, Mode: config.ReadWrite},
			{Name: "reader", Key: roKey, Mode: config.ReadOnly},
		},
		AccessLog: &off,
	}
	if mod != nil {
		mod(cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Log: log, OpenAPI: openapi.JSON, OpenAPI3: openapi.JSON3})
	if err != nil {
		t.Fatal(err)
	}
	gw.Serve()
	t.Cleanup(func() { gw.Close() })
	return gw
}

func (e *env) url(path string) string { return e.gw.HTTPURL() + path }

// grpcConn is a client connection to the gateway's gRPC port.
func (e *env) grpcConn(t testing.TB) *grpc.ClientConn {
	t.Helper()
	if e.conn == nil {
		conn, err := grpc.NewClient(e.gw.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithReadBufferSize(1<<20), grpc.WithWriteBufferSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		e.conn = conn
	}
	return e.conn
}

func (e *env) files(t testing.TB) fastdfsv1.FileServiceClient {
	return fastdfsv1.NewFileServiceClient(e.grpcConn(t))
}

// withKey returns a context carrying key as gRPC metadata.
func withKey(ctx context.Context, key string) context.Context {
	if key == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var httpClient = &http.Client{Timeout: 2 * time.Minute}

// do sends a request with key ("" for none) and returns the response with
// its body read.
func do(t *testing.T, method, url, key string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return doWith(t, httpClient, method, url, key, body, hdr)
}

// doWith is do through hc.
func doWith(t *testing.T, hc *http.Client, method, url, key string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(b.Len())
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

// rpcStatus is the JSON error body of the gateway.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type   string `json:"@type"`
		Reason string `json:"reason"`
	} `json:"details"`
}

func decodeStatus(t *testing.T, b []byte) rpcStatus {
	t.Helper()
	var s rpcStatus
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return s
}

// upload stores content through POST /v1/files with query (e.g.
// "?ext=txt") and returns the file ID.
func (e *env) upload(t *testing.T, query string, content []byte) string {
	t.Helper()
	resp, b := do(t, "POST", e.url("/v1/files"+query), rwKey, bytes.NewReader(content), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %s %s", resp.Status, b)
	}
	var r struct {
		FileID string `json:"fileId"`
		Size   string `json:"size"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("upload reply %q: %v", b, err)
	}
	if r.FileID == "" || !strings.HasPrefix(resp.Header.Get("Location"), "/v1/files/"+r.FileID) {
		t.Fatalf("upload reply %q, Location %q", b, resp.Header.Get("Location"))
	}
	return r.FileID
}

func (e *env) download(t *testing.T, id string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return do(t, "GET", e.url("/v1/files/"+id+":download"), roKey, nil, hdr)
}
