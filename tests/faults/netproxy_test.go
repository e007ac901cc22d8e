package faults

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A fault is what a faultProxy does to the connections of one source.
// The zero value forwards everything at once.
type fault struct {
	up, down flowFault // up: towards the target; down: its answers
	// refuse closes new connections at once with a reset (a partition
	// that answers with ICMP prohibit, or a port closed by a firewall);
	// hang accepts them and never forwards a byte (a peer that accepts
	// TCP and never answers). Existing connections follow up and down.
	refuse, hang bool
}

type flowFault struct {
	blocked bool          // bytes are held until the fault is lifted
	delay   time.Duration // added to every chunk (one-way latency)
	rate    int           // bytes per second, 0 = unlimited
	// stallAfter > 0 passes that many bytes on each connection, then
	// holds the rest (half a response, then silence).
	stallAfter int64
}

var partitioned = fault{up: flowFault{blocked: true}, down: flowFault{blocked: true}, refuse: true}

// faultProxy listens on one address and forwards each connection to
// target, dialing from the address that the source IP maps to (so the
// target sees the address the tracker lists, not the daemon's own
// bind address). The fault of a source IP (or of every other source,
// key "") can change at any time and applies to existing connections too.
type faultProxy struct {
	t      *testing.T
	addr   string // where it listens
	target string
	from   map[string]string // source IP ("" = the others) -> local IP to dial from

	mu      sync.Mutex
	faults  map[string]fault
	changed chan struct{} // closed and replaced on every change
	conns   map[*proxyConn]struct{}
	closed  bool
	ln      net.Listener // nil while SYNs are dropped
	hole    *synHole     // non-nil while SYNs are dropped
	wg      sync.WaitGroup

	// longest is the longest time, in ns, a connection held bytes
	// because of a fault before one of its ends closed it; outlived is the
	// longest a connection was held until the fault was lifted (still
	// open: its ends had not given up).
	longest  atomic.Int64
	outlived atomic.Int64
}

func newFaultProxy(t *testing.T, listen, target string, from map[string]string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, addr: ln.Addr().String(), ln: ln, target: target, from: from, faults: map[string]fault{},
		changed: make(chan struct{}), conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.serve(ln)
	t.Cleanup(p.close)
	return p
}

// set sets the fault of connections from source IP src ("" = the others).
func (p *faultProxy) set(src string, f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[src] = f
	close(p.changed)
	p.changed = make(chan struct{})
}

// heal lifts every fault; the connections held until now count as
// outliving it.
func (p *faultProxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hole != nil {
		p.hole.close()
		p.hole = nil
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			p.t.Errorf("listening again on %s: %v", p.addr, err)
		} else {
			p.ln = ln
			p.wg.Add(1)
			go p.serve(ln)
		}
	}
	for c := range p.conns {
		c.hold(false, true)
	}
	clear(p.faults)
	close(p.changed)
	p.changed = make(chan struct{})
}

// faultOf returns the fault of src and a channel closed at the next change.
func (p *faultProxy) faultOf(src string) (fault, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.faults[src]
	if !ok {
		f = p.faults[""]
	}
	return f, p.changed
}

// stalls returns the longest stall that ended with a close and the
// longest that ended with the fault lifted, and resets both.
func (p *faultProxy) stalls() (closed, outlived time.Duration) {
	return time.Duration(p.longest.Swap(0)), time.Duration(p.outlived.Swap(0))
}

// storeMax raises v to d.
func storeMax(v *atomic.Int64, d int64) {
	for {
		old := v.Load()
		if d <= old || v.CompareAndSwap(old, d) {
			return
		}
	}
}

func (p *faultProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.closeBoth()
	}
	close(p.changed)
	p.changed = make(chan struct{})
	if p.ln != nil {
		p.ln.Close()
	}
	if p.hole != nil {
		p.hole.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *faultProxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c.(*net.TCPConn))
	}
}

// proxyConn is one forwarded connection.
type proxyConn struct {
	p        *faultProxy
	src      string
	in, out  *net.TCPConn
	once     sync.Once
	ended    chan struct{} // closed when either end has closed or failed
	endOnce  sync.Once
	heldMu   sync.Mutex
	heldFrom time.Time // when bytes were first held for the current fault
}

func (c *proxyConn) closeBoth() {
	c.once.Do(func() {
		c.in.Close()
		if c.out != nil {
			c.out.Close()
		}
	})
}

// hold marks the connection as holding bytes because of a fault (on) or
// not any more (off, with outlived telling whether the fault was lifted
// rather than the connection closed), recording the stall.
func (c *proxyConn) hold(on, outlived bool) {
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	switch {
	case on && c.heldFrom.IsZero():
		c.heldFrom = time.Now()
	case !on && !c.heldFrom.IsZero():
		d := int64(time.Since(c.heldFrom))
		if outlived {
			storeMax(&c.p.outlived, d)
		} else {
			storeMax(&c.p.longest, d)
		}
		c.heldFrom = time.Time{}
	}
}

func (p *faultProxy) handle(in *net.TCPConn) {
	defer p.wg.Done()
	src, _, _ := net.SplitHostPort(in.RemoteAddr().String())
	c := &proxyConn{p: p, src: src, in: in, ended: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		in.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		c.closeBoth()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	if !c.admit() {
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	ip, ok := p.from[src]
	if !ok {
		ip = p.from[""]
	}
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	out, err := d.Dial("tcp", p.target)
	if err != nil {
		return
	}
	c.out = out.(*net.TCPConn)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.pipe(in, c.out, true) }()
	go func() { defer wg.Done(); c.pipe(c.out, in, false) }()
	wg.Wait()
}

// admit applies refuse and hang to a new connection: false if it must be
// dropped. A hung connection waits for the fault to change, counting as
// held, and is dropped if its client gives up first.
func (c *proxyConn) admit() bool {
	for {
		f, changed := c.p.faultOf(c.src)
		if f.refuse {
			c.in.SetLinger(0)
			return false
		}
		if !f.hang {
			return true
		}
		c.hold(true, false)
		gone := make(chan struct{})
		go func() {
			// The client closing (or sending: ignored, it is held)
			// ends the wait; one byte read is lost, which is fine for a
			// connection dropped anyway.
			c.in.SetReadDeadline(time.Time{})
			var b [1]byte
			for {
				if _, err := c.in.Read(b[:]); err != nil {
					close(gone)
					return
				}
			}
		}()
		select {
		case <-gone:
			c.hold(false, false)
			return false
		case <-changed:
			c.hold(false, true)
			c.in.SetLinger(0)
			return false
		}
	}
}

// chunk is what one read gave, with when it arrived; nil data is the end.
type chunk struct {
	data []byte
	at   time.Time
}

// pipe copies src to dst through the fault of the direction (up: towards
// the target), a reader and a writer so that delay is latency, not a
// throughput cap.
func (c *proxyConn) pipe(src, dst *net.TCPConn, up bool) {
	q := make(chan chunk, 64)
	stop := make(chan struct{}) // the writer is gone: the reader must not block on q
	defer close(stop)
	send := func(ch chunk) bool {
		select {
		case q <- ch:
			return true
		case <-stop:
			return false
		}
	}
	go func() {
		defer close(q)
		for {
			b := make([]byte, 16<<10)
			n, err := src.Read(b)
			if n > 0 && !send(chunk{b[:n], time.Now()}) {
				return
			}
			if err != nil {
				c.endOnce.Do(func() { close(c.ended) })
				send(chunk{at: time.Now()})
				return
			}
		}
	}()
	var sent int64
	for ch := range q {
		if ch.data == nil {
			// The sender closed: the stall it saw ended here.
			c.hold(false, false)
			if !errors.Is(src.CloseRead(), net.ErrClosed) {
				dst.CloseWrite()
			}
			return
		}
		for len(ch.data) > 0 {
			n, ok := c.release(ch, sent, up)
			if !ok {
				c.closeBoth()
				return
			}
			if _, err := dst.Write(ch.data[:n]); err != nil {
				c.closeBoth()
				return
			}
			sent += int64(n)
			ch.data = ch.data[n:]
		}
	}
}

// release waits until the fault lets bytes of ch through and returns how
// many may go now; false if the connection must end (the proxy closed, or
// the sender gave up while its bytes were held).
func (c *proxyConn) release(ch chunk, sent int64, up bool) (int, bool) {
	for {
		f, changed := c.p.faultOf(c.src)
		ff := f.down
		if up {
			ff = f.up
		}
		n := len(ch.data)
		held := ff.blocked
		if ff.stallAfter > 0 {
			if sent >= ff.stallAfter {
				held = true
			} else {
				n = int(min(int64(n), ff.stallAfter-sent))
			}
		}
		if !held {
			c.hold(false, true)
			if wait := time.Until(ch.at.Add(ff.delay)); wait > 0 {
				time.Sleep(wait)
			}
			if ff.rate > 0 {
				n = min(n, max(ff.rate/20, 1))
				time.Sleep(time.Duration(n) * time.Second / time.Duration(ff.rate))
			}
			return n, true
		}
		c.hold(true, false)
		c.p.mu.Lock()
		closed := c.p.closed
		c.p.mu.Unlock()
		if closed {
			return 0, false
		}
		select {
		case <-changed:
		case <-c.ended:
			c.hold(false, false)
			return 0, false
		}
	}
}
