package conf

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// reader converts keys of a File to typed values, remembering the first
// error (with the key and file:line it came from).
type reader struct {
	f   *File
	err error
}

func (r *reader) fail(key, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("conf: %s: %s: %s: %w", r.f.where(key), key, fmt.Sprintf(format, args...), protocol.ErrInvalid)
	}
}

// value returns the key's value; empty values count as absent, as the
// numeric upstream getters fall back to their default for them.
func (r *reader) value(key string) (string, bool) {
	v, ok := r.f.Lookup(key)
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

func (r *reader) str(key, def string) string {
	if v, ok := r.f.Lookup(key); ok {
		return v
	}
	return def
}

func (r *reader) integer(key string, def int) int {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(key, "%q is not an integer", v)
		return def
	}
	return n
}

// positive returns the key as an integer; values <= 0 mean the default, as
// upstream does for counts and intervals.
func (r *reader) positive(key string, def int) int {
	if n := r.integer(key, def); n > 0 {
		return n
	}
	return def
}

func (r *reader) intRange(key string, def, lo, hi int) int {
	n := r.integer(key, def)
	if n < lo || n > hi {
		r.fail(key, "%d is outside %d..%d", n, lo, hi)
		return def
	}
	return n
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	b, err := ParseBool(v)
	if err != nil {
		r.fail(key, "%q is not a boolean", v)
		return def
	}
	return b
}

func (r *reader) bytes(key string, def int64) int64 {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	n, err := ParseBytes(v)
	if err != nil {
		r.fail(key, "%q is not a byte size", v)
		return def
	}
	return n
}

// seconds reads an integer number of seconds (0 and negatives allowed).
func (r *reader) seconds(key string, def int) time.Duration {
	return time.Duration(r.integer(key, def)) * time.Second
}

// posSeconds reads seconds where <= 0 means the default.
func (r *reader) posSeconds(key string, def int) time.Duration {
	return time.Duration(r.positive(key, def)) * time.Second
}

// hhmm reads a "HH:MM" time of day and returns it normalised to two digits
// each.
func (r *reader) hhmm(key, def string) string {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	h, m, found := strings.Cut(v, ":")
	hh, err1 := strconv.Atoi(strings.TrimSpace(h))
	mm, err2 := strconv.Atoi(strings.TrimSpace(m))
	if !found || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		r.fail(key, "%q is not a HH:MM time", v)
		return def
	}
	return fmt.Sprintf("%02d:%02d", hh, mm)
}

func (r *reader) oneOf(key, def string, allowed ...string) string {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	r.fail(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return def
}

func (r *reader) port(key string, def int) int {
	return r.intRange(key, def, 0, 65535)
}

func (r *reader) basePath() string {
	v, ok := r.value("base_path")
	if !ok {
		r.fail("base_path", "missing (required)")
		return ""
	}
	return filepath.Clean(v)
}

// relPath resolves a path given in the conf relative to the directory of
// the conf file.
func relPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// trackerServers reads the repeatable tracker_server key, checking each is
// "host[,host2]:port" (IPv6 hosts in brackets: "[a,b]:port").
func (r *reader) trackerServers() []string {
	var out []string
	for _, v := range r.f.All("tracker_server") {
		if v == "" {
			continue
		}
		if _, _, err := SplitHostsPort(v); err != nil {
			r.fail("tracker_server", "%v", err)
			return nil
		}
		out = append(out, v)
	}
	return out
}

// SplitHostsPort splits "ip1[,ip2]:port" or "[v6a,v6b]:port" into the host
// list and port.
func SplitHostsPort(s string) ([]string, int, error) {
	var hostPart, portPart string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return nil, 0, fmt.Errorf("%q is not [host]:port", s)
		}
		hostPart, portPart = s[1:end], s[end+2:]
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return nil, 0, fmt.Errorf("%q has no port", s)
		}
		hostPart, portPart = s[:i], s[i+1:]
		if strings.Contains(hostPart, ":") {
			return nil, 0, fmt.Errorf("%q: IPv6 hosts must be in brackets", s)
		}
	}
	port, err := strconv.Atoi(portPart)
	if err != nil || port <= 0 || port > 65535 {
		return nil, 0, fmt.Errorf("%q: bad port", s)
	}
	hosts := strings.Split(hostPart, ",")
	if len(hosts) > 2 {
		return nil, 0, fmt.Errorf("%q: more than two hosts", s)
	}
	for i, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, " \t/") {
			return nil, 0, fmt.Errorf("%q: bad host %q", s, h)
		}
		hosts[i] = h
	}
	return hosts, port, nil
}

// TrackerAddrs expands tracker_server values into dialable "host:port"
// addresses: one per host, so a dual-IP entry yields two.
func TrackerAddrs(servers []string) ([]string, error) {
	var out []string
	for _, s := range servers {
		hosts, port, err := SplitHostsPort(s)
		if err != nil {
			return nil, fmt.Errorf("conf: tracker_server %w: %w", err, protocol.ErrInvalid)
		}
		for _, h := range hosts {
			out = append(out, net.JoinHostPort(h, strconv.Itoa(port)))
		}
	}
	return out, nil
}

func validGroupName(g string) bool {
	if g == "" || len(g) > 16 {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (r *reader) allowHosts() []string {
	var out []string
	for _, v := range r.f.All("allow_hosts") {
		if v != "" {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return []string{"*"}
	}
	return out
}
