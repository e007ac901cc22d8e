package httpfast

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// seen is what net/http made of a request: the fields parse must agree on.
type seen struct {
	method, path, query, proto string
	close                      bool
	header                     http.Header
}

// netHTTP serves heads with a real net/http server on loopback and says
// what it made of each: nil when it refused the request.
type netHTTP struct {
	addr string
	got  chan seen
}

func startNetHTTP(f *testing.F) *netHTTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	n := &netHTTP{addr: ln.Addr().String(), got: make(chan seen, 1)}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.got <- seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Proto, r.Close, r.Header.Clone()}
		})}
	go srv.Serve(ln)
	f.Cleanup(func() { srv.Close() })
	return n
}

// serve sends head and returns what the handler saw, or false when
// net/http answered without calling it (a 4xx for a request it refuses).
func (n *netHTTP) serve(t *testing.T, head string) (seen, bool) {
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: no answer from net/http: %v", head, err)
	}
	resp.Body.Close()
	select {
	case s := <-n.got:
		return s, true
	default:
		return seen{}, false
	}
}

// FuzzParseAgreesWithNetHTTP: a head the fast path accepts is one net/http
// accepts too (its request line with runs of SP made single, the one
// leniency parse allows), read the same way: method, path, query,
// version, whether the connection stays open, and every field's first
// value. A disagreement would let a request mean one thing on the fast
// path and another on the net/http fallback of the same port.
func FuzzParseAgreesWithNetHTTP(f *testing.F) {
	for _, s := range [][2]string{
		{"GET /a/b?x=1 HTTP/1.1", "Host: x"},
		{"HEAD /a%20b HTTP/1.1", "Host: x\r\nConnection: TE, Close"},
		{"GET  /a?redirect=1  HTTP/1.0", "Connection: keep-alive"},
		{"GET /a HTTP/1.1", "Host: \t x \t\r\nRange: bytes=0-9\r\nContent-Length: 0"},
		{"GET /%zz HTTP/1.1", "Host: x"},
		{"GET /a HTTP/1.1", "Host: [::1]:80\r\nX-A: \x80\xff\r\nx-a: 2"},
		{"GET /\u0085 HTTP/1.0", ""}, // U+0085 is Unicode space, not a separator
	} {
		f.Add(s[0], s[1])
	}
	n := startNetHTTP(f)
	f.Fuzz(func(t *testing.T, line, fields string) {
		head := line + "\r\n" + fields + "\r\n\r\n"
		if len(head) > 4096 {
			return
		}
		head = head[:strings.Index(head, "\r\n\r\n")+4]
		var r Request
		if !r.parse(head) {
			return
		}
		line, rest, _ := strings.Cut(head, "\r\n")
		single := strings.Join(strings.FieldsFunc(line, func(r rune) bool { return r == ' ' }), " ")
		if strings.Count(single, " ") != 2 {
			t.Fatalf("%q accepted with request line %q", head, line)
		}
		s, ok := n.serve(t, single+"\r\n"+rest)
		if !ok {
			t.Fatalf("%q: accepted here, refused by net/http", head)
		}
		if s.method != r.Method || s.path != r.Path || s.query != r.RawQuery || s.proto != r.Proto || s.close == r.KeepAlive {
			t.Fatalf("%q: here %s %q ?%q %s keep-alive %v; net/http %s %q ?%q %s close %v",
				head, r.Method, r.Path, r.RawQuery, r.Proto, r.KeepAlive, s.method, s.path, s.query, s.proto, s.close)
		}
		for name := range r.Fields() {
			if strings.EqualFold(name, "Host") {
				continue // net/http moves it to Request.Host
			}
			if got, want := r.Header(name), s.header.Get(name); got != want {
				t.Fatalf("%q: field %s is %q here, %q for net/http", head, name, got, want)
			}
		}
	})
}

// FuzzParseRanges: whatever the header, the ranges returned lie inside the
// file, are not empty, do not overlap, are at most MaxRanges, and
// ParseRange agrees with ParseRanges on a header of one range.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=5-", "bytes=0-0,2-3,1-1", "bytes=9-1", "bytes= 1 - 2 ", "bytes=-0"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		rs, err := ParseRanges(h, size)
		if err == nil && (len(rs) == 0 || len(rs) > MaxRanges) {
			t.Fatalf("%q of %d: %d ranges and no error", h, size, len(rs))
		}
		for i, r := range rs {
			if r.Start < 0 || r.Length <= 0 || r.Start > size-r.Length {
				t.Fatalf("%q of %d: range %+v outside the file", h, size, r)
			}
			for _, o := range rs[:i] {
				if r.Start < o.Start+o.Length && o.Start < r.Start+r.Length {
					t.Fatalf("%q of %d: %+v overlaps %+v", h, size, r, o)
				}
			}
		}
		start, length, err1 := ParseRange(h, size)
		if err1 == nil && (err != nil || len(rs) != 1 || rs[0] != (Range{start, length})) {
			t.Fatalf("%q of %d: ParseRange %d+%d, ParseRanges %+v %v", h, size, start, length, rs, err)
		}
	})
}
