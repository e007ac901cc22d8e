package httpd

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

var (
	localSrc, _  = fileid.SourceFromIP("127.0.0.3")
	remoteSrc, _ = fileid.SourceFromIP("127.0.0.4")
)

// store writes content under a generated name in a fresh store path and
// returns the store path and the logical name.
func store(t *testing.T, dir string, src fileid.Source, ts time.Time, ext string, content []byte) string {
	t.Helper()
	name, err := fileid.Generate(0, 0x0A, 0x1F, fileid.Fields{
		Source: src, Timestamp: ts.Unix(), Size: int64(len(content)), CRC32: crc32.ChecksumIEEE(content),
	}, ext)
	if err != nil {
		t.Fatal(err)
	}
	n, err := fileid.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	p := n.Path([]string{dir})
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

type testServer struct{ URL string }

// newServer serves cfg the way a storage does: the fast path in front of
// net/http, on a real loopback listener.
func newServer(t *testing.T, cfg Config) testServer {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, &http.Server{Handler: h}, time.Minute, time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close(time.Now().Add(time.Second))
		<-done
	})
	return testServer{URL: "http://" + ln.Addr().String()}
}

func baseConfig(dir string) Config {
	return Config{
		Group: "group1", StorePaths: []string{dir}, SubdirCount: 256, URLHaveGroupName: true,
		MultiRange: true, SyncFileMaxDelay: func() time.Duration { return 24 * time.Hour }, Log: slog.New(slog.DiscardHandler),
		IsLocal: func(s fileid.Source) bool { return s == localSrc },
	}
}

func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServeFile(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	created := time.Now().Add(-time.Hour).Truncate(time.Second)
	name := store(t, dir, localSrc, created, "jpg", content)
	srv := newServer(t, baseConfig(dir))
	url := srv.URL + "/group1/" + name

	resp, body := get(t, http.MethodGet, url+"?filename=cat.jpg", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, content) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	for k, want := range map[string]string{
		"Content-Type":        "image/jpeg",
		"Content-Length":      fmt.Sprint(len(content)),
		"Last-Modified":       created.UTC().Format(http.TimeFormat),
		"Content-Disposition": `attachment; filename=cat.jpg`,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}

	tests := []struct {
		name     string
		method   string
		hdr      map[string]string
		status   int
		wantBody []byte
	}{
		{"head", http.MethodHead, nil, 200, []byte{}},
		{"range", http.MethodGet, map[string]string{"Range": "bytes=100-199"}, 206, content[100:200]},
		{"suffix range", http.MethodGet, map[string]string{"Range": "bytes=-10"}, 206, content[len(content)-10:]},
		{"unsatisfiable", http.MethodGet, map[string]string{"Range": "bytes=999999-"}, 416, nil},
		{"etag match", http.MethodGet, map[string]string{"If-None-Match": etag}, 304, []byte{}},
		{"not modified since", http.MethodGet, map[string]string{"If-Modified-Since": created.UTC().Format(http.TimeFormat)}, 304, []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.method, url, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.wantBody != nil && !bytes.Equal(body, tc.wantBody) {
				t.Fatalf("body %d bytes, want %d", len(body), len(tc.wantBody))
			}
		})
	}

	t.Run("multi range", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, url, map[string]string{"Range": "bytes=0-4,10-14"})
		if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") {
			t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		_, params, _ := strings.Cut(resp.Header.Get("Content-Type"), "boundary=")
		mr := multipart.NewReader(bytes.NewReader(body), params)
		var parts [][]byte
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, b)
		}
		if len(parts) != 2 || !bytes.Equal(parts[0], content[0:5]) || !bytes.Equal(parts[1], content[10:15]) {
			t.Fatalf("parts %q", parts)
		}
	})
}

func TestBadPaths(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(filepath.Dir(dir), "secret.txt")
	os.WriteFile(secret, []byte("top secret"), 0o644)
	name := store(t, dir, localSrc, time.Now(), "txt", []byte("x"))
	srv := newServer(t, baseConfig(dir))
	tests := []struct {
		path   string
		status int
	}{
		{"/group1/M00/../../secret.txt", 400},
		{"/group1/M00/0A/1F/..%2F..%2F..%2Fsecret.txt", 400},
		{"/group1/M7F/0A/1F/" + name[10:], 400},
		{"/group1/M00/ZZ/1F/" + name[10:], 400},
		{"/group1/M00/0A/1F/short", 400},
		{"/group2/" + name, 404},
		{"/group1", 400},
		{"/group1/" + name + "-m", 404},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, srv.URL+tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if bytes.Contains(body, []byte("top secret")) {
				t.Fatal("served a file outside the store path")
			}
		})
	}
	resp, _ := get(t, http.MethodPost, srv.URL+"/group1/"+name, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
}

func TestAntiStealToken(t *testing.T) {
	dir := t.TempDir()
	name := store(t, dir, localSrc, time.Now(), "txt", []byte("protected"))
	now := time.Now()
	cfg := baseConfig(dir)
	cfg.URLHaveGroupName = false
	cfg.CheckToken, cfg.Secret, cfg.TokenTTL = true, "FastDFS1234567890", 900*time.Second
	srv := newServer(t, cfg)
	ts := now.Unix()
	tests := []struct {
		name   string
		query  string
		status int
	}{
		{"valid", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(name, cfg.Secret, ts), ts), 200},
		{"ts zero never expires", "token=" + httptoken.Make(name, cfg.Secret, 0) + "&ts=0", 200},
		{"expired", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(name, cfg.Secret, ts-901), ts-901), 403},
		{"wrong", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(name, "nope", ts), ts), 403},
		{"over full id", fmt.Sprintf("token=%s&ts=%d", httptoken.Make("group1/"+name, cfg.Secret, ts), ts), 403},
		{"missing", "", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, prefix := range []string{"/", "/group1/"} {
				resp, body := get(t, http.MethodGet, srv.URL+prefix+name+"?"+tc.query, nil)
				if resp.StatusCode != tc.status {
					t.Fatalf("%s: status %d, want %d", prefix, resp.StatusCode, tc.status)
				}
				if tc.status == 200 && string(body) != "protected" {
					t.Fatalf("body %q", body)
				}
			}
		})
	}

	failFile := filepath.Join(t.TempDir(), "denied.jpg")
	os.WriteFile(failFile, []byte("denied image"), 0o644)
	cfg.TokenCheckFailFile = failFile
	srv2 := newServer(t, cfg)
	resp, body := get(t, http.MethodGet, srv2.URL+"/"+name+"?token=bad&ts=1", nil)
	if resp.StatusCode != 200 || string(body) != "denied image" {
		t.Fatalf("token_check_fail: %d %q", resp.StatusCode, body)
	}
}

// A file uploaded to another storage and not yet replicated is proxied or
// redirected to its source.
func TestUnsyncedFile(t *testing.T) {
	srcDir, hereDir := t.TempDir(), t.TempDir()
	content := []byte("fresh upload on the source")
	name := store(t, srcDir, remoteSrc, time.Now(), "txt", content)
	old := store(t, srcDir, remoteSrc, time.Now().Add(-48*time.Hour), "txt", content)

	srcCfg := baseConfig(srcDir)
	srcCfg.IsLocal = func(s fileid.Source) bool { return s == remoteSrc }
	source := newServer(t, srcCfg)
	srcAddr := strings.TrimPrefix(source.URL, "http://")

	for _, mode := range []string{"proxy", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			cfg := baseConfig(hereDir)
			cfg.ResponseMode = mode
			cfg.SourceAddr = func(n *fileid.Name) (string, bool) { return srcAddr, n.SourceIP == "127.0.0.4" }
			here := newServer(t, cfg)
			resp, body := get(t, http.MethodGet, here.URL+"/group1/"+name, nil)
			switch mode {
			case "proxy":
				if resp.StatusCode != 200 || !bytes.Equal(body, content) {
					t.Fatalf("proxy: %d %q", resp.StatusCode, body)
				}
			case "redirect":
				loc := resp.Header.Get("Location")
				if resp.StatusCode != 302 || !strings.HasPrefix(loc, source.URL+"/group1/"+name) || !strings.Contains(loc, "redirect=1") {
					t.Fatalf("redirect: %d %q", resp.StatusCode, loc)
				}
				resp, body = get(t, http.MethodGet, loc, nil)
				if resp.StatusCode != 200 || !bytes.Equal(body, content) {
					t.Fatalf("follow: %d", resp.StatusCode)
				}
				resp, _ = get(t, http.MethodGet, here.URL+"/group1/"+name+"?redirect=1", nil)
				if resp.StatusCode != 400 {
					t.Fatalf("loop guard: %d", resp.StatusCode)
				}
			}
			resp, _ = get(t, http.MethodGet, here.URL+"/group1/"+old, nil)
			if resp.StatusCode != 404 {
				t.Fatalf("old missing file: %d", resp.StatusCode)
			}
		})
	}
}

// A file this server's disk cannot give (Lost names a peer) is proxied
// to, or redirected to, that peer, whatever its age; a request a peer
// forwarded is not sent on again, and with no peer to ask the answer is
// 503, not 404.
func TestLostFile(t *testing.T) {
	peerDir, hereDir := t.TempDir(), t.TempDir()
	content := []byte("on a disk that failed here")
	name := store(t, peerDir, localSrc, time.Now().Add(-48*time.Hour), "txt", content)
	peer := newServer(t, baseConfig(peerDir))
	peerAddr := strings.TrimPrefix(peer.URL, "http://")

	for _, mode := range []string{"proxy", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			cfg := baseConfig(hereDir)
			cfg.ResponseMode = mode
			var asked error
			cfg.Lost = func(n *fileid.Name, err error) ([]string, bool) {
				asked = err
				return []string{peerAddr}, true
			}
			here := newServer(t, cfg)
			resp, body := get(t, http.MethodGet, here.URL+"/group1/"+name, nil)
			if !errors.Is(asked, fs.ErrNotExist) {
				t.Fatalf("LostAddr asked with %v, want the open's error", asked)
			}
			if mode == "redirect" {
				loc := resp.Header.Get("Location")
				if resp.StatusCode != 302 || !strings.HasPrefix(loc, peer.URL+"/group1/"+name) {
					t.Fatalf("redirect: %d %q", resp.StatusCode, loc)
				}
				resp, body = get(t, http.MethodGet, loc, nil)
			}
			if resp.StatusCode != 200 || !bytes.Equal(body, content) {
				t.Fatalf("%s: %d %q", mode, resp.StatusCode, body)
			}
			resp, _ = get(t, http.MethodGet, here.URL+"/group1/"+name, map[string]string{proxiedHeader: "1"})
			if resp.StatusCode != 503 {
				t.Fatalf("a forwarded request: %d, want 503 (not sent on)", resp.StatusCode)
			}
		})
	}
	cfg := baseConfig(hereDir)
	cfg.Lost = func(*fileid.Name, error) ([]string, bool) { return nil, true }
	if resp, _ := get(t, http.MethodGet, newServer(t, cfg).URL+"/group1/"+name, nil); resp.StatusCode != 503 {
		t.Fatalf("no peer to ask: %d, want 503 (not 404: the file is not gone)", resp.StatusCode)
	}
}

// TestLostFilePeers: in proxy mode a lost file is asked of the peers in
// turn, past one unreachable, one without it (404) and one whose own disk
// fails (503); the last peer's answer is the client's, but for a 404
// after a peer that could not be reached (503: the file may be there).
// Each peer asked is counted.
func TestLostFilePeers(t *testing.T) {
	peerDir, emptyDir, hereDir := t.TempDir(), t.TempDir(), t.TempDir()
	content := []byte("on a disk that failed here")
	name := store(t, peerDir, localSrc, time.Now().Add(-48*time.Hour), "txt", content)
	holder := strings.TrimPrefix(newServer(t, baseConfig(peerDir)).URL, "http://")
	lacking := strings.TrimPrefix(newServer(t, baseConfig(emptyDir)).URL, "http://")
	failingSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "its disk too", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failingSrv.Close)
	failing := strings.TrimPrefix(failingSrv.URL, "http://")
	dead := wiretest.RefusedAddr(t, "127.0.0.1")
	for _, tc := range []struct {
		what  string
		peers []string
		code  int
		asked map[string]int
	}{
		{"found at the last", []string{dead, lacking, failing, holder}, 200, map[string]int{"failed": 1, "refused": 2, "ok": 1}},
		{"found at the first", []string{holder, dead}, 200, map[string]int{"ok": 1}},
		{"none has it", []string{lacking, lacking}, 404, map[string]int{"refused": 2}},
		{"none has it, one unreachable", []string{dead, lacking}, 503, map[string]int{"failed": 1, "refused": 1}},
		{"the last one's disk fails", []string{lacking, failing}, 503, map[string]int{"refused": 2}},
		{"none reachable", []string{dead}, 503, map[string]int{"failed": 1}},
	} {
		for _, mode := range []string{"proxy", "redirect"} {
			t.Run(mode+"/"+tc.what, func(t *testing.T) {
				cfg := baseConfig(hereDir)
				cfg.ResponseMode = mode
				cfg.Lost = func(*fileid.Name, error) ([]string, bool) { return tc.peers, true }
				asked := map[string]int{}
				cfg.LostAsked = func(result string) { asked[result]++ }
				resp, body := get(t, http.MethodGet, newServer(t, cfg).URL+"/group1/"+name, nil)
				if mode == "redirect" && tc.code == 200 {
					// Sent to the holder, which serves it.
					loc, err := resp.Location()
					if resp.StatusCode != http.StatusFound || err != nil || loc.Host != holder {
						t.Fatalf("%d to %v (%v), want %d to %s", resp.StatusCode, loc, err, http.StatusFound, holder)
					}
					resp, body = get(t, http.MethodGet, loc.String(), nil)
				}
				if resp.StatusCode != tc.code || tc.code == 200 && !bytes.Equal(body, content) {
					t.Errorf("%d %q, want %d", resp.StatusCode, body, tc.code)
				}
				if !maps.Equal(asked, tc.asked) {
					t.Errorf("peers asked %v, want %v", asked, tc.asked)
				}
			})
		}
	}
}
