package httpfast

import (
	"errors"
	"strconv"
	"strings"
)

// Errors of ParseRange.
var (
	ErrBadRange      = errors.New("malformed or multiple ranges")
	ErrUnsatisfiable = errors.New("range not satisfiable")
)

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
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, ErrBadRange
	}
	if first == "" {
		// "-N": the last N bytes.
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, ErrBadRange
		}
		n = min(n, size)
		if n == 0 {
			return 0, 0, ErrUnsatisfiable
		}
		return size - n, n, nil
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, ErrBadRange
	}
	e := size - 1
	if last != "" {
		if e, err = strconv.ParseInt(last, 10, 64); err != nil || e < s {
			return 0, 0, ErrBadRange
		}
		e = min(e, size-1)
	}
	if s >= size {
		return 0, 0, ErrUnsatisfiable
	}
	return s, e - s + 1, nil
}
