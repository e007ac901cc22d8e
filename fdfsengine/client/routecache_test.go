package client

import (
	"testing"
	"time"
)

func TestRouteCache(t *testing.T) {
	a := Server{Group: "group1", IP: "127.0.0.1", Port: 23000}
	b := Server{Group: "group1", IP: "127.0.0.2", Port: 23000}
	now := time.Unix(1_700_000_000, 0)

	if rc := newRouteCache(0, 10); rc != nil {
		t.Fatal("a zero TTL must disable the cache")
	}
	rc := newRouteCache(time.Minute, 2)
	first := rc.store("f1", []Server{a, b}, now)
	// Later picks rotate over both, starting after the first.
	seen := map[string]int{first.IP: 1}
	for range 5 {
		s := rc.pick("f1", now.Add(time.Second))
		if s == nil {
			t.Fatal("no pick for a live entry")
		}
		seen[s.IP]++
	}
	if seen[a.IP] != 3 || seen[b.IP] != 3 {
		t.Fatalf("picks %v, want 3 of each over 6 reads", seen)
	}
	if s := rc.pick("f1", now.Add(time.Minute+time.Second)); s != nil {
		t.Fatalf("expired entry picked %v", s)
	}
	if s := rc.pick("nope", now); s != nil {
		t.Fatalf("unknown file picked %v", s)
	}

	// The cache holds at most max entries.
	rc.store("f2", []Server{a}, now)
	rc.store("f3", []Server{b}, now)
	if n := len(rc.m); n != 2 {
		t.Fatalf("%d entries, want the bound 2", n)
	}
	if s := rc.pick("f3", now); s == nil || s.IP != b.IP {
		t.Fatalf("the newest entry was evicted: %v", s)
	}
	rc.forget("f3")
	if s := rc.pick("f3", now); s != nil {
		t.Fatalf("forgotten entry picked %v", s)
	}
	var off *routeCache
	off.forget("f1") // a disabled cache ignores forget
}
