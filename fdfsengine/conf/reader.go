package conf

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// reader converts keys of a File to typed values with upstream's getters
// (iniGetIntValue, iniGetBoolValue, parse_bytes, get_time_item_from_conf,
// ...). It remembers the first error; corrections upstream makes with a
// warning are made here too and recorded in File.Warnings.
type reader struct {
	f   *File
	err error
}

// item is one key as a getter sees it: the entry found (nil when absent)
// in section, or in the global part when the getter falls back to it.
type item struct {
	r       *reader
	section string
	key     string
	e       *Entry
}

// at is the global key.
func (r *reader) at(key string) item {
	return item{r: r, key: key, e: r.f.entry("", key)}
}

// in is key in section; with retryGlobal an absent key is looked up in the
// global part (libserverframe's log settings do that).
func (r *reader) in(section, key string, retryGlobal bool) item {
	e := r.f.entry(section, key)
	if e == nil && retryGlobal {
		e = r.f.entry("", key)
	}
	return item{r: r, section: section, key: key, e: e}
}

func (it item) present() bool { return it.e != nil }

func (it item) value() string {
	if it.e == nil {
		return ""
	}
	return it.e.Value
}

func (it item) name() string {
	if it.e != nil && it.e.Section != "" {
		return "[" + it.e.Section + "] " + it.key
	}
	if it.e == nil && it.section != "" {
		return "[" + it.section + "] " + it.key
	}
	return it.key
}

// fail records the first *Error: "file:line: key: problem (accepted:
// forms)".
func (it item) fail(accepted, format string, args ...any) {
	if it.r.err != nil {
		return
	}
	it.r.err = it.r.f.errorAt(it.e, it.name(), fmt.Sprintf(format, args...), accepted)
}

func (it item) warn(format string, args ...any) {
	it.r.f.Warnings = append(it.r.f.Warnings, fmt.Sprintf("%s: %s: %s", it.r.f.location(it.e), it.name(), fmt.Sprintf(format, args...)))
}

func (it item) str(def string) string {
	if it.e == nil {
		return def
	}
	return it.e.Value
}

// integer is iniGetIntValue (atoi): absent gives def; an empty value is 0;
// a leading number followed by other text is read as that number (with a
// warning: upstream silently drops the rest). A value with no number is an
// error here (upstream would read 0).
func (it item) integer(def int64, accepted string) int64 {
	if it.e == nil {
		return def
	}
	v := it.e.Value
	if v == "" {
		return 0
	}
	n, digits, rest, overflow := scanInt(v)
	if !digits {
		it.fail(accepted, "%q is not a number", v)
		return def
	}
	if overflow || n > math.MaxInt32 || n < math.MinInt32 {
		it.fail(accepted, "%q is out of range", v)
		return def
	}
	if strings.TrimSpace(rest) != "" {
		it.warn("%q: %q after the number is ignored (as upstream)", v, strings.TrimSpace(rest))
	}
	return n
}

func (it item) intValue(def int, accepted string) int {
	return int(it.integer(int64(def), accepted))
}

// clamp is iniCheckAndCorrectIntValue: out-of-range values become the
// nearest bound, with a warning.
func (it item) clamp(v, lo, hi int64) int64 {
	switch {
	case v < lo:
		it.warn("%d < min value %d: set to %d", v, lo, lo)
		return lo
	case v > hi:
		it.warn("%d > max value %d: set to %d", v, hi, hi)
		return hi
	}
	return v
}

// positive is an integer where values <= 0 mean def (upstream's
// "if (x <= 0) x = DEFAULT").
func (it item) positive(def int, accepted string) int {
	if n := it.intValue(def, accepted); n > 0 {
		return n
	}
	return def
}

func (it item) seconds(def int, accepted string) time.Duration {
	return time.Duration(it.intValue(def, accepted)) * time.Second
}

func (it item) posSeconds(def int) time.Duration {
	return time.Duration(it.positive(def, formInt+" of seconds; <= 0 means the default")) * time.Second
}

// boolean is iniGetBoolValue: true/yes/on (case-insensitive) and "1" are
// true; false/no/off/0 and the empty value are false. Upstream reads any
// other word as false; here it is an error.
func (it item) boolean(def bool) bool {
	if it.e == nil {
		return def
	}
	v := it.e.Value
	if v == "" {
		return false
	}
	b, err := ParseBool(v)
	if err != nil {
		it.fail(formBool, "%q is not a boolean", v)
		return def
	}
	return b
}

// bytes is parse_bytes on the value (absent: def; empty: 0).
func (it item) bytes(def int64) int64 {
	if it.e == nil {
		return def
	}
	if it.e.Value == "" {
		return 0
	}
	n, err := ParseBytes(it.e.Value)
	if err != nil {
		it.fail(formSize, "%q is not a byte size", it.e.Value)
		return def
	}
	return n
}

// timeOfDay is get_time_item_from_conf ("%d:%d[:%d]"): absent gives the
// default, an empty or malformed value is an error. The result is "HH:MM"
// ("HH:MM:SS" when seconds are given and not 0).
func (it item) timeOfDay(defHour, defMinute int) string {
	if it.e == nil {
		return fmt.Sprintf("%02d:%02d", defHour, defMinute)
	}
	v := it.e.Value
	h, m, s, ok := scanTime(v)
	if !ok {
		it.fail(formTime, "%q is not a valid time", v)
		return fmt.Sprintf("%02d:%02d", defHour, defMinute)
	}
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// scanTime is sscanf(v, "%d:%d:%d") with upstream's range checks: two or
// three numbers; text after them is ignored.
func scanTime(v string) (h, m, s int, ok bool) {
	hh, okH, rest, ovH := scanInt(v)
	if !okH || ovH || !strings.HasPrefix(rest, ":") {
		return 0, 0, 0, false
	}
	mm, okM, rest, ovM := scanInt(rest[1:])
	if !okM || ovM {
		return 0, 0, 0, false
	}
	var ss int64
	if strings.HasPrefix(rest, ":") {
		if n, okS, _, ovS := scanInt(rest[1:]); okS && !ovS {
			ss = n
		}
	}
	if hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 {
		return 0, 0, 0, false
	}
	return int(hh), int(mm), int(ss), true
}

// logLevel is get_log_level: case-insensitive prefixes DEBUG, INFO, NOTICE,
// WARN, ERR, CRIT, ALERT, EMERG (or LOG_<LEVEL>); an unknown level keeps
// the default (info) with a warning, as upstream. The result is one of
// debug, info, notice, warn, error, crit, alert, emerg.
func (it item) logLevel() string {
	v := strings.ToUpper(it.str(""))
	if v == "" {
		return "info"
	}
	for _, l := range []struct{ prefix, full, name string }{
		{"DEBUG", "LOG_DEBUG", "debug"}, {"INFO", "LOG_INFO", "info"}, {"NOTICE", "LOG_NOTICE", "notice"},
		{"WARN", "LOG_WARNING", "warn"}, {"ERR", "LOG_ERR", "error"}, {"CRIT", "LOG_CRIT", "crit"},
		{"ALERT", "LOG_ALERT", "alert"}, {"EMERG", "LOG_EMERG", "emerg"},
	} {
		if strings.HasPrefix(v, l.prefix) || v == l.full {
			return l.name
		}
	}
	it.warn("unknown log level %q: info is used (accepted: debug, info, notice, warn, error, crit, alert, emerg)", it.str(""))
	return "info"
}

// basePath is sf_load_global_base_path: required and not empty; trailing
// slashes removed.
func (r *reader) basePath() string {
	it := r.at("base_path")
	if it.value() == "" {
		if it.present() {
			it.fail("an absolute directory", "empty")
		} else {
			it.fail("an absolute directory", "not set")
		}
		return ""
	}
	return filepath.Clean(it.value())
}

// relPath resolves a path given in the conf relative to the directory of
// the conf file.
func relPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// confDir is the directory relative paths in f are resolved against: the
// directory of the file it was loaded from, else the dir given to ParseFile.
func confDir(f *File) string {
	if f.Path != "" {
		return filepath.Dir(f.Path)
	}
	return f.dir
}

// network is what libserverframe's sf_load_config reads for a service
// (port, bind_addr, address_family, threads, buffers).
type network struct {
	port, outerPort int
	bindAddr        string
	bindAddrs       []string
	addressFamily   string
	acceptThreads   int
	workThreads     int
	maxConnections  int
	maxPkgSize      int64
	minBuffSize     int64
	maxBuffSize     int64
	threadStackSize int64
	tcpQuickAck     bool
	useIOURing      bool
	useSendZC       bool
	ipv6Enabled     bool
	runByGroup      string
	runByUser       string
}

// libserverframe (sf_define.h) defaults and bounds.
const (
	sfDefMaxPkgSize      = 256 * KB
	sfDefMinBuffSize     = 64 * KB
	sfDefMaxBuffSize     = 256 * KB
	sfMaxNetworkBuffSize = 2 * GB
	sfDefThreadStackSize = 256 * KB
	sfMinThreadStackSize = 64 * KB
	sfMaxThreadStackSize = 2 * GB
	sfDefaultWorkThreads = 4
)

const formPort = "a port number 1..65535 (0 for any free port; negative for the default)"

func (r *reader) network(defPort int) network {
	var n network
	n.tcpQuickAck = r.at("tcp_quick_ack").boolean(true)
	n.useIOURing = r.at("use_io_uring").boolean(false)
	n.useSendZC = r.at("use_send_zc").boolean(true)
	n.runByGroup = r.runBy("run_by_group", func(s string) error { _, err := user.LookupGroup(s); return err })
	n.runByUser = r.runBy("run_by_user", func(s string) error { _, err := user.Lookup(s); return err })

	// Ports: inner_port/outer_port (absent: the default), else port for
	// both.
	if inner, outer := r.at("inner_port"), r.at("outer_port"); inner.present() || outer.present() {
		n.port, n.outerPort = portValue(inner, defPort), portValue(outer, defPort)
	} else {
		n.port = portValue(r.at("port"), defPort)
		n.outerPort = n.port
	}

	n.acceptThreads = r.threads("accept_threads", 1)
	n.workThreads = r.threads("work_threads", sfDefaultWorkThreads)

	// Bind addresses: inner_bind_addr/outer_bind_addr, else bind_addr for
	// both; each "ipv4[,ipv6]".
	innerAddr, outerAddr := r.at("inner_bind_addr"), r.at("outer_bind_addr")
	bindItem := r.at("bind_addr")
	if innerAddr.present() || outerAddr.present() {
		bindItem = innerAddr
		if !innerAddr.present() {
			bindItem = outerAddr
		}
		if innerAddr.present() && outerAddr.present() && innerAddr.value() != outerAddr.value() {
			outerAddr.warn("outer_bind_addr %q differs from inner_bind_addr %q: only the inner one is bound", outerAddr.value(), innerAddr.value())
		}
	}
	var v4, v6 string
	if s := bindItem.value(); s != "" {
		parts := strings.SplitN(s, ",", 2)
		for _, a := range parts {
			a = strings.TrimSpace(a)
			if strings.Contains(a, ":") { // is_ipv6_addr
				a = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
				if _, err := netip.ParseAddr(a); err != nil {
					bindItem.fail("an IPv4 address, an IPv6 address, or both separated by a comma", "%q is not an IP address", a)
				}
				v6 = a
			} else if a != "" {
				v4 = a
			}
		}
		if v4 != "" {
			n.bindAddrs = append(n.bindAddrs, v4)
		}
		if v6 != "" {
			n.bindAddrs = append(n.bindAddrs, v6)
		}
	}

	af := r.at("address_family")
	switch v := af.value(); {
	case !af.present() || strings.EqualFold(v, "auto"):
		n.addressFamily = "auto"
	case strings.EqualFold(v, "IPv4"):
		n.addressFamily = "IPv4"
	case strings.EqualFold(v, "IPv6"):
		n.addressFamily = "IPv6"
	case strings.EqualFold(v, "both"):
		n.addressFamily = "both"
	default:
		af.fail("auto, IPv4, IPv6 or both (case-insensitive)", "%q is not an address family", v)
	}
	switch n.addressFamily {
	case "IPv6", "both":
		n.ipv6Enabled = true
	case "auto":
		n.ipv6Enabled = v6 != ""
	}
	switch {
	case n.addressFamily == "IPv6" && v6 != "":
		n.bindAddr = v6
	case v4 != "":
		n.bindAddr = v4
	default:
		n.bindAddr = v6
	}
	if v4 != "" && v6 != "" {
		bindItem.warn("%q: only %s is bound (one listening address per server)", bindItem.value(), n.bindAddr)
	}

	// Buffers: the package size key (buff_size) and min/max_buff_size.
	n.maxConnections = r.at("max_connections").positive(256, formInt)
	pkg := r.at("buff_size")
	n.maxPkgSize = pkg.clamp(pkg.bytes(sfDefMaxPkgSize), 8*KB, sfMaxNetworkBuffSize)
	minB, maxB := r.at("min_buff_size"), r.at("max_buff_size")
	if !minB.present() || !maxB.present() {
		n.minBuffSize, n.maxBuffSize = n.maxPkgSize, n.maxPkgSize
	} else {
		n.minBuffSize = minB.clamp(minB.bytes(sfDefMinBuffSize), 4*KB, sfMaxNetworkBuffSize)
		n.maxBuffSize = maxB.clamp(maxB.bytes(sfDefMaxBuffSize), 8*KB, sfMaxNetworkBuffSize)
		if n.maxBuffSize < n.maxPkgSize {
			n.maxBuffSize = n.maxPkgSize
		} else {
			n.maxPkgSize = n.maxBuffSize
		}
		if n.maxBuffSize < n.minBuffSize {
			maxB.warn("max_buff_size %d < min_buff_size %d: set to min_buff_size", n.maxBuffSize, n.minBuffSize)
			n.maxBuffSize = n.minBuffSize
		}
	}
	ts := r.at("thread_stack_size")
	n.threadStackSize = ts.clamp(ts.bytes(sfDefThreadStackSize), sfMinThreadStackSize, sfMaxThreadStackSize)
	return n
}

// portValue reads a port as upstream: absent, empty or negative means the
// default. An explicit 0 asks for any free port (an extension: upstream
// uses the default port then).
func portValue(it item, def int) int {
	p := it.intValue(0, formPort)
	switch {
	case !it.present() || it.value() == "" || p < 0:
		return def
	case p > 65535:
		it.fail(formPort, "%d is out of range", p)
		return def
	}
	return p
}

func (r *reader) threads(key string, def int) int {
	it := r.at(key)
	n := it.intValue(def, formInt+" > 0")
	if n <= 0 {
		it.fail(formInt+" > 0", "%d is not > 0", n)
		return def
	}
	return n
}

// runBy reads run_by_group / run_by_user: upstream refuses a name it cannot
// resolve. The daemons switch to them at start (internal/runas).
func (r *reader) runBy(key string, lookup func(string) error) string {
	it := r.at(key)
	v := it.value()
	if v != "" {
		if err := lookup(v); err != nil {
			it.fail("an existing name, or empty for the current one", "%q: %v", v, err)
		}
	}
	return v
}

// logConfig is sf_load_log_config for section ("error-log" or
// "access-log"): each key is looked up in the section, then in the global
// part.
func (r *reader) logConfig(section string) LogConfig {
	var l LogConfig
	l.SyncLogBuffInterval = time.Duration(r.in(section, "sync_log_buff_interval", true).positive(1, formInt)) * time.Second
	l.RotateEveryday = r.in(section, "log_file_rotate_everyday", true).boolean(true)
	l.KeepDays = r.in(section, "log_file_keep_days", true).intValue(15, formInt)
	l.CompressOld = r.in(section, "log_file_compress_old", true).boolean(false)
	l.CompressDaysBefore = r.in(section, "log_file_compress_days_before", true).intValue(1, formInt)
	l.RotateTime = r.in(section, "log_file_rotate_time", true).timeOfDay(0, 0)
	l.DeleteOldTime = r.in(section, "log_file_delete_old_time", true).timeOfDay(1, 30)
	size := r.in(section, "log_file_rotate_on_size", true)
	l.RotateOnSize = size.clamp(size.bytes(0), 0, 64*GB)
	return l
}

// reservedSpace is fdfs_parse_storage_reserved_space.
func (r *reader) reservedSpace() Reserved {
	it := r.at("reserved_storage_space")
	if !it.present() {
		return Reserved{Bytes: defaultReservedBytes}
	}
	if it.value() == "" {
		it.fail(formReserved, "empty")
		return Reserved{Bytes: defaultReservedBytes}
	}
	rs, err := ParseReserved(it.value())
	if err != nil {
		it.fail(formReserved, "%q is not a size or a percentage", it.value())
		return Reserved{Bytes: defaultReservedBytes}
	}
	return rs
}

// connectionPool is fdfs_connection_pool_init: the idle time is read (and
// must be > 0) only when the pool is on.
func (r *reader) connectionPool() (bool, time.Duration) {
	use := r.at("use_connection_pool").boolean(false)
	idle := 3600 * time.Second
	if use {
		it := r.at("connection_pool_max_idle_time")
		n := it.intValue(3600, formInt+" of seconds > 0")
		if n <= 0 {
			it.fail(formInt+" of seconds > 0", "%d is not > 0", n)
		} else {
			idle = time.Duration(n) * time.Second
		}
	}
	return use, idle
}

// storageIDsFilename is fdfs_load_storage_ids_from_file's lookup of
// storage_ids_filename: required, not empty, relative to the conf file.
func (r *reader) storageIDsFilename() string {
	it := r.at("storage_ids_filename")
	switch {
	case !it.present():
		it.fail("a file name, absolute or relative to this file", "missing (required when use_storage_id is true)")
	case it.value() == "":
		it.fail("a file name, absolute or relative to this file", "empty")
	}
	return relPath(confDir(r.f), it.value())
}

const formTracker = "HOST[:PORT], HOST1,HOST2[:PORT] (an inner and an outer address) or [IPV6[,IPV6]][:PORT]; the port defaults to 22122"

// trackerServers reads the repeatable tracker_server key as upstream
// fdfs_load_tracker_group: at least one; "host[:port]" (port 22122 when
// omitted), "ip1,ip2:port" (two addresses of different kinds: inner and
// outer, or two kinds of inner) and "[v6[,v6]]:port"; duplicates dropped;
// at most 16. Values are returned with the port made explicit.
func (r *reader) trackerServers(rejectLoopback bool) []string {
	entries := r.f.allEntries("tracker_server")
	if len(entries) == 0 {
		r.at("tracker_server").fail(formTracker, "missing (at least one is required)")
		return nil
	}
	var out []string
	for _, e := range entries {
		it := item{r: r, key: "tracker_server", e: e}
		hosts, port, err := SplitHostsPort(e.Value)
		if err != nil {
			it.fail(formTracker, "%v", err)
			return nil
		}
		if len(hosts) == 2 {
			if t0, t1 := ipType(hosts[0]), ipType(hosts[1]); t0 == t1 && t0 != ipTypeOther {
				it.fail(formTracker, "%s and %s: one must be an inner and the other an outer address, or two kinds of inner address", hosts[0], hosts[1])
				return nil
			}
		}
		if rejectLoopback {
			for _, h := range hosts {
				if isLoopbackIP(h) {
					it.fail(formTracker, "%s: a storage cannot use a loopback tracker address (use another address, such as 127.0.0.2)", h)
					return nil
				}
			}
		}
		v := joinHostsPort(hosts, port)
		if contains(out, v) {
			it.warn("%s is listed twice: the duplicate is ignored", v)
			continue
		}
		if len(out) == maxTrackers {
			it.warn("more than %d tracker servers: %s is ignored", maxTrackers, v)
			continue
		}
		out = append(out, v)
	}
	return out
}

// maxTrackers is FDFS_MAX_TRACKERS.
const maxTrackers = protocol.MaxTrackers

// SplitHostsPort splits "ip1[,ip2][:port]" or "[v6a[,v6b]][:port]" into the
// host list and port (DefaultTrackerPort when there is none), as upstream
// fdfs_parse_server_info.
func SplitHostsPort(s string) ([]string, int, error) {
	var hostPart, portPart string
	hasPort := false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, 0, fmt.Errorf("%q: no closing ']'", s)
		}
		hostPart = s[1:end]
		switch rest := s[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			portPart, hasPort = rest[1:], true
		default:
			return nil, 0, fmt.Errorf("%q: junk after ']'", s)
		}
	} else {
		i := strings.LastIndexByte(s, ':')
		hostPart = s
		if i >= 0 {
			hostPart, portPart, hasPort = s[:i], s[i+1:], true
		}
		if strings.Contains(hostPart, ":") {
			return nil, 0, fmt.Errorf("%q: IPv6 addresses must be in brackets", s)
		}
	}
	port := DefaultTrackerPort
	if hasPort {
		p, err := strconv.Atoi(portPart)
		if err != nil || p <= 0 || p > 65535 {
			return nil, 0, fmt.Errorf("%q: bad port", s)
		}
		port = p
	}
	hosts := strings.Split(hostPart, ",")
	if len(hosts) > 2 {
		return nil, 0, fmt.Errorf("%q: more than two hosts", s)
	}
	for i, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, " \t/[]") {
			return nil, 0, fmt.Errorf("%q: bad host %q", s, h)
		}
		hosts[i] = h
	}
	return hosts, port, nil
}

func joinHostsPort(hosts []string, port int) string {
	h := strings.Join(hosts, ",")
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(port)
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

// Address kinds of fdfs_get_ip_type, for IPv4 addresses; ipTypeOther is
// a host name (not resolved here) or an IPv6 address, which are not
// checked (upstream calls every IPv6 address "outer", so it refuses even the
// two-IPv6 example of its own sample files).
const (
	ipTypeOther = iota
	ipTypePrivate10
	ipTypePrivate172
	ipTypePrivate192
	ipTypeOuter
)

func ipType(h string) int {
	a, err := netip.ParseAddr(h)
	if err != nil || !a.Is4() {
		return ipTypeOther
	}
	s := a.String()
	switch {
	case strings.HasPrefix(s, "10."):
		return ipTypePrivate10
	case strings.HasPrefix(s, "192.168."):
		return ipTypePrivate192
	case strings.HasPrefix(s, "172."):
		if b := atoiPrefix(s[4:]); b >= 16 && b < 32 {
			return ipTypePrivate172
		}
	}
	return ipTypeOuter
}

// groupName checks a group name as fdfs_validate_group_name (letters and
// digits); longer than 16 characters is truncated, as upstream's copy does.
func groupName(it item, v string) string {
	const form = "1 to 16 letters and digits"
	if len(v) > protocol.GroupNameLen {
		it.warn("%q is longer than %d characters: truncated to %q", v, protocol.GroupNameLen, v[:protocol.GroupNameLen])
		v = v[:protocol.GroupNameLen]
	}
	if !validGroupName(v) {
		it.fail(form, "%q is not a valid group name", v)
	}
	return v
}

func validGroupName(g string) bool {
	if g == "" || len(g) > protocol.GroupNameLen {
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

// allowHosts reads the repeatable allow_hosts: "*" anywhere means
// everybody; empty values are skipped; a '[' range must be closed.
func (r *reader) allowHosts() []string {
	var out []string
	for _, e := range r.f.allEntries("allow_hosts") {
		v := e.Value
		if v == "*" {
			return []string{"*"}
		}
		if v == "" {
			continue
		}
		if i := strings.IndexByte(v, '['); i >= 0 && !strings.Contains(v[i:], "]") {
			item{r: r, key: "allow_hosts", e: e}.fail(`"*", a host name or address, a CIDR network such as 192.168.5.64/26, or a range such as 10.0.1.[1-15,20]`, "%q: expect ']'", v)
			return nil
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return []string{"*"}
	}
	return out
}
