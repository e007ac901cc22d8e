package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// The flood test's daemons: tracker on .156, storage on .157 (its HTTP
// port too); the flood connections are made from .158.
const (
	floodTrackerIP = "127.0.0.156"
	floodStorageIP = "127.0.0.157"
	floodSourceIP  = "127.0.0.158"
	floodHTTPPort  = 8080

	floodMaxConns   = 64
	floodNetTimeout = 2 * time.Second // network_timeout of both daemons
	floodIdle       = 2000            // idle connections per port
	floodSlow       = 200             // slowloris connections per port
	floodTrickle    = 500 * time.Millisecond
)

const floodTrackerConf = trackerConf + `max_connections = 64
network_timeout = 2
`

const floodStorageConf = storageConf + `max_connections = 64
network_timeout = 2
http.server_port = 8080
`

// floodConn is one connection of a flood; done is closed once the server
// closed it (a read returned EOF or an error).
type floodConn struct {
	c      net.Conn
	dialed time.Time
	closed atomic.Int64 // UnixNano when the server closed it, 0 while open
	done   chan struct{}
}

func (f *floodConn) held() time.Duration {
	if n := f.closed.Load(); n != 0 {
		return time.Unix(0, n).Sub(f.dialed)
	}
	return time.Since(f.dialed)
}

// flood is the connections of one kind to one port.
type flood struct {
	name   string
	addr   string
	conns  []*floodConn
	failed int // dials that failed
}

// dialFlood opens n connections to addr from floodSourceIP, 64 at a time.
// Each connection then only reads, to see when the server closes it; first
// (when not nil) is written at once and then the rest of the bytes one by
// one, every floodTrickle, a slowloris.
func dialFlood(t *testing.T, name, addr string, n int, first, rest []byte) *flood {
	return dialFloodFrom(t, floodSourceIP, name, addr, n, first, rest)
}

// dialFloodFrom is dialFlood from the address src.
func dialFloodFrom(t *testing.T, src, name, addr string, n int, first, rest []byte) *flood {
	f := &flood{name: name, addr: addr}
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := d.Dial("tcp", addr)
			<-sem
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.failed++
				return
			}
			fc := &floodConn{c: c, dialed: time.Now(), done: make(chan struct{})}
			f.conns = append(f.conns, fc)
			go func() {
				var b [512]byte
				for {
					if _, err := c.Read(b[:]); err != nil {
						fc.closed.Store(time.Now().UnixNano())
						close(fc.done)
						return
					}
				}
			}()
			if first != nil {
				go func() {
					if _, err := c.Write(first); err != nil {
						return
					}
					for _, b := range rest {
						select {
						case <-fc.done:
							return
						case <-time.After(floodTrickle):
						}
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, fc := range f.conns {
			fc.c.Close()
		}
	})
	return f
}

// through counts the connections the server did not close at once: held
// for at least floodNetTimeout/2 (one refused beyond max_connections is
// closed within milliseconds; an accepted one is kept at least until its
// network_timeout).
func (f *flood) through() int {
	n := 0
	for _, fc := range f.conns {
		if fc.held() >= floodNetTimeout/2 {
			n++
		}
	}
	return n
}

func (f *flood) open() int {
	n := 0
	for _, fc := range f.conns {
		if fc.closed.Load() == 0 {
			n++
		}
	}
	return n
}

func (f *flood) maxHeld() time.Duration {
	var m time.Duration
	for _, fc := range f.conns {
		m = max(m, fc.held())
	}
	return m.Round(100 * time.Millisecond)
}

// waitClosed waits until the server has closed every connection.
func (f *flood) waitClosed(t *testing.T) {
	t.Helper()
	testwait.Until(t, waitLimit, f.name+": every flood connection closed by the server", func() bool {
		return f.open() == 0
	})
}

// rssKB is VmRSS of a process, in kB.
func rssKB(t *testing.T, p *proc) int {
	t.Helper()
	n, err := vmRSS(p.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("%s: %v", p.kind, err)
	}
	return int(n)
}

// rssNow is VmRSS of a process in kB, 0 if it cannot be read (rssKB for
// the same in a test's goroutine, where a failure must not stop the test).
func rssNow(p *proc) int {
	n, _ := vmRSS(p.cmd.Process.Pid)
	return int(n)
}

// alive fails the test if the daemon exited.
func (p *proc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited during the flood (see its output)", p.kind)
	default:
	}
}

// wellBehaved is the client that keeps working during the floods: cycles of
// upload + download + delete through the tracker and the storage port, by
// one long-lived client (its pooled connections were opened before the
// flood) and by a new client each time (new connections); and HTTP GETs of
// one file on the storage's HTTP port, each on a new connection.
type wellBehaved struct {
	cl      *client.Client
	tracker string // for the fresh clients
	url     string
	want    []byte
	hc      *http.Client

	mu                   sync.Mutex
	ok, bad              int // cycles of cl
	freshOK, freshBad    int // cycles of a new client each
	httpOK, httpBad      int
	lastErr, lastHTTPErr string
	lastFreshErr         string
}

func (w *wellBehaved) cycle(seed uint64) error { return w.cycleWith(w.cl, seed) }

// freshCycle is a cycle of a new client, whose connections are all new.
func (w *wellBehaved) freshCycle(seed uint64) error {
	cl, err := client.New(client.Config{Trackers: []string{w.tracker}, ConnectTimeout: 2 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer cl.Close()
	return w.cycleWith(cl, seed)
}

func (w *wellBehaved) cycleWith(cl *client.Client, seed uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	b := content(seed, 10<<10)
	id, err := cl.Upload(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "bin"})
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	var got bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &got); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if !bytes.Equal(got.Bytes(), b) {
		return fmt.Errorf("download of %s: %d bytes that differ from the upload", id, got.Len())
	}
	if err := cl.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

func (w *wellBehaved) get() error {
	resp, err := w.hc.Get(w.url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, w.want) {
		return fmt.Errorf("status %d, %d bytes", resp.StatusCode, len(b))
	}
	return nil
}

// run loops until stop; a failure is followed by a short pause so that a
// refused client does not spin.
func (w *wellBehaved) run(stop <-chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for seed := uint64(1 << 45); ; seed++ {
			select {
			case <-stop:
				return
			default:
			}
			err := w.freshCycle(seed)
			w.mu.Lock()
			if err == nil {
				w.freshOK++
			} else {
				w.freshBad++
				w.lastFreshErr = err.Error()
			}
			w.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		for seed := uint64(1 << 40); ; seed++ {
			select {
			case <-stop:
				return
			default:
			}
			err := w.cycle(seed)
			w.mu.Lock()
			if err == nil {
				w.ok++
			} else {
				w.bad++
				w.lastErr = err.Error()
			}
			w.mu.Unlock()
			if err != nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := w.get()
			w.mu.Lock()
			if err == nil {
				w.httpOK++
			} else {
				w.httpBad++
				w.lastHTTPErr = err.Error()
			}
			w.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return wg.Wait
}

// counts summarizes the counters and resets them; it returns the HTTP
// failures apart.
func (w *wellBehaved) counts() (summary string, httpBad int, lastHTTPErr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	summary = fmt.Sprintf("pooled client cycles %d ok, %d failed (last: %q); fresh client cycles %d ok, %d failed (last: %q); HTTP GETs %d ok, %d failed (last: %q)",
		w.ok, w.bad, w.lastErr, w.freshOK, w.freshBad, w.lastFreshErr, w.httpOK, w.httpBad, w.lastHTTPErr)
	httpBad, lastHTTPErr = w.httpBad, w.lastHTTPErr
	w.ok, w.bad, w.freshOK, w.freshBad, w.httpOK, w.httpBad = 0, 0, 0, 0, 0, 0
	w.lastErr, w.lastFreshErr, w.lastHTTPErr = "", "", ""
	return
}

// recovered waits (bounded) for a successful cycle once the server has
// dropped the flood, then requires 10 more cycles without a failure: with
// the flood's connections closed, max_connections has free slots and
// nothing may fail.
func (w *wellBehaved) recovered(t *testing.T, what string) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	testwait.Until(t, waitLimit, what+": a client cycle succeeds again", func() bool {
		last = w.freshCycle(uint64(time.Now().UnixNano()))
		return last == nil
	})
	took := time.Since(start)
	for i := range 10 {
		if err := w.cycle(uint64(1<<50 + i)); err != nil {
			t.Errorf("%s: cycle %d after the flood was dropped: %v", what, i, err)
		}
		if err := w.freshCycle(uint64(1<<51 + i)); err != nil {
			t.Errorf("%s: fresh client cycle %d after the flood was dropped: %v", what, i, err)
		}
		if err := w.get(); err != nil {
			t.Errorf("%s: HTTP GET %d after the flood was dropped: %v", what, i, err)
		}
	}
	return took
}

// TestConnectionFloods floods the real tracker and storage (max_connections
// 64, network_timeout 2 s) with idle connections and with slowloris ones,
// on the tracker port, the storage port and the storage's HTTP port, while
// a well-behaved client keeps working. See docs/reliability.md ("Floods of
// connections") for what is expected and the figures of a run.
func TestConnectionFloods(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	taddr := net.JoinHostPort(floodTrackerIP, fmt.Sprint(trackerPort))
	saddr := net.JoinHostPort(floodStorageIP, fmt.Sprint(storagePort))
	haddr := net.JoinHostPort(floodStorageIP, fmt.Sprint(floodHTTPPort))
	tbase := filepath.Join(dir, "tracker")
	mkdir(t, tbase)
	tconf := writeConf(t, filepath.Join(dir, "tracker.conf"), floodTrackerConf, floodTrackerIP, trackerPort, tbase)
	c := &cluster{}
	c.tracker = newProc(t, "tracker", tconf, taddr, filepath.Join(dir, "tracker.log"))
	c.tracker.start()
	sbase := filepath.Join(dir, "storage")
	store := filepath.Join(sbase, "path0")
	mkdir(t, store)
	sconf := writeConf(t, filepath.Join(dir, "storage.conf"), floodStorageConf, group, floodStorageIP, storagePort, sbase, store, "tracker_server = "+taddr)
	st := newProc(t, "storage", sconf, saddr, filepath.Join(dir, "storage.log"))
	st.start()
	c.storages, c.groups = []*proc{st}, []string{group}
	cl, err := client.New(client.Config{Trackers: []string{taddr}, ConnectTimeout: 2 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	c.client = cl
	c.waitActive(t)

	// The file of the HTTP GETs.
	want := content(7, 64<<10)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	id, err := cl.Upload(ctx, bytes.NewReader(want), int64(len(want)), client.UploadOptions{Ext: "bin"})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	w := &wellBehaved{cl: cl, tracker: taddr, url: "http://" + haddr + "/" + id, want: want,
		hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	testwait.For(t, waitLimit, "HTTP GET of the uploaded file", w.get)
	for i := range 5 {
		if err := w.cycle(uint64(i)); err != nil {
			t.Fatalf("cycle before the flood: %v", err)
		}
	}

	rss := map[string][3]int{} // daemon -> before, peak during, after
	sample := func(i int) {
		for _, p := range []*proc{c.tracker, st} {
			v := rss[p.kind]
			v[i] = max(v[i], rssKB(t, p))
			rss[p.kind] = v
		}
	}
	sample(0)
	stop := make(chan struct{})
	wait := w.run(stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wait()
		}
	}()

	// 1. Idle connections: they send nothing. Beyond max_connections the
	// tracker and the storage accept and close at once; the ones within it
	// are kept until network_timeout (2x on the tracker, which reads a
	// header within two network timeouts). The HTTP port has no limit:
	// every connection is kept until its idle timeout (2x network_timeout).
	ports := []struct{ name, addr string }{{"tracker", taddr}, {"storage", saddr}, {"http", haddr}}
	var idle []*flood
	for _, p := range ports {
		idle = append(idle, dialFlood(t, "idle "+p.name, p.addr, floodIdle, nil, nil))
	}
	sample(1)
	time.Sleep(floodNetTimeout / 2)
	sample(1)
	sum, hbad, lastHTTPErr := w.counts()
	t.Logf("idle flood held: %s", sum)
	if hbad != 0 {
		t.Errorf("idle flood: %d HTTP GETs failed (last: %s); the HTTP port has no connection limit", hbad, lastHTTPErr)
	}
	for _, f := range idle {
		f.waitClosed(t)
		t.Logf("%s: %d dialed (%d dials failed), %d got through (not closed at once), held at most %v", f.name, len(f.conns), f.failed, f.through(), f.maxHeld())
	}
	for _, f := range idle[:2] {
		// The others are the storage's link to the tracker and the
		// well-behaved client's connections.
		if n := f.through(); n > floodMaxConns || n < floodMaxConns-8 {
			t.Errorf("%s: %d connections got through, want max_connections (%d) minus the few others hold", f.name, n, floodMaxConns)
		}
	}
	if f := idle[2]; f.through() != len(f.conns) {
		t.Errorf("%s: %d of %d connections got through; the HTTP port has no connection limit", f.name, f.through(), len(f.conns))
	}
	sum, hbad, lastHTTPErr = w.counts()
	t.Logf("idle flood, until the servers closed it: %s", sum)
	if hbad != 0 {
		t.Errorf("idle flood: %d HTTP GETs failed (last: %s)", hbad, lastHTTPErr)
	}
	close(stop)
	wait()
	t.Logf("idle flood: client service back %v after the servers closed the flood", w.recovered(t, "idle flood").Round(time.Millisecond))
	c.tracker.alive(t)
	st.alive(t)

	// 2. Slowloris: the first bytes of a header, then one byte every
	// floodTrickle up to one byte short of a full header (tracker, storage)
	// or of a request line and headers that never end (HTTP), then silence.
	stop = make(chan struct{})
	wait = w.run(stop)
	hdr := protocol.Header{Length: 0, Cmd: protocol.CmdQueryStoreWithoutGroupOne}.Bytes()
	req := []byte("GET /" + id + " HTTP/1.1\r\nHost: x\r\n")
	slow := []*flood{
		dialFlood(t, "slowloris tracker", taddr, floodSlow, hdr[:2], hdr[2:len(hdr)-1]),
		dialFlood(t, "slowloris storage", saddr, floodSlow, hdr[:2], hdr[2:len(hdr)-1]),
		dialFlood(t, "slowloris http", haddr, floodSlow, req[:4], req[4:]),
	}
	sample(1)
	time.Sleep(floodNetTimeout / 2)
	sample(1)
	for _, f := range slow {
		f.waitClosed(t)
		t.Logf("%s: %d dialed (%d dials failed), %d got through, held at most %v", f.name, len(f.conns), f.failed, f.through(), f.maxHeld())
	}
	for _, f := range slow[:2] {
		if n := f.through(); n > floodMaxConns {
			t.Errorf("%s: %d connections got through, more than max_connections (%d)", f.name, n, floodMaxConns)
		}
	}
	close(stop)
	wait()
	sum, hbad, lastHTTPErr = w.counts()
	t.Logf("slowloris, until the servers closed it: %s", sum)
	if hbad != 0 {
		t.Errorf("slowloris: %d HTTP GETs failed (last: %s); the HTTP port has no connection limit", hbad, lastHTTPErr)
	}
	t.Logf("slowloris: client service back %v after the servers closed the flood", w.recovered(t, "slowloris").Round(time.Millisecond))
	c.tracker.alive(t)
	st.alive(t)

	sample(2)
	for _, kind := range []string{"tracker", "storage"} {
		v := rss[kind]
		t.Logf("%s VmRSS: before %d kB, during (peak of samples) %d kB, after %d kB", kind, v[0], v[1], v[2])
		if limit := 10*v[0] + 200<<10; v[1] > limit || v[2] > limit {
			t.Errorf("%s VmRSS grew from %d kB to %d kB during, %d kB after (bound %d kB)", kind, v[0], v[1], v[2], limit)
		}
	}
}
