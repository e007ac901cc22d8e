// Package slowproxy is a TCP proxy for tests that must interrupt a
// transfer in its middle: on loopback a client sends megabytes in a few
// milliseconds, too fast to kill it halfway. The proxy forwards the
// client's bytes at a bounded rate while Slow is set and counts them, so a
// test can act once a given share of the content went through.
package slowproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards every connection to a target address.
type Proxy struct {
	lis    net.Listener
	target string
	rate   int64 // client-to-target bytes per second while Slow
	wg     sync.WaitGroup

	// Slow limits the client's bytes to the rate; set at Start.
	Slow atomic.Bool
	// Forwarded counts the client-to-target bytes.
	Forwarded atomic.Int64
	// Active counts the connections being relayed.
	Active atomic.Int64
}

// Start runs a proxy to target on a loopback port; it is closed when the
// test ends.
func Start(t testing.TB, target string, rate int64) *Proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{lis: lis, target: target, rate: rate}
	p.Slow.Store(true)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		lis.Close()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's "host:port".
func (p *Proxy) Addr() string { return p.lis.Addr().String() }

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		p.Active.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.Active.Add(-1)
			p.relay(c)
		}()
	}
}

// relay copies c to a new connection to the target, throttled, and the
// answers back; it ends when the client's side ends.
func (p *Proxy) relay(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		io.Copy(c, s)
		c.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
			p.Forwarded.Add(int64(n))
			if p.Slow.Load() {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / p.rate))
			}
		}
		if err != nil {
			return
		}
	}
}
