package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// The gateway answers small plaintext downloads on a fast path
// (internal/httpfast, rest.ServeFast) and everything else through
// net/http. A "?filename=" with an empty name changes nothing in the
// answer but sends the request through net/http, so the two paths can be
// compared on the same file. A connection net/http served goes back to
// the fast path only when its answer allows, so the requests meant for the
// fast path go on new connections (fresh).

// fresh sends a request on a new connection, like do.
func fresh(t *testing.T, method, url, key string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	return doWith(t, hc, method, url, key, nil, hdr)
}

// accessLines returns the access log entries, decoded.
func accessLines(t *testing.T, logs *syncbuf.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "access" {
			out = append(out, m)
		}
	}
	return out
}

// startLoggedEnv is startEnv with the access log on, in JSON, in the
// returned buffer.
func startLoggedEnv(t *testing.T) (*env, *syncbuf.Buffer) {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Storages: 1})
	buf := &syncbuf.Buffer{}
	on := true
	gw := startGatewayLog(t, c, func(cfg *config.Config) { cfg.AccessLog = &on }, slog.New(slog.NewJSONHandler(buf, nil)))
	return &env{c: c, gw: gw}, buf
}

func TestFastPathMatchesNetHTTP(t *testing.T) {
	e, logs := startLoggedEnv(t)
	content := bytes.Repeat([]byte("fast path "), 500)
	id := e.upload(t, "?ext=txt", content)

	fast, fastBody := fresh(t, "GET", e.url("/v1/files/"+id+":download"), roKey, map[string]string{"X-Request-Id": "fast-1"})
	slow, slowBody := do(t, "GET", e.url("/v1/files/"+id+":download?filename="), roKey, nil, map[string]string{"X-Request-Id": "slow-1"})
	if fast.StatusCode != 200 || !bytes.Equal(fastBody, content) || !bytes.Equal(slowBody, content) {
		t.Fatalf("fast %s %d bytes, net/http %s %d bytes", fast.Status, len(fastBody), slow.Status, len(slowBody))
	}
	if fast.Header.Get("X-Request-Id") != "fast-1" || slow.Header.Get("X-Request-Id") != "slow-1" {
		t.Errorf("request ids %q %q", fast.Header.Get("X-Request-Id"), slow.Header.Get("X-Request-Id"))
	}
	for _, h := range []http.Header{fast.Header, slow.Header} {
		if _, err := http.ParseTime(h.Get("Date")); err != nil {
			t.Errorf("Date %q", h.Get("Date"))
		}
		h.Del("Date")
		h.Del("X-Request-Id")
	}
	if g, w := headerText(fast.Header), headerText(slow.Header); g != w {
		t.Errorf("fast path headers:\n%s\nnet/http:\n%s", g, w)
	}

	// An invalid request ID is replaced on both paths.
	for _, path := range []string{":download", ":download?filename="} {
		resp, _ := fresh(t, "GET", e.url("/v1/files/"+id+path), roKey, map[string]string{"X-Request-Id": "no spaces allowed"})
		if got := resp.Header.Get("X-Request-Id"); len(got) != 16 {
			t.Errorf("%s: request id %q, want a generated one", path, got)
		}
	}

	// The access log lines and the metrics are the same.
	var byID = map[string]map[string]any{}
	for _, l := range accessLines(t, logs) {
		byID[l["request_id"].(string)] = l
	}
	f, s := byID["fast-1"], byID["slow-1"]
	if f == nil || s == nil {
		t.Fatalf("access log lines: fast %v, net/http %v", f, s)
	}
	for _, k := range []string{"proto", "method", "path", "route", "status", "bytes_in", "bytes_out", "key"} {
		if f[k] != s[k] {
			t.Errorf("access log %s: fast path %v, net/http %v", k, f[k], s[k])
		}
	}
	if f["key"] != "reader" || f["bytes_out"] != float64(len(content)) || !strings.HasPrefix(f["remote"].(string), "127.0.0.1:") {
		t.Errorf("fast path access log line %v", f)
	}
	_, metrics := do(t, "GET", e.url("/metrics"), "", nil, nil)
	if want := `fdfs_gateway_requests_total{code="OK",method="GET /v1/files/{file_id=**}:download",protocol="http"} 4`; !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// headerText lists h sorted, one field a line.
func headerText(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
}

func TestFastPathRequests(t *testing.T) {
	e := startEnv(t, nil)
	small := bytes.Repeat([]byte("s"), 5000)
	large := bytes.Repeat([]byte("L"), 100<<10)
	smallID := e.upload(t, "?ext=bin", small)
	largeID := e.upload(t, "?ext=bin", large)
	goneID := e.upload(t, "?ext=bin", []byte("gone"))
	if err := e.c.Client.Delete(context.Background(), goneID); err != nil {
		t.Fatal(err)
	}

	t.Run("head", func(t *testing.T) {
		get, _ := fresh(t, "GET", e.url("/v1/files/"+smallID+":download"), roKey, nil)
		resp, body := fresh(t, "HEAD", e.url("/v1/files/"+smallID+":download"), roKey, nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(small)) || resp.Header.Get("ETag") != get.Header.Get("ETag") {
			t.Fatalf("HEAD: %s, %d body bytes, length %d, ETag %q", resp.Status, len(body), resp.ContentLength, resp.Header.Get("ETag"))
		}
	})
	t.Run("large", func(t *testing.T) {
		resp, body := fresh(t, "GET", e.url("/v1/files/"+largeID+":download"), roKey, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, large) {
			t.Fatalf("%s, %d bytes", resp.Status, len(body))
		}
	})
	t.Run("missing", func(t *testing.T) {
		resp, body := fresh(t, "GET", e.url("/v1/files/"+goneID+":download"), roKey, nil)
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" || decodeStatus(t, body).Code != int(codes.NotFound) {
			t.Fatalf("%s %q: %s", resp.Status, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("refused key", func(t *testing.T) {
		resp, body := fresh(t, "GET", e.url("/v1/files/"+smallID+":download"), "not-a-configured-key-000", nil)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || decodeStatus(t, body).Code != int(codes.Unauthenticated) {
			t.Fatalf("%s: %s", resp.Status, body)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		// Fast, fast, then one for net/http (the connection is handed
		// over), then one more that net/http answers on the same
		// connection.
		req := func(method, id, extra string) string {
			return method + " /v1/files/" + id + ":download HTTP/1.1\r\nHost: x\r\nX-API-Key: " + roKey + "\r\n" + extra + "\r\n"
		}
		raw := req("GET", smallID, "") + req("HEAD", smallID, "") + req("GET", smallID, "Range: bytes=1-3\r\n") +
			req("GET", goneID, "") + req("GET", largeID, "")
		c, err := net.Dial("tcp", e.gw.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute)) // a failure must not hang the test
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for i, want := range []struct {
			method string
			code   int
			body   []byte
		}{
			{"GET", 200, small}, {"HEAD", 200, nil}, {"GET", 206, small[1:4]}, {"GET", 404, nil}, {"GET", 200, large},
		} {
			resp, err := http.ReadResponse(br, &http.Request{Method: want.method})
			if err != nil {
				t.Fatalf("response %d: %v", i+1, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("response %d: %v", i+1, err)
			}
			if resp.StatusCode != want.code || want.body != nil && !bytes.Equal(body, want.body) {
				t.Errorf("response %d: %s, %d bytes", i+1, resp.Status, len(body))
			}
		}
	})
}
