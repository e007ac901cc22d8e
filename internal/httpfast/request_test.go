package httpfast

import (
	"net/http"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const host = "Host: x\r\n"
	tests := []struct {
		name string
		head string
		ok   bool
		// When ok:
		method, path, query string
		keepAlive           bool
	}{
		{"get", "GET /a/b?x=1 HTTP/1.1\r\n" + host + "\r\n", true, "GET", "/a/b", "x=1", true},
		{"head", "HEAD /a HTTP/1.1\r\n" + host + "\r\n", true, "HEAD", "/a", "", true},
		{"escaped path", "GET /a%20b HTTP/1.1\r\n" + host + "\r\n", true, "GET", "/a b", "", true},
		{"close", "GET /a HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", true, "GET", "/a", "", false},
		{"close among tokens", "GET /a HTTP/1.1\r\n" + host + "Connection: TE, Close\r\n\r\n", true, "GET", "/a", "", false},
		{"http/1.0", "GET /a HTTP/1.0\r\n\r\n", true, "GET", "/a", "", false},
		{"http/1.0 keep-alive", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, "GET", "/a", "", true},
		{"http/1.0 keep-alive then close", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", true, "GET", "/a", "", false},
		{"empty body announced", "GET /a HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", true, "GET", "/a", "", true},
		{"runs of SP in the request line", "GET  /a?redirect=1  HTTP/1.0\r\n\r\n", true, "GET", "/a", "redirect=1", false},
		{"value trimmed", "GET /a HTTP/1.1\r\nHost: \t x \t\r\n\r\n", true, "GET", "/a", "", true},

		{"post", "POST /a HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
		{"lower-case method", "get /a HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\n", false, "", "", "", false},
		{"http/1.2", "GET /a HTTP/1.2\r\n" + host + "\r\n", false, "", "", "", false},
		{"absolute form", "GET http://x/a HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
		{"asterisk", "GET * HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
		{"space in target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
		{"no proto", "GET /a\r\n" + host + "\r\n", false, "", "", "", false},
		{"no proto after spaces", "GET /a  \r\n" + host + "\r\n", false, "", "", "", false},
		{"tab for SP", "GET\t/a HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
		{"bare LF", "GET /a HTTP/1.1\n" + "Host: x\n\n", false, "", "", "", false},
		{"bare LF in a header", "GET /a HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", false, "", "", "", false},
		{"folding", "GET /a HTTP/1.1\r\n" + host + "X-A: 1\r\n 2\r\n\r\n", false, "", "", "", false},
		{"space before colon", "GET /a HTTP/1.1\r\n" + host + "X-A : 1\r\n\r\n", false, "", "", "", false},
		{"no colon", "GET /a HTTP/1.1\r\n" + host + "X-A\r\n\r\n", false, "", "", "", false},
		{"bad name", "GET /a HTTP/1.1\r\n" + host + "X(A): 1\r\n\r\n", false, "", "", "", false},
		{"control byte in value", "GET /a HTTP/1.1\r\n" + host + "X-A: 1\x01\r\n\r\n", false, "", "", "", false},
		{"body", "GET /a HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\n", false, "", "", "", false},
		{"chunked", "GET /a HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n", false, "", "", "", false},
		{"expect", "GET /a HTTP/1.1\r\n" + host + "Expect: 100-continue\r\n\r\n", false, "", "", "", false},
		{"upgrade", "GET /a HTTP/1.1\r\n" + host + "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false, "", "", "", false},
		{"no host", "GET /a HTTP/1.1\r\n\r\n", false, "", "", "", false},
		{"two hosts", "GET /a HTTP/1.1\r\n" + host + host + "\r\n", false, "", "", "", false},
		{"bad host", "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n", false, "", "", "", false},
		{"control byte in target", "GET /a\x7f HTTP/1.1\r\n" + host + "\r\n", false, "", "", "", false},
	}
	var r Request
	for _, tc := range tests {
		ok := r.parse(tc.head)
		if ok != tc.ok {
			t.Errorf("%s: parse = %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if ok && (r.Method != tc.method || r.Path != tc.path || r.RawQuery != tc.query || r.KeepAlive != tc.keepAlive) {
			t.Errorf("%s: got %s %q ?%q keep-alive %v", tc.name, r.Method, r.Path, r.RawQuery, r.KeepAlive)
		}
	}
}

func TestHeaderLookup(t *testing.T) {
	var r Request
	if !r.parse("GET /a HTTP/1.1\r\nHost: h\r\nX-Key: one\r\nx-key: two\r\nX-Empty:\r\n\r\n") {
		t.Fatal("not parsed")
	}
	for _, tc := range []struct {
		name, value string
		has         bool
	}{
		{"x-KEY", "one", true}, // the first, as http.Header.Get
		{"Host", "h", true},
		{"X-Empty", "", true},
		{"X-Missing", "", false},
	} {
		if got, has := r.Header(tc.name), r.Has(tc.name); got != tc.value || has != tc.has {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got, has, tc.value, tc.has)
		}
	}
	var names []string
	for k, v := range r.Fields() {
		names = append(names, k+"="+v)
	}
	if got := strings.Join(names, ","); got != "Host=h,X-Key=one,x-key=two,X-Empty=" {
		t.Errorf("Fields: %s", got)
	}
}

func TestResponseFraming(t *testing.T) {
	tests := []struct {
		head       string
		code       int
		statusLine string
		connection string // the Connection line, "" for none
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200, "HTTP/1.1 200 OK\r\n", ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, "HTTP/1.1 404 Not Found\r\n", "Connection: close\r\n"},
		{"GET / HTTP/1.0\r\n\r\n", 200, "HTTP/1.0 200 OK\r\n", ""},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 599, "HTTP/1.0 599 status code 599\r\n", "Connection: keep-alive\r\n"},
	}
	for _, tc := range tests {
		var r Request
		if !r.parse(tc.head) {
			t.Fatalf("%q not parsed", tc.head)
		}
		if got := string(r.AppendStatusLine(nil, tc.code)); got != tc.statusLine {
			t.Errorf("%q: status line %q, want %q", tc.head, got, tc.statusLine)
		}
		date, rest, _ := strings.Cut(string(r.AppendHeadEnd(nil)), "\r\n")
		if _, err := http.ParseTime(strings.TrimPrefix(date, "Date: ")); err != nil || rest != tc.connection+"\r\n" {
			t.Errorf("%q: head end %q then %q, want a Date then %q", tc.head, date, rest, tc.connection+"\r\n")
		}
	}
}
