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

// ParseBytes parses a size such as "256KB", "1MB", "2G", "2GB" or "123"
// (plain bytes). Units are binary and case-insensitive; the trailing "B" is
// optional.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("bad size %q: %w", s, protocol.ErrInvalid)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: %w", s, protocol.ErrInvalid)
	}
	unit := strings.ToUpper(strings.TrimSpace(t[i:]))
	mul := int64(1)
	switch unit {
	case "", "B":
	case "K", "KB":
		mul = KB
	case "M", "MB":
		mul = MB
	case "G", "GB":
		mul = GB
	case "T", "TB":
		mul = TB
	default:
		return 0, fmt.Errorf("bad size %q (unit %q): %w", s, unit, protocol.ErrInvalid)
	}
	if n > math.MaxInt64/mul {
		return 0, fmt.Errorf("size %q overflows: %w", s, protocol.ErrInvalid)
	}
	return n * mul, nil
}

// ParseBool parses true/yes/on/1 and false/no/off/0 (case-insensitive).
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
	Percent   float64 // 0..100 when IsPercent
	Bytes     int64   // when !IsPercent
}

// ParseReserved parses "10%", "10.5%", "1G", "1024MB" or plain bytes.
func ParseReserved(s string) (Reserved, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > 100 {
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
