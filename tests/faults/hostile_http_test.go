package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
)

// rawHTTP sends req, a whole HTTP/1.1 request written as is (no client
// normalises its path), on a new connection and returns the status (0
// when the server closed without an answer) and up to 1 MiB of the body.
// A server that neither answers nor closes within waitLimit fails the test.
func rawHTTP(t *testing.T, addr string, req []byte) (int, []byte) {
	t.Helper()
	return rawHTTPClose(t, addr, req, false)
}

// rawHTTPClose is rawHTTP, half-closing the connection after the request
// when closeWrite is set (a client gone mid-request).
func rawHTTPClose(t *testing.T, addr string, req []byte, closeWrite bool) (int, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	go func() {
		c.Write(req) // the server may answer and close before the end
		if closeWrite {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s neither answered nor closed within %v", addr, waitLimit)
		}
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

// request is an HTTP/1.1 request with the given request target and extra
// header lines ("Name: value", CRLF-joined) and body, Connection: close.
func request(method, target, headers string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: fdfs\r\nConnection: close\r\n", method, target)
	if headers != "" {
		b.WriteString(headers + "\r\n")
	}
	if body != nil && !strings.Contains(strings.ToLower(headers), "content-length") && !strings.Contains(strings.ToLower(headers), "transfer-encoding") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// tokenURL is the storage HTTP path of id with a token valid at ts.
func (e *hostileEnv) tokenURL(id string, ts int64) string {
	_, name, _ := fileid.Split(id)
	return fmt.Sprintf("/%s?token=%s&ts=%d", id, httptoken.Make(name, hoSecret, ts), ts)
}

// httpGet is a GET of target on the storage's HTTP port.
func (e *hostileEnv) httpGet(t *testing.T, target string) (int, []byte) {
	t.Helper()
	return rawHTTP(t, e.httpAddr, request("GET", target, "", nil))
}

// restDo is one request to the gateway's REST port.
func (e *hostileEnv) restDo(t *testing.T, method, target, headers string, body []byte) (int, []byte) {
	t.Helper()
	return rawHTTP(t, e.g.httpAddr, request(method, target, headers, body))
}

// malformedHTTP are requests whose framing is hostile, for both HTTP
// listeners: the request line and headers, then the body. Each must get a
// 4xx or a closed connection.
func malformedHTTP(path, auth string) map[string][]byte {
	long := strings.Repeat("a", 2<<20)
	many := strings.Repeat("X-Many: 1\r\n", 20000)
	request := func(method, target, headers string, body []byte) []byte {
		if auth != "" {
			headers = strings.TrimPrefix(headers+"\r\n"+auth, "\r\n")
		}
		return request(method, target, headers, body)
	}
	return map[string][]byte{
		"2 MiB header":                   request("GET", path, "X-Big: "+long, nil),
		"20,000 headers":                 []byte("GET " + path + " HTTP/1.1\r\nHost: fdfs\r\n" + many + "\r\n"),
		"100 KB request target":          request("GET", path+"?"+strings.Repeat("q", 100<<10), "", nil),
		"content-length -1":              request("POST", path, "Content-Length: -1", []byte("x")),
		"content-length abc":             request("POST", path, "Content-Length: abc", []byte("x")),
		"content-length overflow":        request("POST", path, "Content-Length: 99999999999999999999", []byte("x")),
		"two content-lengths":            request("POST", path, "Content-Length: 1\r\nContent-Length: 2", []byte("xx")),
		"content-length list":            request("POST", path, "Content-Length: 1, 2", []byte("xx")),
		"chunked and content-length":     request("POST", path, "Transfer-Encoding: chunked\r\nContent-Length: 5", []byte("0\r\n\r\n")),
		"chunk size overflow":            request("POST", path, "Transfer-Encoding: chunked", []byte("fffffffffffffffff1\r\nx\r\n0\r\n\r\n")),
		"chunk size negative":            request("POST", path, "Transfer-Encoding: chunked", []byte("-1\r\nx\r\n0\r\n\r\n")),
		"chunk size not hex":             request("POST", path, "Transfer-Encoding: chunked", []byte("zz\r\nx\r\n0\r\n\r\n")),
		"chunk extension 1 MiB":          request("POST", path, "Transfer-Encoding: chunked", []byte("1;"+strings.Repeat("e", 1<<20)+"\r\nx\r\n0\r\n\r\n")),
		"chunk longer than its size":     request("POST", path, "Transfer-Encoding: chunked", []byte("1\r\nxxxxxx\r\n0\r\n\r\n")),
		"gzip, chunked":                  request("POST", path, "Transfer-Encoding: gzip, chunked", []byte("0\r\n\r\n")),
		"chunked, identity":              request("POST", path, "Transfer-Encoding: chunked, identity", []byte("0\r\n\r\n")),
		"chunked cut, then close":        request("POST", path, "Transfer-Encoding: chunked", []byte("100\r\nabc")),
		"obs-fold header":                []byte("GET " + path + " HTTP/1.1\r\nHost: fdfs\r\nX-A: 1\r\n folded\r\n\r\n"),
		"NUL in a header":                request("GET", path, "X-A: a\x00b", nil),
		"HTTP/9.9":                       []byte("GET " + path + " HTTP/9.9\r\nHost: fdfs\r\n\r\n"),
		"no Host":                        []byte("GET " + path + " HTTP/1.1\r\n\r\n"),
		"space in the target":            []byte("GET " + path + " x HTTP/1.1\r\nHost: fdfs\r\n\r\n"),
		"absolute-form target elsewhere": request("GET", "http://127.0.0.1:1"+path, "", nil),
		"request line only, then close":  []byte("GET " + path + " HTTP/1.1\r\n"),
	}
}

// legitHTTP are the requests of malformedHTTP that are valid HTTP/1.1:
// net/http joins an obs-fold line (RFC 9112 5.2 allows it), takes an
// absolute-form target as its path, and 20,000 short headers fit the
// storage's 1 MiB of headers. With a valid token the file is served.
var legitHTTP = map[string]bool{"obs-fold header": true, "absolute-form target elsewhere": true, "20,000 headers": true}

// refused reports whether code is a refusal of the malformed request
// label: a closed connection, a 4xx, or the 501 and 505 RFC 9112 asks for
// an unknown transfer coding or HTTP version.
func refused(label string, code int) bool {
	switch {
	case code == 0 || code/100 == 4:
		return true
	case code == http.StatusNotImplemented:
		return label == "gzip, chunked" || label == "chunked, identity"
	case code == http.StatusHTTPVersionNotSupported:
		return label == "HTTP/9.9"
	}
	return false
}

// storageHTTP attacks the storage's HTTP port: traversal in every
// encoding (with a token computed with the secret over the hostile name,
// so that only the path checks stand in the way), malformed requests.
func (e *hostileEnv) storageHTTP(t *testing.T) {
	ts := time.Now().Unix()
	n := 0
	for label, name := range e.traversals() {
		for _, target := range []string{
			"/" + group + "/" + name,
			"/" + group + "/" + name + "?token=" + httptoken.Make(name, hoSecret, ts) + fmt.Sprintf("&ts=%d", ts),
			"/" + name, // without the group
			"/" + group + "/" + strings.ReplaceAll(name, "/", "%2f"),
		} {
			n++
			target = strings.NewReplacer(" ", "%20", "\x00", "%00").Replace(target)
			code, body := e.httpGet(t, target)
			served(t, label, body)
			if code/100 == 2 || code/100 == 5 {
				t.Errorf("%s: GET %.80q: %d", label, target, code)
			}
		}
	}
	for _, g := range hostileGroups {
		n++
		code, body := e.httpGet(t, "/"+strings.ReplaceAll(g, "\x00", "%00")+"/"+mustName(e.file))
		served(t, g, body)
		if code/100 == 2 || code/100 == 5 {
			t.Errorf("group %q: %d", g, code)
		}
	}
	for label, req := range malformedHTTP(e.tokenURL(e.file, ts), "") {
		n++
		code, body := rawHTTPClose(t, e.httpAddr, req, strings.HasSuffix(label, "then close"))
		served(t, label, body)
		if legitHTTP[label] && code == http.StatusOK && bytes.Equal(body, e.fileBytes) {
			continue
		}
		if !refused(label, code) {
			t.Errorf("%s: %d", label, code)
		}
	}
	t.Logf("%d storage HTTP requests", n)
}

// tokens sends forged, expired and truncated anti-steal tokens for a
// stored file: all 403, nothing served; the valid token is served.
func (e *hostileEnv) tokens(t *testing.T) {
	_, name, _ := fileid.Split(e.file)
	_, other, _ := fileid.Split(e.appender)
	now := time.Now().Unix()
	valid := httptoken.Make(name, hoSecret, now)
	flip := func(s string) string {
		b := []byte(s)
		b[len(b)-1] ^= 1
		return string(b)
	}
	cases := []struct {
		label, query string
		code         int
	}{
		{"valid", fmt.Sprintf("token=%s&ts=%d", valid, now), 200},
		{"no token", "", 403},
		{"no ts", "token=" + valid, 403},
		{"last hex digit flipped", fmt.Sprintf("token=%s&ts=%d", flip(valid), now), 403},
		{"uppercase hex", fmt.Sprintf("token=%s&ts=%d", strings.ToUpper(valid), now), 403},
		{"truncated to 31", fmt.Sprintf("token=%s&ts=%d", valid[:31], now), 403},
		{"33 characters", fmt.Sprintf("token=%s0&ts=%d", valid, now), 403},
		{"empty token", fmt.Sprintf("token=&ts=%d", now), 403},
		{"ts moved by one", fmt.Sprintf("token=%s&ts=%d", valid, now+1), 403},
		{"ts not a number", "token=" + valid + "&ts=abc", 403},
		{"ts 2^63", "token=" + valid + "&ts=9223372036854775808", 403},
		{"expired (ts 1000 s old, ttl 900)", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(name, hoSecret, now-1000), now-1000), 403},
		{"forged without the secret", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(name, "", now), now), 403},
		{"forged with the group in the path", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(group+"/"+name, hoSecret, now), now), 403},
		{"another file's token", fmt.Sprintf("token=%s&ts=%d", httptoken.Make(other, hoSecret, now), now), 403},
		{"ts 0 forged", "token=" + httptoken.Make(name, "guess", 0) + "&ts=0", 403},
		{"two tokens, valid second", fmt.Sprintf("token=%s&token=%s&ts=%d", flip(valid), valid, now), 403},
		{"%00 after the token", fmt.Sprintf("token=%s%%00&ts=%d", valid, now), 403},
	}
	for _, tc := range cases {
		for _, method := range []string{"GET", "HEAD"} {
			target := "/" + e.file + "?" + tc.query
			code, body := rawHTTP(t, e.httpAddr, request(method, target, "", nil))
			if method == "HEAD" {
				// http.ReadResponse cannot tell a HEAD answer's empty body.
				code, body = headStatus(t, e.httpAddr, target), nil
			}
			if code != tc.code {
				t.Errorf("%s %s: %d, want %d", method, tc.label, code, tc.code)
			}
			if code == 200 && method == "GET" && !bytes.Equal(body, e.fileBytes) {
				t.Errorf("%s: %d bytes that differ", tc.label, len(body))
			}
			if tc.code == 403 && bytes.Contains(body, e.fileBytes[:64]) {
				t.Errorf("%s %s: the refusal carries the file's content", method, tc.label)
			}
		}
	}
	t.Logf("%d token cases, GET and HEAD", len(cases))
}

// headStatus is the status of a HEAD request.
func headStatus(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	c.Write(request("HEAD", target, "", nil))
	req, _ := http.NewRequest("HEAD", "http://"+addr+target, nil)
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
