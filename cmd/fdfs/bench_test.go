package main

import (
	"bytes"
	"io"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true},
		{"5KB", 5 << 10, true},
		{"5k", 5 << 10, true},
		{"1GiB", 1 << 30, true},
		{"2MB", 2 << 20, true},
		{"3M", 3 << 20, true},
		{"0", 0, true},
		{"", 0, false},
		{"KB", 0, false},
		{"-1", 0, false},
		{"1.5MB", 0, false},
		{"99999999999T", 0, false},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestPatternReader(t *testing.T) {
	for _, n := range []int64{0, 1, int64(len(pattern)), int64(len(pattern))*3 + 17} {
		var b bytes.Buffer
		got, err := io.Copy(&b, &patternReader{n: n})
		if err != nil || got != n {
			t.Fatalf("n=%d: copied %d, %v", n, got, err)
		}
		for i := 0; i < b.Len(); i += 4099 {
			if b.Bytes()[i] != pattern[i%len(pattern)] {
				t.Fatalf("n=%d: byte %d differs from the pattern", n, i)
			}
		}
	}
}
