package httpfast

import (
	"errors"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h             string
		size          int64
		start, length int64
		err           error
	}{
		{"bytes=0-9", 100, 0, 10, nil},
		{"bytes=90-", 100, 90, 10, nil},
		{"bytes=90-200", 100, 90, 10, nil},
		{"bytes=50-1000", 100, 50, 50, nil},
		{"bytes=-10", 100, 90, 10, nil},
		{"bytes=-200", 100, 0, 100, nil},
		{"bytes= 5-5", 100, 5, 1, nil},
		{"bytes=100-", 100, 0, 0, ErrUnsatisfiable},
		{"bytes=-0", 100, 0, 0, ErrUnsatisfiable},
		{"bytes=-5", 0, 0, 0, ErrUnsatisfiable},
		{"bytes=0-", 0, 0, 0, ErrUnsatisfiable},
		{"bytes=9-1", 100, 0, 0, ErrBadRange},
		{"bytes=0-1,3-4", 100, 0, 0, ErrBadRange},
		{"bytes=a-", 100, 0, 0, ErrBadRange},
		{"bytes=x-1", 100, 0, 0, ErrBadRange},
		{"bytes=-a", 100, 0, 0, ErrBadRange},
		{"bytes=5", 100, 0, 0, ErrBadRange},
		{"bytes=-", 100, 0, 0, ErrBadRange},
		{"lines=0-1", 100, 0, 0, ErrBadRange},
		{"bytes=-9223372036854775808", 100, 0, 0, ErrBadRange},
		{"bytes=99999999999999999999-", 100, 0, 0, ErrBadRange},
	} {
		s, n, err := ParseRange(tc.h, tc.size)
		if !errors.Is(err, tc.err) || (err == nil && (s != tc.start || n != tc.length)) {
			t.Errorf("ParseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", tc.h, tc.size, s, n, err, tc.start, tc.length, tc.err)
		}
	}
}
