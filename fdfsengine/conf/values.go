package conf

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Byte-size units accepted by ParseBytes (binary, as upstream parse_bytes).
const (
	KB int64 = 1 << 10
	MB int64 = 1 << 20
	GB int64 = 1 << 30
	TB int64 = 1 << 40
)

// The accepted forms named in error messages.
const (
	formInt      = "an integer"
	formBool     = "true, yes, on, 1 or false, no, off, 0 (case-insensitive), or empty for false"
	formSize     = "a byte count with an optional unit K, M, G or T (KB, MB, GB, TB; case-insensitive, binary), e.g. 256KB"
	formTime     = "HH:MM or HH:MM:SS, from 00:00 to 23:59"
	formReserved = "a size such as 20G or 1024MB, or a percentage in (0%, 100%) such as 20% or 10.5%"
)

// scanInt reads what C's strtoll/atoi read: leading blanks, an optional
// sign, then decimal digits. It returns the number, whether there were
// digits, the unread rest, and whether the number overflowed int64.
func scanInt(s string) (n int64, digits bool, rest string, overflow bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			overflow = true
		} else {
			n = n*10 + d
		}
		i++
	}
	if i == start {
		return 0, false, s, false
	}
	if neg {
		n = -n
	}
	return n, true, s[i:], overflow
}

// atoiPrefix is C atoi for small numbers: 0 when there is no number.
func atoiPrefix(s string) int {
	n, ok, _, overflow := scanInt(s)
	if !ok || overflow || n > math.MaxInt32 || n < math.MinInt32 {
		return 0
	}
	return int(n)
}

// ParseBytes parses a size as upstream parse_bytes does: a decimal count,
// optionally followed (after blanks) by a unit K, M, G or T, itself
// optionally followed by B (case-insensitive, binary units): "256KB",
// "1MB", "2G", "64 kb", "123". Negative counts, other units ("10B", "1.5MB")
// and a missing number are errors.
func ParseBytes(s string) (int64, error) {
	n, digits, rest, overflow := scanInt(s)
	if !digits {
		return 0, fmt.Errorf("bad size %q: no number: %w", s, protocol.ErrInvalid)
	}
	if overflow {
		return 0, fmt.Errorf("size %q overflows: %w", s, protocol.ErrInvalid)
	}
	if n < 0 {
		return 0, fmt.Errorf("bad size %q: negative: %w", s, protocol.ErrInvalid)
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest == "" {
		return n, nil
	}
	var mul int64
	switch rest[0] {
	case 'K', 'k':
		mul = KB
	case 'M', 'm':
		mul = MB
	case 'G', 'g':
		mul = GB
	case 'T', 't':
		mul = TB
	default:
		return 0, fmt.Errorf("bad size %q (unknown unit %q): %w", s, rest, protocol.ErrInvalid)
	}
	tail := rest[1:]
	if tail != "" && (tail[0] == 'B' || tail[0] == 'b') {
		tail = tail[1:]
	}
	if strings.TrimLeft(tail, " \t") != "" {
		return 0, fmt.Errorf("bad size %q (unknown unit %q): %w", s, rest, protocol.ErrInvalid)
	}
	if n > math.MaxInt64/mul {
		return 0, fmt.Errorf("size %q overflows: %w", s, protocol.ErrInvalid)
	}
	return n * mul, nil
}

// ParseBool parses true/yes/on/1 and false/no/off/0 (case-insensitive).
// Upstream treats every value other than true/yes/on/1 as false; the conf
// loaders accept the empty value as false too, and refuse other words.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q: %w", s, protocol.ErrInvalid)
}

// Reserved is reserved_storage_space: either a percentage of each store
// path's total space or an absolute byte count.
type Reserved struct {
	IsPercent bool
	Percent   float64 // in (0, 100) when IsPercent
	Bytes     int64   // when !IsPercent
}

// ParseReserved parses reserved_storage_space as upstream
// fdfs_parse_storage_reserved_space: "10%" or "10.5%" (a number in (0, 100)
// immediately followed by '%'), or a size for ParseBytes ("1G", "1024MB",
// bytes).
func ParseReserved(s string) (Reserved, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimLeft(p, " \t"), 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v >= 100 {
			return Reserved{}, fmt.Errorf("bad reserved space %q: %w", s, protocol.ErrInvalid)
		}
		return Reserved{IsPercent: true, Percent: v}, nil
	}
	b, err := ParseBytes(t)
	if err != nil {
		return Reserved{}, fmt.Errorf("bad reserved space: %w", err)
	}
	return Reserved{Bytes: b}, nil
}

// String renders the value the way the tracker's parameter reply does:
// "10.00%" for a percentage, "<n>MB" (whole megabytes) otherwise.
func (r Reserved) String() string {
	if r.IsPercent {
		return strconv.FormatFloat(r.Percent, 'f', 2, 64) + "%"
	}
	return strconv.FormatInt(r.Bytes/MB, 10) + "MB"
}
