package httpfast

import (
	"errors"
	"fmt"
	"slices"
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

func TestParseRanges(t *testing.T) {
	// many returns a header of n one-byte ranges, every other byte;
	// manyWant the ranges it asks for.
	many := func(n int) string {
		b := []byte("bytes=")
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, "%d-%d", 2*i, 2*i)
		}
		return string(b)
	}
	manyWant := func(n int) []Range {
		rs := make([]Range, n)
		for i := range rs {
			rs[i] = Range{int64(2 * i), 1}
		}
		return rs
	}
	for _, tc := range []struct {
		name string
		h    string
		size int64
		want []Range
		err  error
	}{
		{"single", "bytes=0-9", 100, []Range{{0, 10}}, nil},
		{"suffix", "bytes=-10", 100, []Range{{90, 10}}, nil},
		{"two in order", "bytes=0-4,10-14", 100, []Range{{0, 5}, {10, 5}}, nil},
		{"client order kept", "bytes=10-14,0-4", 100, []Range{{10, 5}, {0, 5}}, nil},
		{"overlapping", "bytes=0-9,5-14", 100, []Range{{0, 15}}, nil},
		{"adjacent", "bytes=0-4,5-9", 100, []Range{{0, 10}}, nil},
		{"contained", "bytes=0-99,10-19,20-29", 100, []Range{{0, 100}}, nil},
		{"same range repeated", "bytes=0-,0-,0-,0-", 100, []Range{{0, 100}}, nil},
		{"merged out of order", "bytes=50-59,0-4,5-9", 100, []Range{{0, 10}, {50, 10}}, nil},
		{"suffix overlapping", "bytes=80-89,-15", 100, []Range{{80, 20}}, nil},
		{"unsatisfiable dropped", "bytes=0-4,200-300", 100, []Range{{0, 5}}, nil},
		{"empty elements", "bytes=0-4, ,,10-14", 100, []Range{{0, 5}, {10, 5}}, nil},
		{"spaces", "bytes= 0-4 , 10-14", 100, []Range{{0, 5}, {10, 5}}, nil},
		{"at the limit", many(MaxRanges), 1000, manyWant(MaxRanges), nil},
		{"over the limit", many(MaxRanges + 1), 1000, nil, ErrTooManyRanges},
		{"20000 tiny ranges", many(20000), 40000, nil, ErrTooManyRanges},
		{"none satisfiable", "bytes=100-,200-300", 100, nil, ErrUnsatisfiable},
		{"one malformed", "bytes=0-4,x-9", 100, nil, ErrBadRange},
		{"reversed", "bytes=0-4,9-1", 100, nil, ErrBadRange},
		{"not bytes", "lines=0-4,5-9", 100, nil, ErrBadRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRanges(tc.h, tc.size)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ranges %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFormatRanges(t *testing.T) {
	if got := FormatRanges([]Range{{0, 5}, {10, 1}, {99, 1}}); got != "bytes=0-4,10-10,99-99" {
		t.Fatalf("FormatRanges = %q", got)
	}
}
