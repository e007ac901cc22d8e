package httpd

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawExchange writes raw request bytes on one connection and reads n
// responses.
func rawExchange(t *testing.T, addr, raw string, n int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", len(out)+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		out = append(out, resp)
	}
	return out
}

func readBody(t *testing.T, r *http.Response) []byte {
	t.Helper()
	b, _ := io.ReadAll(r.Body)
	return b
}

func TestFastPathWire(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("abcdefghij"), 10_000) // 100 KB: over smallFileBytes
	small := []byte("small file body")
	big := store(t, dir, localSrc, time.Now(), "bin", content)
	name := store(t, dir, localSrc, time.Now(), "txt", small)
	srv := newServer(t, baseConfig(dir))
	addr := strings.TrimPrefix(srv.URL, "http://")
	get := func(n string, extra string) string {
		return "GET /group1/" + n + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n"
	}

	t.Run("pipelined, second handed to net/http", func(t *testing.T) {
		rs := rawExchange(t, addr, get(name, "")+get(big, "Range: bytes=0-1,4-5\r\n")+get(name, "Range: bytes=1-3\r\n"), 3)
		if rs[0].StatusCode != 200 || !bytes.Equal(readBody(t, rs[0]), small) {
			t.Fatalf("first: %d", rs[0].StatusCode)
		}
		if rs[1].StatusCode != 206 || !strings.HasPrefix(rs[1].Header.Get("Content-Type"), "multipart/byteranges") {
			t.Fatalf("second: %d %q", rs[1].StatusCode, rs[1].Header.Get("Content-Type"))
		}
		if rs[2].StatusCode != 206 || string(readBody(t, rs[2])) != "mal" {
			t.Fatalf("third: %d", rs[2].StatusCode)
		}
	})
	t.Run("big file by sendfile", func(t *testing.T) {
		rs := rawExchange(t, addr, get(big, "")+get(big, "Range: bytes=1000-\r\n")+get(name, ""), 3)
		if rs[0].StatusCode != 200 || !bytes.Equal(readBody(t, rs[0]), content) {
			t.Fatalf("whole: %d", rs[0].StatusCode)
		}
		if rs[1].StatusCode != 206 || !bytes.Equal(readBody(t, rs[1]), content[1000:]) ||
			rs[1].Header.Get("Content-Range") != "bytes 1000-99999/100000" {
			t.Fatalf("range: %d %q", rs[1].StatusCode, rs[1].Header.Get("Content-Range"))
		}
		if rs[2].StatusCode != 200 || !bytes.Equal(readBody(t, rs[2]), small) {
			t.Fatalf("after: %d", rs[2].StatusCode)
		}
	})
	t.Run("big file, small range in one write", func(t *testing.T) {
		rs := rawExchange(t, addr, get(big, "Range: bytes=70000-\r\n"), 1)
		if rs[0].StatusCode != 206 || !bytes.Equal(readBody(t, rs[0]), content[70000:]) ||
			rs[0].Header.Get("Content-Range") != "bytes 70000-99999/100000" {
			t.Fatalf("%d %q", rs[0].StatusCode, rs[0].Header.Get("Content-Range"))
		}
	})
	t.Run("http/1.0 closes", func(t *testing.T) {
		rs := rawExchange(t, addr, "GET /group1/"+name+" HTTP/1.0\r\n\r\n", 1)
		if rs[0].StatusCode != 200 || !rs[0].Close {
			t.Fatalf("%d close=%v", rs[0].StatusCode, rs[0].Close)
		}
	})
	t.Run("bare LF goes to net/http", func(t *testing.T) {
		rs := rawExchange(t, addr, "GET /group1/"+name+" HTTP/1.1\nHost: x\nRange: bytes=0-4\n\n", 1)
		if rs[0].StatusCode != 206 || string(readBody(t, rs[0])) != "small" {
			t.Fatalf("%d", rs[0].StatusCode)
		}
	})
	t.Run("head beyond the fast path's limit", func(t *testing.T) {
		rs := rawExchange(t, addr, get(name, "X-Big: "+strings.Repeat("a", 20<<10)+"\r\n")+get(name, ""), 2)
		if rs[0].StatusCode != 200 || rs[1].StatusCode != 200 || !bytes.Equal(readBody(t, rs[1]), small) {
			t.Fatalf("%d %d", rs[0].StatusCode, rs[1].StatusCode)
		}
	})
	t.Run("method and body", func(t *testing.T) {
		rs := rawExchange(t, addr, "POST /group1/"+name+" HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 1)
		if rs[0].StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%d", rs[0].StatusCode)
		}
	})
	t.Run("if-modified-since and etag", func(t *testing.T) {
		first := rawExchange(t, addr, get(name, ""), 1)[0]
		rs := rawExchange(t, addr, get(name, "If-None-Match: W/"+first.Header.Get("ETag")+"\r\n")+
			get(name, "If-Modified-Since: "+first.Header.Get("Last-Modified")+"\r\n")+
			get(name, "If-None-Match: \"other\"\r\n"), 3)
		if rs[0].StatusCode != 304 || rs[1].StatusCode != 304 || rs[2].StatusCode != 200 {
			t.Fatalf("%d %d %d", rs[0].StatusCode, rs[1].StatusCode, rs[2].StatusCode)
		}
	})
}
