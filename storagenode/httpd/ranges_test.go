package httpd

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/httpfast"
)

// oneByteRanges is a Range header of n one-byte ranges, every other byte
// when step is 2, back to back when it is 1.
func oneByteRanges(n, step int) string {
	b := []byte("bytes=")
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d-%d", step*i, step*i)
	}
	return string(b)
}

// part is one part of a multipart/byteranges answer.
type part struct {
	contentRange string
	data         []byte
}

// readParts splits a multipart/byteranges body.
func readParts(t *testing.T, resp *http.Response, body []byte) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part{p.Header.Get("Content-Range"), data})
	}
}

// A Range header of more than httpfast.MaxRanges ranges gets the whole file
// (200), as nginx's max_ranges does; overlapping and adjacent ranges are
// answered coalesced; other ranges as before.
func TestRangeLimits(t *testing.T) {
	dir := t.TempDir()
	content := make([]byte, 64<<10)
	rand.Read(content)
	name := store(t, dir, localSrc, time.Now(), "bin", content)
	srv := newServer(t, baseConfig(dir))
	size := len(content)
	cr := func(a, b int) string { return fmt.Sprintf("bytes %d-%d/%d", a, b, size) }

	tests := []struct {
		name   string
		rng    string
		slow   bool // a head too big for the fast path: net/http answers
		status int
		body   []byte // a whole or single-range answer
		cr     string // its Content-Range
		parts  []part // a multipart answer
	}{
		{name: "20000 one-byte ranges", rng: oneByteRanges(20000, 2), slow: true, status: 200, body: content},
		{name: "one over the limit", rng: oneByteRanges(httpfast.MaxRanges+1, 2), status: 200, body: content},
		{name: "one over the limit, net/http", rng: oneByteRanges(httpfast.MaxRanges+1, 2), slow: true, status: 200, body: content},
		{name: "adjacent", rng: oneByteRanges(100, 1), status: 206, body: content[:100], cr: cr(0, 99)},
		{name: "adjacent, net/http", rng: oneByteRanges(100, 1), slow: true, status: 206, body: content[:100], cr: cr(0, 99)},
		{name: "overlapping", rng: "bytes=0-9,5-14", status: 206, body: content[:15], cr: cr(0, 14)},
		{name: "whole file twice", rng: "bytes=0-,0-", status: 206, body: content, cr: cr(0, size-1)},
		{name: "merged and sorted", rng: "bytes=500-509,0-4,3-9", status: 206, parts: []part{
			{cr(0, 9), content[0:10]}, {cr(500, 509), content[500:510]},
		}},
		{name: "disjoint, client order", rng: "bytes=100-109,0-9", status: 206, parts: []part{
			{cr(100, 109), content[100:110]}, {cr(0, 9), content[0:10]},
		}},
		{name: "single", rng: "bytes=10-19", status: 206, body: content[10:20], cr: cr(10, 19)},
		{name: "unsatisfiable", rng: "bytes=70000-,80000-", status: 416},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh connection each: one that net/http answered on stays
			// with it for a while.
			hdr := map[string]string{"Range": tc.rng, "Connection": "close"}
			if tc.slow {
				hdr["X-Pad"] = padHeader
			}
			resp, body := get(t, http.MethodGet, srv.URL+"/group1/"+name, hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%d bytes, %s)", resp.StatusCode, tc.status, len(body), resp.Header.Get("Content-Type"))
			}
			if tc.body != nil && (!bytes.Equal(body, tc.body) || resp.Header.Get("Content-Range") != tc.cr) {
				t.Fatalf("%d bytes, Content-Range %q; want %d bytes, %q", len(body), resp.Header.Get("Content-Range"), len(tc.body), tc.cr)
			}
			// The fast path signs its answers; net/http does not.
			if fast := resp.Header.Get("Server") == "fdfs"; tc.body != nil && fast == tc.slow {
				t.Fatalf("answered by the fast path: %v", fast)
			}
			if tc.parts == nil {
				return
			}
			got := readParts(t, resp, body)
			if len(got) != len(tc.parts) {
				t.Fatalf("%d parts, want %d", len(got), len(tc.parts))
			}
			for i, p := range got {
				if p.contentRange != tc.parts[i].contentRange || !bytes.Equal(p.data, tc.parts[i].data) {
					t.Fatalf("part %d: %q (%d bytes), want %q", i, p.contentRange, len(p.data), tc.parts[i].contentRange)
				}
			}
		})
	}

	t.Run("at the limit", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, srv.URL+"/group1/"+name, map[string]string{"Range": oneByteRanges(httpfast.MaxRanges, 2)})
		if resp.StatusCode != 206 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if parts := readParts(t, resp, body); len(parts) != httpfast.MaxRanges || !bytes.Equal(parts[7].data, content[14:15]) {
			t.Fatalf("%d parts", len(parts))
		}
	})
	t.Run("multi_range disabled", func(t *testing.T) {
		cfg := baseConfig(dir)
		cfg.MultiRange = false
		off := newServer(t, cfg)
		for _, rng := range []string{"bytes=0-4,10-14", "bytes=0-4,5-9"} {
			resp, body := get(t, http.MethodGet, off.URL+"/group1/"+name, map[string]string{"Range": rng})
			if resp.StatusCode != 200 || !bytes.Equal(body, content) {
				t.Fatalf("%s: status %d, %d bytes", rng, resp.StatusCode, len(body))
			}
		}
	})
}

// The token_check_fail file is served with the same range limits.
func TestRangeLimitsOnTokenFailFile(t *testing.T) {
	dir := t.TempDir()
	name := store(t, dir, localSrc, time.Now(), "txt", []byte("protected"))
	denied := make([]byte, 64<<10)
	rand.Read(denied)
	cfg := baseConfig(dir)
	cfg.CheckToken, cfg.Secret, cfg.TokenTTL = true, testSecret, 900*time.Second
	cfg.TokenCheckFailFile = filepath.Join(t.TempDir(), "denied.jpg")
	if err := os.WriteFile(cfg.TokenCheckFailFile, denied, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, cfg)
	for _, tc := range []struct {
		rng    string
		status int
		body   []byte
	}{
		{oneByteRanges(20000, 2), 200, denied},
		{"bytes=0-9,5-14", 206, denied[:15]},
	} {
		resp, body := get(t, http.MethodGet, srv.URL+"/group1/"+name, map[string]string{"Range": tc.rng})
		if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) {
			t.Fatalf("%.40s: status %d, %d bytes; want %d, %d bytes", tc.rng, resp.StatusCode, len(body), tc.status, len(tc.body))
		}
	}
}
