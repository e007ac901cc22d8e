package faults

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// A synHole listens on an address with an accept queue of one, filled at
// once and never accepted: the kernel drops the SYNs of every further
// connect (a full accept queue drops them), so a connect there times out
// as it does behind a firewall that drops packets, instead of being reset.
type synHole struct {
	fd     int
	filler net.Conn
}

func newSYNHole(addr string) (*synHole, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("SYN hole on %q: an IPv4 address and port are needed", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, fmt.Errorf("SYN hole: %w", err)
	}
	syscall.CloseOnExec(fd) // SOCK_CLOEXEC is not everywhere
	h := &synHole{fd: fd}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		h.close()
		return nil, fmt.Errorf("SYN hole: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		h.close()
		return nil, fmt.Errorf("SYN hole: bind %s: %w", addr, err)
	}
	// Backlog 0: Linux queues one connection, then drops SYNs.
	if err := syscall.Listen(fd, 0); err != nil {
		h.close()
		return nil, fmt.Errorf("SYN hole: %w", err)
	}
	if h.filler, err = net.DialTimeout("tcp", addr, time.Second); err != nil {
		h.close()
		return nil, fmt.Errorf("SYN hole: filling the queue: %w", err)
	}
	return h, nil
}

func (h *synHole) close() {
	if h.filler != nil {
		h.filler.Close()
	}
	syscall.Close(h.fd)
}

// dropSYN makes new connections to the proxy time out in connect until
// heal; set the fault of existing ones as well (a partition holds them).
func (p *faultProxy) dropSYN() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hole != nil {
		return nil
	}
	p.ln.Close()
	h, err := newSYNHole(p.addr)
	if err != nil {
		// Serve again, so that the test's end finds the proxy as it was.
		if ln, lerr := net.Listen("tcp", p.addr); lerr == nil {
			p.ln = ln
			p.wg.Add(1)
			go p.serve(ln)
		}
		return err
	}
	p.ln, p.hole = nil, h
	return nil
}
