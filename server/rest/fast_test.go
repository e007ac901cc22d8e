package rest_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/internal/httpfast"
	"github.com/fdfsgo/fdfs/server/rest"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// fastEnv serves the raw routes of one cluster behind the fast path the
// way the gateway does, except that a request with an X-Slow header is
// always left to net/http: the same request can be answered both ways.
type fastEnv struct {
	c    *cluster.Cluster
	addr string
	fast atomic.Int64 // requests the fast path answered
}

func startFastEnv(t *testing.T) *fastEnv {
	t.Helper()
	e := &fastEnv{c: cluster.Start(t, cluster.Options{Storages: 1})}
	mux := runtime.NewServeMux()
	h, err := rest.Register(mux, rest.Options{Client: e.c.Client, IOTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		mux.ServeHTTP(w, r)
	})}
	answer := func(ctx context.Context, c net.Conn, r *httpfast.Request) (keep, ok bool) {
		if r.Has("X-Slow") {
			return false, false
		}
		d, ok := rest.MatchFast(r)
		if !ok {
			return false, false
		}
		e.fast.Add(1)
		keep = h.ServeFast(ctx, c, r, d, r.Header("X-Request-Id"), func(int, int64) {})
		return keep, true
	}
	srv := httpfast.New(answer, slow, time.Minute, time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return e
}

func (e *fastEnv) upload(t *testing.T, content []byte, ext string) string {
	t.Helper()
	id, err := e.c.Client.Upload(context.Background(), bytes.NewReader(content), int64(len(content)), client.UploadOptions{Ext: ext})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// response is what a client can observe of an answer.
type response struct {
	status string
	proto  string
	header http.Header // without Date
	body   string
	close  bool
}

// roundTrip sends raw on a new connection and reads one response to a
// request of method.
func (e *fastEnv) roundTrip(t *testing.T, raw, method string) response {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute)) // a failure must not hang the test
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
		t.Errorf("%q: Date %q", raw, resp.Header.Get("Date"))
	}
	resp.Header.Del("Date")
	return response{resp.Status, resp.Proto, resp.Header, string(b), resp.Close}
}

// TestFastMatchesNetHTTP sends each request once through the fast path and
// once through net/http and wants the same answer, headers included.
func TestFastMatchesNetHTTP(t *testing.T) {
	e := startFastEnv(t)
	small := []byte("a small text file\n")
	txt := e.upload(t, small, "txt")
	noExt := e.upload(t, []byte("no extension"), "")
	limit := e.upload(t, bytes.Repeat([]byte("L"), rest.FastMaxSize), "jpg")
	large := e.upload(t, bytes.Repeat([]byte("B"), rest.FastMaxSize+1), "bin")
	empty := e.upload(t, nil, "txt")
	gone := e.upload(t, []byte("deleted"), "txt")
	if err := e.c.Client.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	appender, err := e.c.Client.UploadAppender(context.Background(), strings.NewReader("app"), 3, client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatal(err)
	}
	noGroup := "group9" + strings.TrimPrefix(txt, "group1")

	tests := []struct {
		name    string
		method  string
		target  string
		extra   string // header lines
		proto   string // default HTTP/1.1
		fast    bool   // the fast path answers it
		status  int
		bodyHas string
	}{
		{"small", "GET", "/v1/files/" + txt + ":download", "X-Request-Id: r-1\r\n", "", true, 200, string(small)},
		{"no extension", "GET", "/v1/files/" + noExt + ":download", "", "", true, 200, ""},
		{"largest fast", "GET", "/v1/files/" + limit + ":download", "", "", true, 200, ""},
		{"head", "HEAD", "/v1/files/" + txt + ":download", "", "", true, 200, ""},
		{"head of a large file", "HEAD", "/v1/files/" + large + ":download", "", "", true, 200, ""},
		{"missing", "GET", "/v1/files/" + gone + ":download", "X-Request-Id: r-2\r\n", "", true, 404, `"code":5`},
		{"head of a missing file", "HEAD", "/v1/files/" + gone + ":download", "", "", true, 404, ""},
		{"unknown group", "GET", "/v1/files/" + noGroup + ":download", "", "", true, 0, ""},
		{"http/1.0", "GET", "/v1/files/" + txt + ":download", "", "HTTP/1.0", true, 200, ""},
		{"http/1.0 keep-alive", "GET", "/v1/files/" + txt + ":download", "Connection: keep-alive\r\n", "HTTP/1.0", true, 200, ""},
		{"close", "GET", "/v1/files/" + txt + ":download", "Connection: close\r\n", "", true, 200, ""},
		{"missing, closing", "GET", "/v1/files/" + gone + ":download", "Connection: close\r\n", "", true, 404, ""},
		{"authorization ignored here", "GET", "/v1/files/" + txt + ":download", "Authorization: Bearer x\r\n", "", true, 200, ""},

		{"large", "GET", "/v1/files/" + large + ":download", "", "", false, 200, ""},
		{"empty", "GET", "/v1/files/" + empty + ":download", "", "", false, 200, ""},
		{"appender", "GET", "/v1/files/" + appender + ":download", "", "", false, 200, ""},
		{"range", "GET", "/v1/files/" + txt + ":download", "Range: bytes=0-3\r\n", "", false, 206, ""},
		{"if-none-match", "GET", "/v1/files/" + txt + ":download", "If-None-Match: \"x\"\r\n", "", false, 200, ""},
		{"if-modified-since", "GET", "/v1/files/" + txt + ":download", "If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\n", "", false, 200, ""},
		{"filename", "GET", "/v1/files/" + txt + ":download?filename=a.txt", "", "", false, 200, ""},
		{"empty query", "GET", "/v1/files/" + txt + ":download?", "", "", false, 200, ""},
		{"escaped", "GET", "/v1/files/" + strings.Replace(txt, "/M00", "%2FM00", 1) + ":download", "", "", false, 200, ""},
		{"unclean path", "GET", "/v1/files/group1/M00/../M00/" + strings.TrimPrefix(txt, "group1/M00/") + ":download", "", "", false, 0, ""},
		{"bad id", "GET", "/v1/files/group1/nonsense:download", "", "", false, 400, ""},
		{"te trailers", "GET", "/v1/files/" + gone + ":download", "TE: trailers\r\n", "", false, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proto := tc.proto
			if proto == "" {
				proto = "HTTP/1.1"
			}
			raw := tc.method + " " + tc.target + " " + proto + "\r\nHost: x\r\n" + tc.extra
			before := e.fast.Load()
			got := e.roundTrip(t, raw+"\r\n", tc.method)
			fast := e.fast.Load() - before
			if fast == 1 != tc.fast {
				t.Errorf("fast path answers: %d, want %v", fast, tc.fast)
			}
			want := e.roundTrip(t, raw+"X-Slow: 1\r\n\r\n", tc.method)
			if e.fast.Load() != before+fast {
				t.Error("the fast path answered an X-Slow request")
			}
			if got.status != want.status || got.proto != want.proto || got.body != want.body || got.close != want.close {
				t.Errorf("got %s %s close=%v %.100q\nwant %s %s close=%v %.100q", got.proto, got.status, got.close, got.body,
					want.proto, want.status, want.close, want.body)
			}
			if g, w := headerText(got.header), headerText(want.header); g != w {
				t.Errorf("headers:\n%s\nwant:\n%s", g, w)
			}
			if tc.status != 0 && !strings.HasPrefix(got.status, strconv.Itoa(tc.status)+" ") {
				t.Errorf("status %s, want %d", got.status, tc.status)
			}
			if !strings.Contains(got.body, tc.bodyHas) {
				t.Errorf("body %.200q lacks %q", got.body, tc.bodyHas)
			}
		})
	}
}

// headerText lists h sorted, one field a line.
func headerText(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
}
