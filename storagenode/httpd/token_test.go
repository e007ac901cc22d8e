package httpd

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
)

const testSecret = "FastDFS1234567890"

// tokenQueries are the anti-steal cases of a file: the query to send and
// the status the storage must answer.
func tokenQueries(name string, now time.Time) []struct {
	name, query string
	status      int
} {
	ts := now.Unix()
	return []struct {
		name, query string
		status      int
	}{
		{"no token", "", 403},
		{"expired", signedQuery(name, testSecret, ts-901), 403}, // token_ttl is 900 s
		{"wrong", signedQuery(name, "other secret", ts), 403},
		{"valid", signedQuery(name, testSecret, ts), 200},
	}
}

// signedQuery is the "?token=...&ts=..." of name signed with secret at ts
// (Unix seconds).
func signedQuery(name, secret string, ts int64) string {
	return fmt.Sprintf("?token=%s&ts=%d", httptoken.Make(name, secret, ts), ts)
}

// padHeader is too big for the fast path's request head, so a request
// carrying it is answered by net/http.
var padHeader = strings.Repeat("p", 9<<10)

// The proxy marker only stops a storage from proxying again: whoever sends
// it still needs a valid token, for GET and HEAD, whichever of the fast
// path and net/http answers.
func TestTokenCheckedWithProxyMarker(t *testing.T) {
	dir := t.TempDir()
	content := []byte("protected")
	name := store(t, dir, localSrc, time.Now(), "txt", content)
	cfg := baseConfig(dir)
	cfg.CheckToken, cfg.Secret, cfg.TokenTTL = true, testSecret, 900*time.Second
	srv := newServer(t, cfg)

	for _, tok := range tokenQueries(name, time.Now()) {
		for _, marker := range []bool{false, true} {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				for _, path := range []string{"fast path", "net/http"} {
					// A fresh connection each: one that net/http answered
					// on stays with it for a while.
					hdr := map[string]string{"Connection": "close"}
					if marker {
						hdr[proxiedHeader] = "1"
					}
					if path == "net/http" {
						hdr["X-Pad"] = padHeader
					}
					t.Run(fmt.Sprintf("%s marker=%v %s %s", tok.name, marker, method, path), func(t *testing.T) {
						resp, body := get(t, method, srv.URL+"/group1/"+name+tok.query, hdr)
						if resp.StatusCode != tok.status {
							t.Fatalf("status %d, want %d", resp.StatusCode, tok.status)
						}
						if tok.status != 200 {
							return
						}
						if want := map[string][]byte{http.MethodGet: content, http.MethodHead: {}}[method]; !bytes.Equal(body, want) {
							t.Fatalf("body %q, want %q", body, want)
						}
						// The fast path signs its answers; net/http does not.
						if fast := resp.Header.Get("Server") == "fdfs"; fast != (path == "fast path") {
							t.Fatalf("answered by the fast path: %v", fast)
						}
					})
				}
			}
		}
	}
}

// With tokens on, a storage without the file proxies a request with a valid
// token to the source, whose own check passes on the forwarded token; a
// request already proxied is checked too, and never proxied again.
func TestProxyWithToken(t *testing.T) {
	srcDir, hereDir := t.TempDir(), t.TempDir()
	content := []byte("fresh upload on the source")
	name := store(t, srcDir, remoteSrc, time.Now(), "txt", content)

	srcCfg := baseConfig(srcDir)
	srcCfg.CheckToken, srcCfg.Secret, srcCfg.TokenTTL = true, testSecret, 900*time.Second
	srcCfg.IsLocal = func(s fileid.Source) bool { return s == remoteSrc }
	source := newServer(t, srcCfg)
	srcAddr := strings.TrimPrefix(source.URL, "http://")

	cfg := baseConfig(hereDir)
	cfg.CheckToken, cfg.Secret, cfg.TokenTTL = true, testSecret, 900*time.Second
	cfg.SourceAddr = func(n *fileid.Name) (string, bool) { return srcAddr, n.SourceIP == "127.0.0.4" }
	here := newServer(t, cfg)

	for _, tok := range tokenQueries(name, time.Now()) {
		t.Run(tok.name, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, here.URL+"/group1/"+name+tok.query, nil)
			if resp.StatusCode != tok.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tok.status)
			}
			if tok.status == 200 && !bytes.Equal(body, content) {
				t.Fatalf("body %q", body)
			}
		})
	}
	// A marked request is checked like any other, and then answered from
	// here only: 404 rather than a second hop.
	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"marked without token", "", 403},
		{"marked with valid token", signedQuery(name, testSecret, time.Now().Unix()), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := get(t, http.MethodGet, here.URL+"/group1/"+name+tc.query, map[string]string{proxiedHeader: "1"})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}
