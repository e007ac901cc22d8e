package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/openapi"
)

func TestMetrics(t *testing.T) {
	e := startEnv(t, nil)
	id := e.upload(t, "", []byte("counted"))
	e.download(t, id, nil)
	do(t, "GET", e.url("/v1/files/"+id), "", nil, nil) // 401
	do(t, "GET", e.url("/no/such/route"), roKey, nil, nil)
	do(t, "POST", e.url("/v1/files?meta.k=a%01b"), rwKey, strings.NewReader("x"), nil) // 400
	do(t, "GET", e.url("/healthz"), "", nil, nil)
	if _, err := grpcDownload(withKey(opCtx(t), roKey), e.files(t), id); err != nil {
		t.Fatal(err)
	}
	grpcDownload(withKey(opCtx(t), roKey), e.files(t), "group1/nonsense")
	conn, _ := net.Dial("tcp", e.gw.GRPCAddr())
	conn.Close()

	resp, body := do(t, "GET", e.url("/metrics"), "", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	text := string(body)
	for _, want := range []string{
		`fdfs_gateway_requests_total{code="OK",method="POST /v1/files",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="InvalidArgument",method="POST /v1/files",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="OK",method="GET /v1/files/{file_id=**}:download",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="Unauthenticated",method="GET /v1/files/{file_id=**}",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="NotFound",method="unmatched",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="OK",method="GET /healthz",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="OK",method="/fastdfs.v1.FileService/DownloadFile",protocol="grpc"} 1`,
		`fdfs_gateway_requests_total{code="InvalidArgument",method="/fastdfs.v1.FileService/DownloadFile",protocol="grpc"} 1`,
		`fdfs_gateway_bytes_total{direction="in",method="POST /v1/files",protocol="http"} 7`,
		`fdfs_gateway_bytes_total{direction="out",method="GET /v1/files/{file_id=**}:download",protocol="http"} 7`,
		`fdfs_gateway_request_duration_seconds_count{method="/fastdfs.v1.FileService/DownloadFile",protocol="grpc"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// One vocabulary of codes, no catch-all labels.
	for _, bad := range []string{`method="unknown"`, `code="Unknown"`, `code="2`, `code="4`, `code="5`} {
		if strings.Contains(text, bad) {
			t.Errorf("/metrics has %s", bad)
		}
	}
}

func TestOpenAPI(t *testing.T) {
	e := startEnv(t, nil)
	resp, body := do(t, "GET", e.url("/openapi.json"), "", nil, nil)
	var doc struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
		Sec     map[string]any            `json:"securityDefinitions"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &doc) != nil || doc.Swagger != "2.0" {
		t.Fatalf("/openapi.json: %s %.200s", resp.Status, body)
	}
	for path, method := range map[string]string{
		"/v1/files": "post", "/v1/files/{fileId}:download": "get", "/v1/files/{fileId}:append": "post",
		"/v1/files/{fileId}": "get", "/v1/groups": "get",
	} {
		if doc.Paths[path][method] == nil {
			t.Errorf("no %s %s in the document", method, path)
		}
	}
	if doc.Sec["bearer"] == nil {
		t.Error("no bearer security definition")
	}

	// The OpenAPI 3 document is served as committed, with the same paths.
	resp, body = do(t, "GET", e.url("/openapi3.json"), "", nil, nil)
	var doc3 struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &doc3) != nil || !strings.HasPrefix(doc3.OpenAPI, "3.") {
		t.Fatalf("/openapi3.json: %s %.200s", resp.Status, body)
	}
	if !bytes.Equal(body, openapi.JSON3) {
		t.Error("/openapi3.json differs from openapi/fastdfs.openapi3.json")
	}
	for path := range doc.Paths {
		if doc3.Paths[path] == nil {
			t.Errorf("%s in /openapi.json but not in /openapi3.json", path)
		}
	}
}

// TestGracefulShutdown starts a REST and a gRPC download, shuts the
// gateway down while both are in flight, and checks that they complete,
// that new connections are refused and that Shutdown returns once they are
// done.
func TestGracefulShutdown(t *testing.T) {
	e := startEnv(t, nil)
	const size = 32 << 20
	src := newGenReader(3, size)
	crc := crc32.NewIEEE()
	req, _ := http.NewRequest("POST", e.url("/v1/files"), io.TeeReader(src, crc))
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+rwKey)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ FileID string }
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %s", resp.Status)
	}

	req, _ = http.NewRequest("GET", e.url("/v1/files/"+up.FileID+":download"), nil)
	req.Header.Set("Authorization", "Bearer "+roKey)
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	down := crc32.NewIEEE()
	if _, err := io.CopyN(down, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}

	// A gRPC download in flight as well.
	stream, err := e.files(t).DownloadFile(withKey(opCtx(t), roKey), &fastdfsv1.DownloadFileRequest{FileId: up.FileID})
	if err != nil {
		t.Fatal(err)
	}
	grpcDown := crc32.NewIEEE()
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	grpcDown.Write(first.GetChunk())
	grpcN := int64(len(first.GetChunk()))

	done := make(chan error, 1)
	go func() { done <- e.gw.Shutdown(context.Background()) }()
	// New connections are refused once the listeners are closed.
	for {
		c, err := net.Dial("tcp", e.gw.HTTPAddr())
		if err != nil {
			break
		}
		c.Close()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v before the download finished", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	n, err := io.Copy(down, resp.Body)
	if err != nil || n != size-1<<20 || down.Sum32() != crc.Sum32() {
		t.Fatalf("download across shutdown: %d bytes, %v, crc %08x want %08x", n+1<<20, err, down.Sum32(), crc.Sum32())
	}
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("gRPC download across shutdown, after %d bytes: %v", grpcN, err)
		}
		grpcDown.Write(m.GetChunk())
		grpcN += int64(len(m.GetChunk()))
	}
	if grpcN != size || grpcDown.Sum32() != crc.Sum32() {
		t.Fatalf("gRPC download across shutdown: %d bytes, crc %08x want %08x", grpcN, grpcDown.Sum32(), crc.Sum32())
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if resp, err := httpClient.Get(e.url("/healthz")); err == nil {
		resp.Body.Close()
		t.Errorf("request after shutdown: %s", resp.Status)
	}
}
