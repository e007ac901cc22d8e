package ctools

import (
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// datetime is formatDatetime(t, "%Y-%m-%d %H:%M:%S") in local time.
func datetime(unix int64) string { return time.Unix(unix, 0).Format(time.DateTime) }

// formatIP is format_ip_address: IPv6 addresses in brackets.
func formatIP(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

// mbHuman is FDFS_MB_TO_HUMAN_STR: bytes_to_human_str of mb MiB.
func mbHuman(mb int64) string { return bytesHuman(mb << 20) }

// bytesHuman is libfastcommon's bytes_to_human_str: "512  B", "1.5 KB",
// "37 GB" (one decimal below 10 units, rounded to the nearest).
func bytesHuman(n int64) string {
	const kb = 1 << 10
	if n < kb {
		return strconv.FormatInt(n, 10) + "  B"
	}
	units := []struct {
		size int64
		name string
	}{{1 << 60, "E"}, {1 << 50, "P"}, {1 << 40, "T"}, {1 << 30, "G"}, {1 << 20, "M"}, {kb, "K"}}
	for _, u := range units {
		if n >= u.size {
			return unitString(n, u.size) + " " + u.name + "B"
		}
	}
	return ""
}

// unitString is format_bytes_string.
func unitString(n, unit int64) string {
	whole, remain := n/unit, n%unit
	if whole < 10 {
		frac := (remain*10 + unit/2) / unit
		if frac == 10 {
			whole, frac = whole+1, 0
		}
		if whole < 10 {
			return strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(frac, 10)
		}
		return strconv.FormatInt(whole, 10)
	}
	if remain >= unit/2 {
		whole++
	}
	return strconv.FormatInt(whole, 10)
}

// secondsHuman is libfastcommon's seconds_to_human_str: "3 days 1 hour
// 5 seconds", units that are 0 left out, "0 second" for nothing.
func secondsHuman(seconds int64) string {
	s := max(seconds, 0)
	parts := []struct {
		n    int64
		name string
	}{{s / 86400, "day"}, {s % 86400 / 3600, "hour"}, {s % 3600 / 60, "minute"}, {s % 60, "second"}}
	var out []string
	for _, p := range parts {
		if p.n <= 0 {
			continue
		}
		w := strconv.FormatInt(p.n, 10) + " " + p.name
		if p.n != 1 {
			w += "s"
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return "0 second"
	}
	return strings.Join(out, " ")
}

// statusCaption is get_storage_status_caption: the status names, but
// "UNKNOWN" for NONE, which it has no case for.
func statusCaption(st byte) string {
	if st == protocol.StatusNone {
		return "UNKNOWN"
	}
	return protocol.StorageStatusName(st)
}

// rwCaption is fdfs_monitor's get_storage_rw_caption.
func rwCaption(m byte) string {
	switch m {
	case 0:
		return "none (disabled)"
	case protocol.RWRead:
		return "readonly"
	case protocol.RWWrite:
		return "writeonly"
	case protocol.RWRead | protocol.RWWrite:
		return "both (normal)"
	}
	return "unknown"
}
