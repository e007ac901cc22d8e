package httpfast

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Errors of ParseRange and ParseRanges.
var (
	ErrBadRange      = errors.New("malformed or multiple ranges")
	ErrUnsatisfiable = errors.New("range not satisfiable")
	ErrTooManyRanges = errors.New("too many ranges")
)

// MaxRanges is the most range-specs a Range header may list (nginx's
// max_ranges, Apache's MaxRanges, whose default this is). Each part of a
// multipart answer costs a part header of about 100 bytes and a read, so
// thousands of 1-byte ranges turn a request into an answer ten times its
// size for a good share of a CPU-second; no real client sends this many.
// Beyond it the header is ignored and the whole file sent, as nginx does:
// a 200 is a valid answer to any Range request (RFC 9110 §14.2), which a
// 416 would not be for a client that merely asked for many ranges.
const MaxRanges = 200

// Range is a byte range of a file: Length bytes from Start.
type Range struct{ Start, Length int64 }

// ParseRange parses a Range header for a file of size bytes and returns
// the first byte and the length of the one range it asks for. Several
// ranges or a malformed header give ErrBadRange (RFC 9110 lets a server
// then send the whole file); a range that starts past the end, or an
// empty suffix, gives ErrUnsatisfiable (416).
func ParseRange(h string, size int64) (start, length int64, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, ErrBadRange
	}
	r, err := parseSpec(strings.TrimSpace(spec), size)
	return r.Start, r.Length, err
}

// ParseRanges parses a Range header of one or more range-specs for a file
// of size bytes. It returns the satisfiable ranges with overlapping and
// adjacent ones coalesced, which RFC 9110 §15.3.7 (RFC 7233 §4.1) allows
// whatever their order and which bounds the answer by the file's size.
// When nothing coalesces the client's order is kept, as RFC 9110 §14.6
// asks; otherwise the ranges come in ascending order. More than MaxRanges
// list elements give ErrTooManyRanges (send the whole file), a malformed
// spec ErrBadRange, and no satisfiable range ErrUnsatisfiable.
func ParseRanges(h string, size int64) ([]Range, error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return nil, ErrBadRange
	}
	// Counted before any parsing, so a huge list costs one scan.
	if strings.Count(spec, ",") >= MaxRanges {
		return nil, ErrTooManyRanges
	}
	var rs []Range
	for s := range strings.SplitSeq(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue // RFC 9110 §5.6.1: empty list elements are ignored
		}
		r, err := parseSpec(s, size)
		switch {
		case errors.Is(err, ErrUnsatisfiable):
			continue // dropped; the others may still be served
		case err != nil:
			return nil, err
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, ErrUnsatisfiable
	}
	return coalesce(rs), nil
}

// coalesce merges overlapping and adjacent ranges. It returns rs itself,
// in the client's order, when none do.
func coalesce(rs []Range) []Range {
	if len(rs) < 2 {
		return rs
	}
	sorted := slices.SortedFunc(slices.Values(rs), func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	out := sorted[:1]
	for _, r := range sorted[1:] {
		last := &out[len(out)-1]
		if end := last.Start + last.Length; r.Start <= end {
			last.Length = max(end, r.Start+r.Length) - last.Start
			continue
		}
		out = append(out, r)
	}
	if len(out) == len(rs) {
		return rs
	}
	return out
}

// FormatRanges writes rs back as a Range header value.
func FormatRanges(rs []Range) string {
	b := []byte("bytes=")
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, r.Start, 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, r.Start+r.Length-1, 10)
	}
	return string(b)
}

// parseSpec parses one range-spec ("a-b", "a-" or "-n") for a file of size
// bytes.
func parseSpec(spec string, size int64) (Range, error) {
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return Range{}, ErrBadRange
	}
	if first == "" {
		// "-N": the last N bytes.
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return Range{}, ErrBadRange
		}
		n = min(n, size)
		if n == 0 {
			return Range{}, ErrUnsatisfiable
		}
		return Range{size - n, n}, nil
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return Range{}, ErrBadRange
	}
	e := size - 1
	if last != "" {
		if e, err = strconv.ParseInt(last, 10, 64); err != nil || e < s {
			return Range{}, ErrBadRange
		}
		e = min(e, size-1)
	}
	if s >= size {
		return Range{}, ErrUnsatisfiable
	}
	return Range{s, e - s + 1}, nil
}
