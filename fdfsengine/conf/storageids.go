package conf

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Storage-id limits from upstream.
const (
	// MaxServerID is FDFS_MAX_SERVER_ID: ids must fit the 3 low bytes the
	// file name decoder accepts.
	MaxServerID = 1<<24 - 1
	// maxStorageIDs bounds storage_ids.conf (512 groups × 32 servers).
	maxStorageIDs = 512 * 32
)

// Read/write modes of a storage_ids.conf entry.
const (
	RWBoth  = "both"
	RWRead  = "read"
	RWWrite = "write"
	RWNone  = "none"
)

// LoadStorageIDs reads storage_ids.conf.
func LoadStorageIDs(path string) (*StorageIDs, error) {
	data, err := readConf(path)
	if err != nil {
		return nil, err
	}
	ids, err := parseStorageIDs(data, path)
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ParseStorageIDs parses storage_ids.conf content as upstream
// fdfs_load_storage_ids: one
// "<id> <group> <host[,host2]>[:port] [rw=both|read|write|none]" per line
// ("[v6addr]:port" for IPv6), '#' comments and blank lines ignored. Ids are
// canonical decimals in 1..16777215 and unique; a line without a port
// stands for port 23000 (EffectivePort), so an ip:port pair, explicit or
// not, may appear only once; two addresses must be of different kinds (an
// inner and an outer one, or two kinds of inner one) and are kept inner
// first.
func ParseStorageIDs(data []byte) (*StorageIDs, error) {
	return parseStorageIDs(data, "storage_ids.conf")
}

func parseStorageIDs(data []byte, name string) (*StorageIDs, error) {
	fail := func(line int, format string, args ...any) error {
		return &Error{File: name, Line: line, Problem: fmt.Sprintf(format, args...)}
	}
	ids := &StorageIDs{}
	byID := map[string]int{}
	type ipPort struct {
		ip   string
		port int
	}
	seen := map[ipPort]int{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		line := strings.TrimSpace(string(raw))
		if line == "" || line[0] == '#' {
			continue
		}
		if len(ids.List) >= maxStorageIDs {
			return nil, fail(lineNo, "more than %d storage ids", maxStorageIDs)
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || len(fields) > 4 {
			return nil, fail(lineNo, "%q: want <id> <group> <ip>[:port] [rw=...]", line)
		}
		e := StorageID{ID: fields[0], Group: fields[1], RW: RWBoth}
		if !validServerID(e.ID) {
			return nil, fail(lineNo, "server id %q must be an integer in 1..%d without leading zeros", e.ID, MaxServerID)
		}
		if !validGroupName(e.Group) {
			return nil, fail(lineNo, "group name %q is not 1..16 of [A-Za-z0-9]", e.Group)
		}
		ips, port, err := parseIDHost(fields[2])
		if err != nil {
			return nil, fail(lineNo, "%v", err)
		}
		if len(ips) == 2 {
			t0, t1 := ipType(ips[0]), ipType(ips[1])
			if t0 == t1 && t0 != ipTypeOther {
				return nil, fail(lineNo, "%s and %s: one must be an inner and the other an outer address, or two kinds of inner address", ips[0], ips[1])
			}
			if t0 == ipTypeOuter && t1 != ipTypeOther {
				ips[0], ips[1] = ips[1], ips[0] // upstream keeps the inner one first
			}
		}
		e.IPs, e.Port = ips, port
		if len(fields) == 4 {
			rw, err := parseRW(fields[3])
			if err != nil {
				return nil, fail(lineNo, "%v", err)
			}
			e.RW = rw
		}
		if prev, dup := byID[e.ID]; dup {
			return nil, &Error{File: name, Line: lineNo, Problem: fmt.Sprintf("duplicate storage id %s (line %d)", e.ID, prev)}
		}
		byID[e.ID] = lineNo
		for _, ip := range e.IPs {
			k := ipPort{ip, e.EffectivePort()}
			if prev, dup := seen[k]; dup {
				return nil, &Error{File: name, Line: lineNo, Problem: fmt.Sprintf("duplicate storage %s port %d (line %d)", ip, k.port, prev)}
			}
			seen[k] = lineNo
		}
		ids.List = append(ids.List, e)
	}
	if len(ids.List) == 0 {
		return nil, &Error{File: name, Problem: "no storage id", Accepted: "one \"<id> <group> <host>[:port]\" line per storage"}
	}
	return ids, nil
}

func validServerID(id string) bool {
	n, err := strconv.Atoi(id)
	return err == nil && n > 0 && n <= MaxServerID && strconv.Itoa(n) == id
}

// parseIDHost parses "ip[,ip2][:port]" or "[v6[,v6b]][:port]".
func parseIDHost(s string) ([]string, int, error) {
	hostPart, portPart := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, 0, fmt.Errorf("invalid IPv6 address %q", s)
		}
		hostPart, portPart = s[1:end], s[end+1:]
		if portPart != "" {
			p, ok := strings.CutPrefix(portPart, ":")
			if !ok {
				return nil, 0, fmt.Errorf("%q: junk after ']'", s)
			}
			portPart = p
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		hostPart, portPart = s[:i], s[i+1:]
	}
	port := 0
	if portPart != "" {
		p, err := strconv.Atoi(portPart)
		if err != nil || p <= 0 || p > 65535 {
			return nil, 0, fmt.Errorf("%q: bad port", s)
		}
		port = p
	}
	hosts := strings.Split(hostPart, ",")
	if len(hosts) > 2 {
		return nil, 0, fmt.Errorf("%q: more than two addresses", s)
	}
	for i, h := range hosts {
		if h == "" {
			return nil, 0, fmt.Errorf("%q: empty address", s)
		}
		if a, err := netip.ParseAddr(h); err == nil {
			hosts[i] = a.String()
		} else if strings.ContainsAny(h, ":[]/") {
			return nil, 0, fmt.Errorf("%q: bad address %q", s, h)
		}
	}
	return hosts, port, nil
}

func parseRW(opt string) (string, error) {
	v, ok := strings.CutPrefix(strings.ToLower(opt), "rw=")
	if !ok {
		return "", fmt.Errorf("invalid option %q (want rw=...)", opt)
	}
	switch v {
	case "both", "all":
		return RWBoth, nil
	case "read", "readonly":
		return RWRead, nil
	case "write", "writeonly":
		return RWWrite, nil
	case "none":
		return RWNone, nil
	}
	return "", fmt.Errorf("invalid rw value %q", v)
}

// EffectivePort is the port upstream 6.16.1 gives the entry: the one
// written, else 23000 (FDFS_STORAGE_SERVER_DEF_PORT). Upstream matches
// storages and renders FETCH_STORAGE_IDS lines with it.
func (e StorageID) EffectivePort() int {
	if e.Port > 0 {
		return e.Port
	}
	return DefaultStoragePort
}

// ByID finds the entry with the given id.
func (s *StorageIDs) ByID(id string) (*StorageID, bool) {
	for i := range s.List {
		if s.List[i].ID == id {
			return &s.List[i], true
		}
	}
	return nil, false
}

// Find finds the entry for a storage at ip (one of its addresses) and port,
// limited to group unless group is "". An entry with the exact port wins
// over one without a port; port 0 matches any entry.
func (s *StorageIDs) Find(group, ip string, port int) (*StorageID, bool) {
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.Unmap().String()
	}
	var loose *StorageID
	for i := range s.List {
		e := &s.List[i]
		if group != "" && e.Group != group {
			continue
		}
		if !containsIP(e.IPs, ip) {
			continue
		}
		if port == 0 || e.Port == port {
			return e, true
		}
		if e.Port == 0 && loose == nil {
			loose = e
		}
	}
	return loose, loose != nil
}

func containsIP(ips []string, ip string) bool {
	for _, x := range ips {
		if x == ip {
			return true
		}
	}
	return false
}

// HasIPv6 reports whether any entry has an IPv6 address (which makes
// response_ip_addr_size=auto use the 46-byte width).
func (s *StorageIDs) HasIPv6() bool {
	for _, e := range s.List {
		for _, ip := range e.IPs {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
				return true
			}
		}
	}
	return false
}

// Line renders the entry as the tracker sends it in the
// STORAGE_FETCH_STORAGE_IDS reply: "id group ip[,ip2][:port][ rw=mode]"
// (IPv6 addresses in brackets when a port follows; rw omitted for both).
func (e StorageID) Line() string {
	host := strings.Join(e.IPs, ",")
	if e.Port > 0 {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		host += ":" + strconv.Itoa(e.Port)
	}
	line := e.ID + " " + e.Group + " " + host
	if e.RW != "" && e.RW != RWBoth {
		line += " rw=" + e.RW
	}
	return line
}
