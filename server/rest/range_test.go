package rest

import (
	"net/http"
	"testing"
	"time"
)

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
