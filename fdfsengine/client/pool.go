package client

import (
	"context"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
)

// conn is a pooled connection.
type conn struct {
	*fdfsnet.Conn
	idleSince time.Time // when it entered the pool
	reused    bool      // taken from the pool rather than dialled
}

// pool keeps idle connections per server address, most recently used
// last. It holds at most maxIdle connections per address and closes those
// idle for longer than idleTimeout.
type pool struct {
	dialer          fdfsnet.Dialer
	maxIdle         int // per address; 0 disables pooling
	idleTimeout     time.Duration
	activeTestAfter time.Duration

	mu        sync.Mutex
	idle      map[string][]*conn
	lastSweep time.Time
	closed    bool
}

func newPool(cfg *Config) *pool {
	return &pool{
		dialer:          fdfsnet.Dialer{ConnectTimeout: cfg.ConnectTimeout, NetworkTimeout: cfg.NetworkTimeout, Nagle: cfg.Nagle},
		maxIdle:         max(cfg.MaxIdlePerHost, 0),
		idleTimeout:     cfg.IdleTimeout,
		activeTestAfter: cfg.ActiveTestAfter,
		idle:            make(map[string][]*conn),
	}
}

// get returns a connection to addr bound to ctx: a checked idle one if
// possible, else a new one. The caller must hand it back with put.
// With fresh set it always dials.
func (p *pool) get(ctx context.Context, addr string, fresh bool) (*conn, func() bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	for !fresh {
		c := p.takeIdle(addr)
		if c == nil {
			break
		}
		if release, ok := p.check(ctx, c); ok {
			c.reused = true
			return c, release, nil
		}
		c.Close()
	}
	fc, err := p.dialer.Dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	c := &conn{Conn: fc}
	return c, c.Bind(ctx), nil
}

// check vets an idle connection before reuse: the peer must not have
// closed it, and one idle for longer than activeTestAfter must answer an
// ACTIVE_TEST (a middlebox may have dropped it silently).
func (p *pool) check(ctx context.Context, c *conn) (func() bool, bool) {
	if !c.Alive() {
		return nil, false
	}
	release := c.Bind(ctx)
	if time.Since(c.idleSince) >= p.activeTestAfter {
		if err := c.ActiveTest(); err != nil {
			release()
			return nil, false
		}
	}
	return release, true
}

// takeIdle pops the most recently used idle connection to addr, closing
// expired ones on the way.
func (p *pool) takeIdle(addr string) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[addr]
	for len(list) > 0 {
		c := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if p.idleTimeout > 0 && time.Since(c.idleSince) > p.idleTimeout {
			c.Close()
			continue
		}
		p.idle[addr] = list
		return c
	}
	delete(p.idle, addr)
	return nil
}

// put ends an operation on c: the connection returns to the pool only if
// its last response was read completely and the operation was not
// cancelled mid-exchange; otherwise it is closed.
func (p *pool) put(c *conn, release func() bool) {
	ok := release() && c.Clean()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.sweepLocked(now)
	if !ok || p.closed || len(p.idle[c.Addr()]) >= p.maxIdle {
		c.Close()
		return
	}
	c.idleSince = now
	p.idle[c.Addr()] = append(p.idle[c.Addr()], c)
}

// sweepLocked closes expired idle connections of every address, at most
// twice per idle timeout, so addresses no longer used do not keep sockets.
func (p *pool) sweepLocked(now time.Time) {
	if p.idleTimeout <= 0 || now.Sub(p.lastSweep) < p.idleTimeout/2 {
		return
	}
	p.lastSweep = now
	for addr, list := range p.idle {
		keep := list[:0]
		for _, c := range list {
			if now.Sub(c.idleSince) > p.idleTimeout {
				c.Close()
			} else {
				keep = append(keep, c)
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(p.idle, addr)
		} else {
			p.idle[addr] = keep
		}
	}
}

// idleCount is the number of idle connections to addr.
func (p *pool) idleCount(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle[addr])
}

// close closes every idle connection; connections in use are closed when
// they are put back.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, list := range p.idle {
		for _, c := range list {
			c.Close()
		}
		delete(p.idle, addr)
	}
}
