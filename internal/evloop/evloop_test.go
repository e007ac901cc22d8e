//go:build linux

package evloop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Commands of the test protocol: cmdEcho is answered on the loop with its
// body, cmdBig with a reply of as many KiB as its body's first byte says,
// cmdQuit drops the connection, cmdLater is handed off by Serve,
// cmdPanic panics in it, anything else is detached and answered by
// the handler's goroutine with its body reversed.
const (
	cmdEcho  = 1
	cmdBig   = 2
	cmdQuit  = 3
	cmdLater = 4 // handed off by Serve
	cmdPanic = 5
	cmdSlow  = 9
)

type testHandler struct {
	refuse   atomic.Bool
	open     atomic.Int32
	closed   atomic.Int32
	detached atomic.Int32
	pending  chan []byte            // what Detach got, for the tests that look
	onClosed atomic.Pointer[func()] // called by the next Closed
	wg       sync.WaitGroup
}

func (h *testHandler) Open(*Conn) bool {
	if h.refuse.Load() {
		return false
	}
	h.open.Add(1)
	return true
}

func (h *testHandler) Inline(_ *Conn, hd protocol.Header) bool { return hd.Cmd < cmdSlow }

func (h *testHandler) Serve(_ *Conn, hd protocol.Header, body, out []byte) ([]byte, Action) {
	switch hd.Cmd {
	case cmdQuit:
		return out, Close
	case cmdBig:
		return appendPacket(out, bytes.Repeat([]byte{'x'}, int(body[0])<<10)), Next
	case cmdLater:
		return appendPacket(out, []byte("not kept")), Handoff
	case cmdPanic:
		panic("a bug")
	}
	return appendPacket(out, body), Next
}

func (h *testHandler) Detach(_ *Conn, nc net.Conn, pending []byte) {
	h.detached.Add(1)
	if h.pending != nil {
		h.pending <- pending
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer nc.Close()
		r := bufio.NewReader(io.MultiReader(bytes.NewReader(pending), nc))
		for {
			hd, err := protocol.ReadHeader(r)
			if err != nil {
				return
			}
			body, err := protocol.ReadBody(r, hd, 1<<20)
			if err != nil {
				return
			}
			rev := make([]byte, len(body))
			for i, b := range body {
				rev[len(body)-1-i] = b
			}
			if _, err := nc.Write(appendPacket(nil, rev)); err != nil {
				return
			}
		}
	}()
}

func (h *testHandler) Closed(*Conn) {
	h.closed.Add(1)
	if f := h.onClosed.Swap(nil); f != nil {
		(*f)()
	}
}

func appendPacket(out, body []byte) []byte {
	return protocol.AppendPacket(out, protocol.CmdResp, 0, body)
}

func request(cmd byte, body []byte) []byte { return protocol.AppendPacket(nil, cmd, 0, body) }

// bothWaits runs test with the loops blocking in epoll_wait and parking in
// Go's netpoller (Config.Park).
func bothWaits(t *testing.T, test func(t *testing.T, park bool)) {
	for _, park := range []bool{false, true} {
		t.Run(map[bool]string{false: "blocking", true: "parked"}[park], func(t *testing.T) { test(t, park) })
	}
}

func start(t *testing.T, h *testHandler, idle time.Duration, park bool) (*Server, string) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	s, err := New(Config{Listener: ln, WorkThreads: 2, Idle: idle, Park: park, Handler: h, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); h.wg.Wait() })
	return s, addr
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func readReply(t *testing.T, r io.Reader) []byte {
	t.Helper()
	body, err := protocol.ReadResponse(r, 64<<20)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return body
}

// TestServe sends requests in the ways clients do: whole, pipelined, the
// header and body in separate writes (as the C and Java clients with
// Nagle on), one byte at a time, and bodies larger than one read.
func TestServe(t *testing.T) { bothWaits(t, testServe) }

func testServe(t *testing.T, park bool) {
	long := bytes.Repeat([]byte("0123456789abcdef"), 4000) // 64,000 bytes: several reads
	tests := []struct {
		name   string
		writes [][]byte
		want   [][]byte
	}{
		{"whole", [][]byte{request(cmdEcho, []byte("hello"))}, [][]byte{[]byte("hello")}},
		{"empty body", [][]byte{request(cmdEcho, nil)}, [][]byte{{}}},
		{"pipelined", [][]byte{append(append(request(cmdEcho, []byte("a")), request(cmdEcho, []byte("bb"))...),
			request(cmdEcho, []byte("ccc"))...)}, [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")}},
		{"header then body", [][]byte{request(cmdEcho, []byte("body"))[:protocol.HeaderSize], []byte("body")},
			[][]byte{[]byte("body")}},
		{"bytes", split(request(cmdEcho, []byte("slowly")), 1), [][]byte{[]byte("slowly")}},
		{"request and a half", [][]byte{append(request(cmdEcho, []byte("one")), request(cmdEcho, []byte("two"))[:12]...),
			request(cmdEcho, []byte("two"))[12:]}, [][]byte{[]byte("one"), []byte("two")}},
		{"long body", split(request(cmdEcho, long), 5000), [][]byte{long}},
	}
	h := &testHandler{}
	_, addr := start(t, h, 0, park)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			for _, w := range tt.writes {
				if _, err := c.Write(w); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			for _, want := range tt.want {
				if got := readReply(t, c); !bytes.Equal(got, want) {
					t.Fatalf("reply %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), want, len(want))
				}
			}
		})
	}
	if h.detached.Load() != 0 {
		t.Fatalf("%d connections detached, want none", h.detached.Load())
	}
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

// TestDetach: a request the handler does not take inline hands the
// connection over with that request and what followed it, after the
// replies to the requests before it.
func TestDetach(t *testing.T) { bothWaits(t, testDetach) }

func testDetach(t *testing.T, park bool) {
	h := &testHandler{pending: make(chan []byte, 1)}
	_, addr := start(t, h, 0, park)
	c := dial(t, addr)
	slow, after := request(cmdSlow, []byte("abc")), request(cmdEcho, []byte("xyz"))
	if _, err := c.Write(append(append(request(cmdEcho, []byte("first")), slow...), after...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "cba", "zyx"} {
		if got := readReply(t, c); string(got) != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	if got := <-h.pending; !bytes.Equal(got, append(slow, after...)) {
		t.Fatalf("Detach got %q, want the slow request and the one after it", got)
	}
	if h.closed.Load() != 0 {
		t.Fatal("a detached connection was reported closed by the loop")
	}
}

// TestHandoff: Serve may decide on seeing the body that the request is
// not the loop's; its half-made reply is dropped.
func TestHandoff(t *testing.T) { bothWaits(t, testHandoff) }

func testHandoff(t *testing.T, park bool) {
	h := &testHandler{pending: make(chan []byte, 1)}
	_, addr := start(t, h, 0, park)
	c := dial(t, addr)
	later := request(cmdLater, []byte("12345"))
	c.Write(append(request(cmdEcho, []byte("now")), later...))
	for _, want := range []string{"now", "54321"} {
		if got := readReply(t, c); string(got) != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	if got := <-h.pending; !bytes.Equal(got, later) {
		t.Fatalf("Detach got %q, want %q", got, later)
	}
}

// TestPanic: a panic in Serve closes that connection only.
func TestPanic(t *testing.T) { bothWaits(t, testPanic) }

func testPanic(t *testing.T, park bool) {
	h := &testHandler{}
	_, addr := start(t, h, 0, park)
	c := dial(t, addr)
	c.Write(request(cmdPanic, nil))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read after a panic = %v, want EOF", err)
	}
	other := dial(t, addr)
	other.Write(request(cmdEcho, []byte("ok")))
	if got := readReply(t, other); string(got) != "ok" {
		t.Fatalf("reply %q after a panic elsewhere", got)
	}
}

// TestBadHeader: a negative length is not the loop's to judge: the
// handler gets the connection with the header.
func TestBadHeader(t *testing.T) { bothWaits(t, testBadHeader) }

func testBadHeader(t *testing.T, park bool) {
	h := &testHandler{pending: make(chan []byte, 1)}
	_, addr := start(t, h, 0, park)
	c := dial(t, addr)
	bad := make([]byte, protocol.HeaderSize)
	binary.BigEndian.PutUint64(bad, 1<<63)
	bad[8] = cmdEcho
	c.Write(bad)
	if got := <-h.pending; !bytes.Equal(got, bad) {
		t.Fatalf("Detach got %x, want the header %x", got, bad)
	}
}

// TestSlowReader: replies a client does not read fill the socket; the
// loop keeps serving the others and writes the rest when it can.
func TestSlowReader(t *testing.T) { bothWaits(t, testSlowReader) }

func testSlowReader(t *testing.T, park bool) {
	h := &testHandler{}
	_, addr := start(t, h, 0, park)
	slow := dial(t, addr)
	slow.(*net.TCPConn).SetReadBuffer(64 << 10)                                           // no autotuning up to 32 MiB
	if _, err := slow.Write(bytes.Repeat(request(cmdBig, []byte{255}), 64)); err != nil { // 16 MiB: more than the socket buffers hold
		t.Fatal(err)
	}
	for i := range 8 {
		other := dial(t, addr) // its loop may be the slow one's
		other.Write(request(cmdEcho, []byte{byte(i)}))
		if got := readReply(t, other); !bytes.Equal(got, []byte{byte(i)}) {
			t.Fatalf("reply %x, want %x", got, i)
		}
	}
	r := bufio.NewReader(slow)
	for range 64 {
		if got := readReply(t, r); len(got) != 255<<10 {
			t.Fatalf("reply of %d bytes, want %d", len(got), 255<<10)
		}
	}
	slow.Write(request(cmdEcho, []byte("still here")))
	if got := readReply(t, r); string(got) != "still here" {
		t.Fatalf("reply %q after the backlog", got)
	}
}

// TestClosing covers every way the loop ends a connection.
func TestClosing(t *testing.T) { bothWaits(t, testClosing) }

func testClosing(t *testing.T, park bool) {
	h := &testHandler{}
	s, addr := start(t, h, 300*time.Millisecond, park)
	eof := func(c net.Conn) {
		t.Helper()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("read = %v, want EOF", err)
		}
	}
	quit := dial(t, addr)
	quit.Write(append(append(request(cmdEcho, []byte("bye")), request(cmdQuit, nil)...), request(cmdEcho, []byte("never"))...))
	if got := readReply(t, quit); string(got) != "bye" {
		t.Fatalf("reply %q before QUIT", got)
	}
	eof(quit)

	idle := dial(t, addr)
	began := time.Now()
	eof(idle) // the sweep runs every second
	if d := time.Since(began); d < 300*time.Millisecond {
		t.Fatalf("idle connection closed after %v, before the idle limit", d)
	}

	// Trickling a request does not keep a connection: only whole ones do.
	trickle := dial(t, addr)
	stop := make(chan struct{})
	go func() {
		for _, b := range request(cmdEcho, bytes.Repeat([]byte{'t'}, 100)) {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := trickle.Write([]byte{b}); err != nil {
					return
				}
			}
		}
	}()
	eof(trickle)
	close(stop)

	h.refuse.Store(true)
	eof(dial(t, addr))
	h.refuse.Store(false)

	open := dial(t, addr)
	open.Write(request(cmdEcho, []byte("x")))
	readReply(t, open)
	closed := make(chan struct{})
	check := func() {
		// Before Close returns, while it closes the connections: the
		// listener refuses already.
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Error("the listener accepted a connection during Close")
		}
		close(closed)
	}
	h.onClosed.Store(&check)
	s.Close()
	<-closed
	eof(open)
	if o, c := h.open.Load(), h.closed.Load(); o != 4 || c != 4 {
		t.Fatalf("opened %d, closed %d: want 4 and 4", o, c)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the listener still accepts after Close")
	}
}

// TestPeerLeaves: a client that closes or resets is closed and reported.
func TestPeerLeaves(t *testing.T) { bothWaits(t, testPeerLeaves) }

func testPeerLeaves(t *testing.T, park bool) {
	h := &testHandler{}
	_, addr := start(t, h, 0, park)
	for _, reset := range []bool{false, true} {
		c := dial(t, addr)
		c.Write(request(cmdEcho, []byte("x")))
		readReply(t, c)
		if reset {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Write(request(cmdEcho, []byte("half"))[:5]) // leaves a partial request behind
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.closed.Load() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 connections reported closed", h.closed.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoopCount(t *testing.T) {
	tests := []struct{ workThreads, procs, want int }{
		{4, 2, 1}, {4, 1, 1}, {4, 8, 4}, {4, 16, 4}, {0, 8, 1}, {2, 64, 2},
	}
	for _, tt := range tests {
		if got := loopCount(tt.workThreads, tt.procs); got != tt.want {
			t.Errorf("loopCount(%d, %d) = %d, want %d", tt.workThreads, tt.procs, got, tt.want)
		}
	}
}

// TestParkedWait: an idle loop waits in Go's netpoller with Park (the
// goroutine dump's "IO wait"), in epoll_wait without it ("syscall"), and
// with Park it still wakes for a request.
func TestParkedWait(t *testing.T) {
	for _, tt := range []struct {
		park bool
		want string
	}{{false, "[syscall"}, {true, "[IO wait"}} {
		t.Run(fmt.Sprint("park=", tt.park), func(t *testing.T) {
			h := &testHandler{}
			_, addr := start(t, h, 0, tt.park)
			c := dial(t, addr)
			c.Write(request(cmdEcho, []byte("x")))
			readReply(t, c)
			deadline := time.Now().Add(5 * time.Second)
			for state := loopState(); !strings.HasPrefix(state, tt.want); state = loopState() {
				if time.Now().After(deadline) {
					t.Fatalf("the idle loop's goroutine is %q, want %s...]", state, tt.want)
				}
				time.Sleep(10 * time.Millisecond)
			}
			c.Write(request(cmdEcho, []byte("again")))
			if got := readReply(t, c); string(got) != "again" {
				t.Fatalf("reply %q after waiting", got)
			}
		})
	}
}

// loopState returns the state of a loop goroutine as the goroutine dump
// gives it ("[IO wait]", "[syscall, 2 minutes]"), or "" if there is none.
func loopState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "evloop.(*loop).run(") {
			header, _, _ := strings.Cut(g, "\n")
			if i := strings.Index(header, "["); i >= 0 {
				return header[i:]
			}
		}
	}
	return ""
}

// addrHandler records the peer address of each connection opened.
type addrHandler struct {
	testHandler
	mu    sync.Mutex
	peers map[string]bool
}

func (h *addrHandler) Open(c *Conn) bool {
	h.mu.Lock()
	h.peers[c.RemoteAddr().String()] = true
	h.mu.Unlock()
	return h.testHandler.Open(c)
}

// TestAccept: a burst of connects, more than one queued per wake of the
// listener, each accepted, served, and given its peer's address as the
// peer sees it, over IPv4 and IPv6.
func TestAccept(t *testing.T) {
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		t.Run(ip.String(), func(t *testing.T) {
			ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
			if err != nil {
				t.Skipf("no %s here: %v", ip, err)
			}
			h := &addrHandler{peers: map[string]bool{}}
			s, err := New(Config{Listener: ln, WorkThreads: 2, Handler: h, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			t.Cleanup(func() { s.Close(); h.wg.Wait() })
			var conns []net.Conn
			for range 40 {
				conns = append(conns, dial(t, addr))
			}
			for i, c := range conns {
				body := []byte(fmt.Sprint("conn ", i))
				if _, err := c.Write(request(cmdEcho, body)); err != nil {
					t.Fatal(err)
				}
				if got := readReply(t, c); !bytes.Equal(got, body) {
					t.Fatalf("conn %d: reply %q", i, got)
				}
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, c := range conns {
				if !h.peers[c.LocalAddr().String()] {
					t.Errorf("peer %s not among the addresses the loops gave: %v", c.LocalAddr(), h.peers)
				}
			}
			if len(h.peers) != len(conns) {
				t.Errorf("%d connections opened, want %d", len(h.peers), len(conns))
			}
		})
	}
}

// TestEnvOff: FDFS_EVLOOP=off leaves the listener to the caller.
func TestEnvOff(t *testing.T) {
	t.Setenv(EnvOff, "off")
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(Config{Listener: ln, WorkThreads: 1, Handler: &testHandler{}, Log: slog.Default()})
	if s != nil || err != nil {
		t.Fatalf("New with %s=off: %v, %v; want nil, nil", EnvOff, s, err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ln.SetDeadline(time.Now().Add(10 * time.Second))
	a, err := ln.Accept()
	if err != nil {
		t.Fatalf("the listener was taken over: %v", err)
	}
	a.Close()
}
