package allowhosts

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// maxAllowExpansion bounds the addresses one allow_hosts pattern expands to.
const maxAllowExpansion = 1 << 16

// List is a parsed allow_hosts: nil means everybody.
type List struct {
	addrs    map[netip.Addr]bool
	prefixes []netip.Prefix
}

// Parse understands upstream's forms: "*", exact addresses, CIDR
// ("192.168.5.64/26"), one bracketed range ("10.0.1.[1-15,20]",
// "host[01-08].domain") and host names (resolved once, at start). No
// pattern, or "*" among them, is everybody (nil).
func Parse(patterns []string) (*List, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	l := &List{addrs: map[netip.Addr]bool{}}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "*" {
			return nil, nil
		}
		if strings.Contains(p, "/") {
			pf, err := netip.ParsePrefix(p)
			if err != nil {
				return nil, fmt.Errorf("allow_hosts %q: %v: %w", p, err, protocol.ErrInvalid)
			}
			l.prefixes = append(l.prefixes, pf.Masked())
			continue
		}
		hosts, err := expandBrackets(p)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if a, err := netip.ParseAddr(h); err == nil {
				l.addrs[a.Unmap()] = true
				continue
			}
			ips, err := net.LookupHost(h)
			if err != nil {
				return nil, fmt.Errorf("allow_hosts %q: %w", h, err)
			}
			for _, ip := range ips {
				if a, err := netip.ParseAddr(ip); err == nil {
					l.addrs[a.Unmap()] = true
				}
			}
		}
	}
	return l, nil
}

// expandBrackets expands one "[a-b,c]" section of p (no section: p itself).
func expandBrackets(p string) ([]string, error) {
	i := strings.IndexByte(p, '[')
	if i < 0 {
		return []string{p}, nil
	}
	j := strings.IndexByte(p[i:], ']')
	if j < 0 {
		return nil, fmt.Errorf("allow_hosts %q: unclosed '[': %w", p, protocol.ErrInvalid)
	}
	prefix, spec, suffix := p[:i], p[i+1:i+j], p[i+j+1:]
	var out []string
	for part := range strings.SplitSeq(spec, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a || len(out)+b-a >= maxAllowExpansion {
			return nil, fmt.Errorf("allow_hosts %q: bad range %q: %w", p, part, protocol.ErrInvalid)
		}
		for n := a; n <= b; n++ {
			// Keep the zero padding of the lower bound ("01-08" → "01".."08").
			out = append(out, prefix+fmt.Sprintf("%0*d", len(lo), n)+suffix)
		}
	}
	return out, nil
}

// Allows reports whether a peer at address a may talk to the daemon.
func (l *List) Allows(a net.Addr) bool {
	if l == nil {
		return true
	}
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	if l.addrs[ip] {
		return true
	}
	for _, p := range l.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
