package rest

import (
	"errors"
	"net/http"
	"testing"
	"time"
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
		{"bytes=-10", 100, 90, 10, nil},
		{"bytes=-200", 100, 0, 100, nil},
		{"bytes= 5-5", 100, 5, 1, nil},
		{"bytes=100-", 100, 0, 0, errUnsatisfiable},
		{"bytes=-0", 100, 0, 0, errUnsatisfiable},
		{"bytes=-5", 0, 0, 0, errUnsatisfiable},
		{"bytes=0-", 0, 0, 0, errUnsatisfiable},
		{"bytes=9-1", 100, 0, 0, errBadRange},
		{"bytes=0-1,3-4", 100, 0, 0, errBadRange},
		{"bytes=a-", 100, 0, 0, errBadRange},
		{"bytes=-a", 100, 0, 0, errBadRange},
		{"bytes=5", 100, 0, 0, errBadRange},
		{"bytes=-", 100, 0, 0, errBadRange},
		{"lines=0-1", 100, 0, 0, errBadRange},
		{"bytes=-9223372036854775808", 100, 0, 0, errBadRange},
		{"bytes=99999999999999999999-", 100, 0, 0, errBadRange},
	} {
		s, n, err := parseRange(tc.h, tc.size)
		if !errors.Is(err, tc.err) || (err == nil && (s != tc.start || n != tc.length)) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", tc.h, tc.size, s, n, err, tc.start, tc.length, tc.err)
		}
	}
}

func TestPreconditions(t *testing.T) {
	const etag = `"abc"`
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	for _, tc := range []struct {
		hdr  map[string]string
		want int
	}{
		{nil, 0},
		{map[string]string{"If-Match": etag}, 0},
		{map[string]string{"If-Match": `"x", ` + etag}, 0},
		{map[string]string{"If-Match": "*"}, 0},
		{map[string]string{"If-Match": "W/" + etag}, 412},
		{map[string]string{"If-Match": `"x"`}, 412},
		{map[string]string{"If-Unmodified-Since": before}, 412},
		{map[string]string{"If-Unmodified-Since": after}, 0},
		{map[string]string{"If-None-Match": etag}, 304},
		{map[string]string{"If-None-Match": "W/" + etag}, 304},
		{map[string]string{"If-None-Match": `"x"`}, 0},
		{map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": after}, 0}, // If-None-Match wins
		{map[string]string{"If-Modified-Since": after}, 304},
		{map[string]string{"If-Modified-Since": mod.Format(http.TimeFormat)}, 304},
		{map[string]string{"If-Modified-Since": before}, 0},
		{map[string]string{"If-Modified-Since": "garbage"}, 0},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := checkPreconditions(r, etag, mod); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.hdr, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ifRange string
		want    bool
	}{
		{"", true}, {etag, true}, {`"x"`, false}, {"W/" + etag, false},
		{mod.Format(http.TimeFormat), true}, {after, false}, {"junk", false},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		if tc.ifRange != "" {
			r.Header.Set("If-Range", tc.ifRange)
		}
		if got := rangeApplies(r, etag, mod); got != tc.want {
			t.Errorf("If-Range %q: %v, want %v", tc.ifRange, got, tc.want)
		}
	}
}
