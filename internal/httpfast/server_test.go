package httpfast

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testServer runs a Server on a loopback port. Its Answerer answers GET
// and HEAD of /fast/<text> with <text> ("fast" in X-Path); /block/ waits
// for the release channel (or the end of ctx); everything else is
// declined. The net/http fallback echoes the method, path and body with
// X-Path "net/http".
type testServer struct {
	*Server
	addr     string
	answered atomic.Int64
	started  chan struct{} // a /block/ request is being answered
	release  chan struct{} // lets it finish
	served   chan error    // Serve's result
}

func startServer(t *testing.T, idle time.Duration) *testServer {
	t.Helper()
	ts := &testServer{started: make(chan struct{}, 1), release: make(chan struct{}), served: make(chan error, 1)}
	fallback := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", "net/http")
		switch r.URL.Path {
		case "/sized": // framed by the handler, beyond what reclaim holds back
			w.Header().Set("Content-Length", "3000")
			io.WriteString(w, strings.Repeat("s", 3000))
		case "/big": // too big to be framed after the fact: chunked
			io.WriteString(w, strings.Repeat("b", 3000))
		case "/stream": // chunked as well
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			io.WriteString(w, " more")
		default:
			io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
		}
	})}
	ts.Server = New(ts.answer, fallback, idle, time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go func() { ts.served <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ts.Shutdown(ctx)
		<-ts.served
	})
	return ts
}

func (ts *testServer) answer(ctx context.Context, c net.Conn, r *Request) (keep, ok bool) {
	text, fast := strings.CutPrefix(r.Path, "/fast/")
	if _, block := strings.CutPrefix(r.Path, "/block/"); block {
		ts.started <- struct{}{}
		select {
		case <-ts.release:
			text, fast = "released", true
		case <-ctx.Done():
			return false, true
		}
	}
	if !fast {
		return false, false
	}
	ts.answered.Add(1)
	out := r.AppendStatusLine(nil, http.StatusOK)
	out = append(out, "X-Path: fast\r\nContent-Length: "+strconv.Itoa(len(text))+"\r\n"...)
	out = r.AppendHeadEnd(out)
	if r.Method == http.MethodGet {
		out = append(out, text...)
	}
	if _, err := c.Write(out); err != nil {
		return false, true
	}
	return r.KeepAlive, true
}

type reply struct {
	code  int
	path  string // X-Path
	body  string
	close bool
}

// exchange writes raw on a new connection and reads n responses, the
// first to a request of method (HEAD responses have no body), the others
// to GETs.
func exchange(t *testing.T, addr, raw, method string, n int) ([]reply, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute)) // a failure must not hang the test
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []reply
	for i := range n {
		m := http.MethodGet
		if i == 0 {
			m = method
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d: %v", len(out)+1, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, reply{resp.StatusCode, resp.Header.Get("X-Path"), string(b), resp.Close})
	}
	return out, c, br
}

func TestServe(t *testing.T) {
	ts := startServer(t, time.Minute)
	get := func(path, extra string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n" }
	tests := []struct {
		name   string
		raw    string
		method string
		want   []reply
		closed bool // the server closes the connection after the replies
	}{
		{"keep-alive and pipelining", get("/fast/a", "") + get("/fast/b", "") + get("/fast/c", ""), "GET",
			[]reply{{200, "fast", "a", false}, {200, "fast", "b", false}, {200, "fast", "c", false}}, false},
		{"hand-over replays the bytes read, the body included; net/http gives the connection back", get("/fast/a", "") +
			"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get("/fast/c", ""), "GET",
			[]reply{{200, "fast", "a", false}, {200, "net/http", "POST /p hello", false}, {200, "fast", "c", false}}, false},
		{"declined by the answerer", get("/slow", "") + get("/fast/b", ""), "GET",
			[]reply{{200, "net/http", "GET /slow ", false}, {200, "fast", "b", false}}, false},
		{"declined with runs of SP in the request line: net/http gets it with single ones", "GET  /slow  HTTP/1.1\r\nHost: x\r\n\r\n" + get("/fast/b", ""), "GET",
			[]reply{{200, "net/http", "GET /slow ", false}, {200, "fast", "b", false}}, false},
		{"back and forth", get("/slow", "") + get("/fast/b", "") + get("/slow", "") + get("/fast/d", ""), "GET",
			[]reply{{200, "net/http", "GET /slow ", false}, {200, "fast", "b", false}, {200, "net/http", "GET /slow ", false}, {200, "fast", "d", false}}, false},
		{"a bouncing connection is taken back ever more rarely",
			get("/slow", "") + get("/slow", "") + get("/slow", "") + get("/slow", "") +
				get("/fast/b", "") + get("/fast/c", "") + get("/fast/d", "") + get("/fast/e", ""), "GET",
			[]reply{{200, "net/http", "GET /slow ", false}, {200, "net/http", "GET /slow ", false}, // taken back after 1
				{200, "net/http", "GET /slow ", false}, {200, "net/http", "GET /slow ", false}, // after 2
				{200, "net/http", "GET /fast/b ", false}, {200, "net/http", "GET /fast/c ", false},
				{200, "net/http", "GET /fast/d ", false}, {200, "fast", "e", false}}, false}, // after 4
		{"a framed answer gives the connection back", get("/sized", "") + get("/fast/b", ""), "GET",
			[]reply{{200, "net/http", strings.Repeat("s", 3000), false}, {200, "fast", "b", false}}, false},
		{"a head answered by net/http gives the connection back", "HEAD /sized HTTP/1.1\r\nHost: x\r\n\r\n" + get("/fast/b", ""), "HEAD",
			[]reply{{200, "net/http", "", false}, {200, "fast", "b", false}}, false},
		{"a chunked answer keeps the connection in net/http", get("/stream", "") + get("/fast/b", ""), "GET",
			[]reply{{200, "net/http", "first more", false}, {200, "net/http", "GET /fast/b ", false}}, false},
		{"a big unframed answer keeps the connection in net/http", get("/big", "") + get("/fast/b", ""), "GET",
			[]reply{{200, "net/http", strings.Repeat("b", 3000), false}, {200, "net/http", "GET /fast/b ", false}}, false},
		{"expect keeps the connection in net/http", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello" + get("/fast/b", ""), "GET",
			[]reply{{100, "", "", false}, {200, "net/http", "POST /p hello", false}, {200, "net/http", "GET /fast/b ", false}}, false},
		{"head too large for the fast path", get("/fast/a", "X-Big: "+strings.Repeat("b", 10<<10)+"\r\n"), "GET",
			[]reply{{200, "net/http", "GET /fast/a ", false}}, false},
		{"line too long for the buffer", get("/fast/"+strings.Repeat("a", 5000), ""), "GET",
			[]reply{{200, "net/http", "GET /fast/" + strings.Repeat("a", 5000) + " ", false}}, false},
		{"connection close", get("/fast/a", "Connection: close\r\n"), "GET",
			[]reply{{200, "fast", "a", true}}, true},
		{"http/1.0", "GET /fast/a HTTP/1.0\r\n\r\n", "GET", []reply{{200, "fast", "a", true}}, true},
		{"http/1.0 keep-alive", "GET /fast/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/fast/b", ""), "GET",
			[]reply{{200, "fast", "a", false}, {200, "fast", "b", false}}, false},
		{"head", "HEAD /fast/abc HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", []reply{{200, "fast", "", false}}, false},
		{"net/http refuses what it refuses", "GET /fast/a HTTP/1.1\r\n\r\n", "GET",
			[]reply{{400, "", "400 Bad Request: missing required Host header", true}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, c, br := exchange(t, ts.addr, tc.raw, tc.method, len(tc.want))
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("reply %d: %+v, want %+v", i+1, got[i], tc.want[i])
				}
			}
			if tc.closed {
				c.SetReadDeadline(time.Now().Add(time.Minute))
				if n, err := br.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("after the last reply: %d bytes, %v; want EOF", n, err)
				}
			}
		})
	}
}

// TestShutdown checks that Shutdown wakes a connection idle between
// requests, lets a request being answered finish, and does not wait for
// the idle timeout (an hour here: Shutdown would hit its context's
// deadline and report it).
func TestShutdown(t *testing.T) {
	ts := startServer(t, time.Hour)
	idle, idleConn, idleBr := exchange(t, ts.addr, "GET /fast/a HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 1)
	if idle[0].path != "fast" {
		t.Fatalf("%+v", idle[0])
	}
	busy, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// Safety nets: a failure must not hang the test.
	idleConn.SetReadDeadline(time.Now().Add(time.Minute))
	busy.SetReadDeadline(time.Now().Add(time.Minute))
	io.WriteString(busy, "GET /block/ HTTP/1.1\r\nHost: x\r\n\r\n")
	<-ts.started

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(ctx) }()
	// The idle connection is closed without an answer.
	if n, err := idleBr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: %d bytes, %v; want EOF", n, err)
	}
	close(ts.release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("request in flight: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "released" {
		t.Fatalf("request in flight: %q", b)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-ts.served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	ts.served <- http.ErrServerClosed // for the cleanup
	if c, err := net.Dial("tcp", ts.addr); err == nil {
		c.Close()
		t.Error("a connection was accepted after Shutdown")
	}
}

// TestShutdownDeadline checks that when the context ends first, the
// Answerers' context is cancelled and Shutdown reports it.
func TestShutdownDeadline(t *testing.T) {
	ts := startServer(t, time.Hour)
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /block/ HTTP/1.1\r\nHost: x\r\n\r\n")
	<-ts.started
	c.SetReadDeadline(time.Now().Add(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want context.Canceled", err)
	}
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection in flight: %d bytes, %v; want EOF", n, err)
	}
}

func TestPrefixConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.WriteString(b, " world")
	pc := &prefixConn{Conn: a, prefix: []byte("hello")}
	got := make([]byte, 11)
	if _, err := io.ReadFull(pc, got); err != nil || !bytes.Equal(got, []byte("hello world")) {
		t.Fatalf("%q, %v", got, err)
	}
}
