package clients

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/openapi"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/gateway"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

const (
	apiKey        = "clients-test-key-0123456789"
	scriptTimeout = 2 * time.Minute
)

var (
	repo    = mustAbs("../..")
	nodeDir = filepath.Join(repo, "examples", "node")
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// startGateway runs a one-storage cluster and a gateway with one API key.
func startGateway(t *testing.T) *gateway.Gateway {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Storages: 1})
	off := false
	cfg := &config.Config{
		Trackers:   []string{c.TrackerAddr()},
		GRPCListen: "127.0.0.1:0",
		HTTPListen: "127.0.0.1:0",
		APIKeys:    []config.APIKey{{Name: "client", Key: apiKey, Mode: config.ReadWrite}},
		AccessLog:  &off,
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Log: slog.New(slog.DiscardHandler), OpenAPI: openapi.JSON})
	if err != nil {
		t.Fatal(err)
	}
	gw.Serve()
	t.Cleanup(func() { gw.Close() })
	return gw
}

// run runs a client program in dir and fails the test unless it exits 0.
func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("%s %v: %s", filepath.Base(name), args, bytes.TrimSpace(stdout.Bytes()))
	return stdout.Bytes()
}

// requireNode fails (never skips) when node or the example's npm packages
// are missing, saying how to install them.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH (%v): install Node.js >= 20", err)
	}
	for _, pkg := range []string{"@grpc/grpc-js", "@grpc/proto-loader", "openapi-fetch", "openapi-typescript", "typescript"} {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed (%v): run `npm ci --prefix examples/node` from the repository root first", pkg, err)
		}
	}
	return node
}

func TestNodeGRPC(t *testing.T) {
	node := requireNode(t)
	gw := startGateway(t)
	for _, mode := range []string{"descriptor", "files"} {
		t.Run(mode, func(t *testing.T) {
			run(t, nodeDir, []string{"FDFS_GRPC_ADDR=" + gw.GRPCAddr(), "FDFS_API_KEY=" + apiKey, "FDFS_PROTO_MODE=" + mode},
				node, "grpc_client.js")
		})
	}
}

// pythonWithGRPC is a python3 that imports grpc and google.protobuf: Debian's
// (/usr/bin/python3, where python3-grpcio installs) first, then the one in PATH.
func pythonWithGRPC() (string, error) {
	var lastErr error
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			lastErr = err
			continue
		}
		out, err := exec.Command(path, "-c", "import grpc, google.protobuf").CombinedOutput()
		if err == nil {
			return path, nil
		}
		lastErr = &importError{path: path, out: string(bytes.TrimSpace(out))}
	}
	return "", lastErr
}

type importError struct{ path, out string }

func (e *importError) Error() string { return e.path + ": " + e.out }

func TestPythonGRPC(t *testing.T) {
	python, err := pythonWithGRPC()
	if err != nil {
		t.Skipf("python3 with grpc unavailable (%v): install python3-grpcio python3-protobuf (bash scripts/client-deps.sh)", err)
	}
	gw := startGateway(t)
	env := []string{"FDFS_GRPC_ADDR=" + gw.GRPCAddr(), "FDFS_API_KEY=" + apiKey}
	script := filepath.Join(repo, "examples", "python", "grpc_client.py")
	t.Run("descriptor", func(t *testing.T) {
		run(t, repo, env, python, script)
	})
	t.Run("protoc", func(t *testing.T) {
		protoc, err := exec.LookPath("protoc")
		if err != nil {
			t.Skip("protoc not installed (Debian: protobuf-compiler): the generated-modules variant is not run")
		}
		dir := t.TempDir()
		run(t, repo, nil, protoc, "-Iproto", "-Iproto/third_party/googleapis", "--python_out="+dir,
			"fastdfs/v1/file_service.proto", "google/rpc/status.proto", "google/rpc/error_details.proto",
			"google/api/annotations.proto", "google/api/http.proto", "google/api/field_behavior.proto")
		run(t, repo, append(env, "FDFS_PY_STUBS="+dir), python, script)
	})
}

// TestTypeScriptREST generates the typed client from the committed OpenAPI 3
// document with openapi-typescript, checks it is the committed one, compiles
// the example with tsc (type-checking every call against the document) and
// runs it against the gateway's REST side.
func TestTypeScriptREST(t *testing.T) {
	node := requireNode(t)
	bin := func(name string) string { return filepath.Join(nodeDir, "node_modules", ".bin", name) }
	gen := filepath.Join(t.TempDir(), "fastdfs-openapi.d.ts")
	run(t, nodeDir, nil, bin("openapi-typescript"), filepath.Join(repo, "openapi", "fastdfs.openapi3.json"), "-o", gen)
	want, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(nodeDir, "fastdfs-openapi.d.ts")); !bytes.Equal(got, want) {
		t.Fatal("examples/node/fastdfs-openapi.d.ts is not what openapi-typescript generates from openapi/fastdfs.openapi3.json: run `npm run gen-rest --prefix examples/node` and commit it")
	}
	run(t, nodeDir, nil, bin("tsc"), "-p", "tsconfig.json")
	gw := startGateway(t)
	// The document the client was generated from is the one the gateway serves.
	resp, err := http.Get(gw.HTTPURL() + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(served, openapi.JSON) {
		t.Fatalf("/openapi.json (%v) is not openapi/fastdfs.swagger.json", err)
	}
	run(t, nodeDir, []string{"FDFS_REST_URL=" + gw.HTTPURL(), "FDFS_API_KEY=" + apiKey}, node, filepath.Join("dist", "rest_client.js"))
}
