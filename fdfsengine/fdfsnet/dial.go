package fdfsnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Dialer makes Conns.
type Dialer struct {
	// ConnectTimeout bounds each TCP connect (connect_timeout); 0 = none
	// beyond the context's.
	ConnectTimeout time.Duration
	// NetworkTimeout bounds each I/O step of the connections it makes
	// (network_timeout); 0 = none.
	NetworkTimeout time.Duration
	// LocalIP, when set, is the address connections are made from: a
	// server with client_bind dials from its bind_addr, so that its peers
	// see the address they know it by.
	LocalIP string
	// Nagle leaves Nagle's algorithm on (Go turns it off) and writes file
	// content apart from the header, to write like the C and Java clients
	// do.
	Nagle bool
}

// Dial connects to addr, "host:port", or a dual-IP entry "ip1,ip2:port"
// whose hosts are tried in order (as upstream's tracker_server lines), and
// returns the connection bound to nothing: Bind it for each exchange.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Conn, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return nil, fmt.Errorf("connect to %q: no port", addr)
	}
	nd := net.Dialer{Timeout: d.ConnectTimeout}
	if d.LocalIP != "" {
		ip := net.ParseIP(d.LocalIP)
		if ip == nil {
			return nil, fmt.Errorf("connect to %s: local address %q is not an IP", addr, d.LocalIP)
		}
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	var errs []error
	for _, host := range strings.Split(addr[:i], ",") {
		nc, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(strings.TrimSpace(host), addr[i+1:]))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c := NewConn(nc, addr, d.NetworkTimeout)
		if tc, ok := nc.(*net.TCPConn); ok && d.Nagle {
			tc.SetNoDelay(false)
			c.split = true
		}
		return c, nil
	}
	return nil, fmt.Errorf("connect to %s: %w", addr, errors.Join(errs...))
}
