package httpdownload

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/planted"
)

const secret = "FastDFS1234567890"

func fetch(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// sourceOf returns the storage that generated fileID.
func sourceOf(t *testing.T, c *cluster.Cluster, fileID string) *cluster.Storage {
	t.Helper()
	_, name, err := client.DecodeFileID(fileID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Storages {
		if s.IP == name.SourceIP {
			return s
		}
	}
	t.Fatalf("no storage is the source of %s", fileID)
	return nil
}

func signed(base, fileID string, ts int64) string {
	_, name, _ := strings.Cut(fileID, "/")
	return fmt.Sprintf("%s/%s?token=%s&ts=%d", base, fileID, httptoken.Make(name, secret, ts), ts)
}

func TestDownloadWithToken(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1, StorageConf: []string{
		"url_have_group_name = true",
		"http.anti_steal.check_token = true",
		"http.anti_steal.token_ttl = 900",
		"http.anti_steal.secret_key = " + secret,
	}})
	ctx := context.Background()
	content := make([]byte, 3<<20+17)
	rand.Read(content)
	id, err := c.Client.Upload(ctx, bytes.NewReader(content), int64(len(content)), client.UploadOptions{Ext: "mp4"})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + sourceOf(t, c, id).HTTPAddr()
	now := time.Now().Unix()

	resp, body := fetch(t, http.MethodGet, signed(base, id, now)+"&filename=clip.mp4", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, content) {
		t.Fatalf("GET: status %d, %d bytes (identical=%v)", resp.StatusCode, len(body), bytes.Equal(body, content))
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "video/mp4" || cd != "attachment; filename=clip.mp4" {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	etag := resp.Header.Get("ETag")

	tests := []struct {
		name   string
		method string
		url    string
		hdr    map[string]string
		status int
		body   []byte
	}{
		{"range", http.MethodGet, signed(base, id, now), map[string]string{"Range": "bytes=1000-1999"}, 206, content[1000:2000]},
		{"open range", http.MethodGet, signed(base, id, now), map[string]string{"Range": "bytes=3145700-"}, 206, content[3145700:]},
		{"head", http.MethodHead, signed(base, id, now), nil, 200, []byte{}},
		{"not modified", http.MethodGet, signed(base, id, now), map[string]string{"If-None-Match": etag}, 304, []byte{}},
		{"bad range", http.MethodGet, signed(base, id, now), map[string]string{"Range": "bytes=99999999-"}, 416, nil},
		{"ts zero", http.MethodGet, signed(base, id, 0), nil, 200, content},
		{"expired", http.MethodGet, signed(base, id, now-1000), nil, 403, nil},
		{"wrong token", http.MethodGet, base + "/" + id + "?token=" + strings.Repeat("0", 32) + "&ts=" + fmt.Sprint(now), nil, 403, nil},
		{"no token", http.MethodGet, base + "/" + id, nil, 403, nil},
		{"traversal", http.MethodGet, base + "/group1/M00/../../storage1.conf", nil, 400, nil},
		{"encoded traversal", http.MethodGet, base + "/group1/M00/00/00/..%2f..%2f..%2fstorage1.conf", nil, 400, nil},
		{"other group", http.MethodGet, signed(base, strings.Replace(id, "group1", "group9", 1), now), nil, 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(t, tc.method, tc.url, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tc.status, body)
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Fatalf("body of %d bytes, want %d", len(body), len(tc.body))
			}
		})
	}

	t.Run("multi range", func(t *testing.T) {
		resp, body := fetch(t, http.MethodGet, signed(base, id, now), map[string]string{"Range": "bytes=0-9,100-109"})
		if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !bytes.Contains(body, content[0:10]) || !bytes.Contains(body, content[100:110]) {
			t.Fatal("parts missing from the multipart body")
		}
	})
}

// plant writes a file straight into storage s's store path under a fresh
// name generated as s would (no binlog record, so it is never replicated):
// exactly the state of a file uploaded to s and not yet synced to its peers.
func plant(t *testing.T, s *cluster.Storage, content []byte) string {
	t.Helper()
	return fileid.Join(s.Group, planted.Write(t, s.StorePaths[0], s.IP, content))
}

// A URL built right after an upload works on any replica: a storage without
// the file proxies it from (or redirects to) the source storage.
func TestUnsyncedFileOnPeer(t *testing.T) {
	for _, mode := range []string{"proxy", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			c := cluster.Start(t, cluster.Options{Storages: 2, StorageConf: []string{
				"url_have_group_name = true",
				"response_mode = " + mode,
			}})
			content := []byte("uploaded a moment ago, not replicated yet")
			id := plant(t, c.Storages[0], content)
			peer := "http://" + c.Storages[1].HTTPAddr() + "/" + id
			resp, body := fetch(t, http.MethodGet, peer, nil)
			switch mode {
			case "proxy":
				if resp.StatusCode != 200 || !bytes.Equal(body, content) {
					t.Fatalf("proxy: status %d body %q", resp.StatusCode, body)
				}
			case "redirect":
				want := "http://" + c.Storages[0].HTTPAddr() + "/" + id
				loc := resp.Header.Get("Location")
				if resp.StatusCode != 302 || !strings.HasPrefix(loc, want) {
					t.Fatalf("redirect: status %d Location %q, want prefix %q", resp.StatusCode, loc, want)
				}
				resp, body = fetch(t, http.MethodGet, loc, nil)
				if resp.StatusCode != 200 || !bytes.Equal(body, content) {
					t.Fatalf("following the redirect: %d", resp.StatusCode)
				}
			}
			// A file that exists nowhere is a 404 on its source.
			missing := strings.Replace(id, "/M00/01/02/", "/M00/02/02/", 1)
			if resp, _ := fetch(t, http.MethodGet, "http://"+c.Storages[0].HTTPAddr()+"/"+missing, nil); resp.StatusCode != 404 {
				t.Fatalf("missing file on its source: %d", resp.StatusCode)
			}
			// A name whose source is no member of the group is a 404 on the
			// peer: a forged file ID does not point it at another host.
			forged := "http://" + c.Storages[1].HTTPAddr() + "/" + fileid.Join(c.Storages[1].Group, planted.Name(t, "127.0.0.250", content, time.Now()))
			if resp, _ := fetch(t, http.MethodGet, forged, nil); resp.StatusCode != 404 {
				t.Fatalf("a file whose source is no member: %d, want 404", resp.StatusCode)
			}
		})
	}
}

// proxiedHeader is the marker a storage puts on a request it proxies to the
// file's source storage (storagenode/httpd).
const proxiedHeader = "X-Fdfs-Proxied"

// The proxy marker never stands in for a token: with check_token on, a
// storage refuses a request without a valid one whether or not it carries
// the marker, for GET and HEAD, on the fast path and through net/http.
// A storage without the file still proxies a legitimate request to the
// source, and never proxies a marked one again.
func TestTokenWithProxyMarker(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2, StorageConf: []string{
		"url_have_group_name = true",
		"response_mode = proxy",
		"http.anti_steal.check_token = true",
		"http.anti_steal.token_ttl = 900",
		"http.anti_steal.secret_key = " + secret,
	}})
	content := []byte("on the source only, not replicated yet")
	id := plant(t, c.Storages[0], content)
	source := "http://" + c.Storages[0].HTTPAddr()
	peer := "http://" + c.Storages[1].HTTPAddr()
	now := time.Now().Unix()
	tokens := []struct {
		name   string
		url    func(base string) string
		status int
	}{
		{"no token", func(base string) string { return base + "/" + id }, 403},
		{"expired", func(base string) string { return signed(base, id, now-1000) }, 403},
		{"wrong", func(base string) string {
			return fmt.Sprintf("%s/%s?token=%s&ts=%d", base, id, strings.Repeat("0", 32), now)
		}, 403},
		{"valid", func(base string) string { return signed(base, id, now) }, 200},
	}
	for _, tok := range tokens {
		for _, marker := range []bool{false, true} {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				for _, fast := range []bool{true, false} {
					// A fresh connection each, so that the fast path sees
					// the request: a connection net/http answered on stays
					// with it for a while.
					hdr := map[string]string{"Connection": "close"}
					if marker {
						hdr[proxiedHeader] = "1"
					}
					if !fast {
						// Beyond the fast path's request head limit (8 KiB).
						hdr["X-Pad"] = strings.Repeat("p", 9<<10)
					}
					t.Run(fmt.Sprintf("source %s marker=%v %s fast=%v", tok.name, marker, method, fast), func(t *testing.T) {
						resp, body := fetch(t, method, tok.url(source), hdr)
						if resp.StatusCode != tok.status {
							t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tok.status, body)
						}
						if tok.status == 200 && method == http.MethodGet && !bytes.Equal(body, content) {
							t.Fatalf("body %q", body)
						}
					})
				}
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run("proxied "+tok.name+" "+method, func(t *testing.T) {
				resp, body := fetch(t, method, tok.url(peer), nil)
				if resp.StatusCode != tok.status {
					t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tok.status, body)
				}
				if tok.status == 200 && method == http.MethodGet && !bytes.Equal(body, content) {
					t.Fatalf("body %q", body)
				}
			})
		}
	}
	// At the peer a marked request is checked too, then never proxied
	// again: a 404 rather than a second hop.
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"marked without token at the peer", peer + "/" + id, 403},
		{"marked with valid token at the peer", signed(peer, id, now), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := fetch(t, http.MethodGet, tc.url, map[string]string{proxiedHeader: "1"})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// A Range header of 20,000 one-byte ranges gets the whole file (200) rather
// than a multipart answer many times the request's size; ranges that
// overlap come back as one.
func TestManyRanges(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1, StorageConf: []string{"url_have_group_name = true"}})
	content := make([]byte, 64<<10)
	rand.Read(content)
	id, err := c.Client.Upload(context.Background(), bytes.NewReader(content), int64(len(content)), client.UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + sourceOf(t, c, id).HTTPAddr() + "/" + id
	var many strings.Builder
	many.WriteString("bytes=0-0")
	for i := 1; i < 20000; i++ {
		fmt.Fprintf(&many, ",%d-%d", 2*i, 2*i)
	}
	for _, tc := range []struct {
		name   string
		rng    string
		status int
		body   []byte
	}{
		{"20000 ranges", many.String(), 200, content},
		{"overlapping", "bytes=0-99,50-149,150-199", 206, content[:200]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(t, http.MethodGet, url, map[string]string{"Range": tc.rng})
			if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) {
				t.Fatalf("status %d, %d bytes (%s); want %d, %d bytes", resp.StatusCode, len(body), resp.Header.Get("Content-Type"), tc.status, len(tc.body))
			}
		})
	}
}
