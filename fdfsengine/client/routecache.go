package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// DefaultReadRouteEntries bounds the read route cache when
// Config.ReadRouteEntries is unset (entries; one is about 200 bytes).
const DefaultReadRouteEntries = 65536

// routeCache remembers, per file ID, the storages a tracker listed as able
// to serve reads of it (QUERY_FETCH_ALL) and hands them out in turn. Read
// operations then need one round trip (to the storage) instead of two,
// which halves the cost of small downloads for a busy client such as the
// API gateway. Upstream clients ask the tracker every time; Config leaves
// the cache off unless ReadRouteTTL is set.
//
// A cached list only goes stale in harmless or detectable ways: storages
// that finish syncing the file are added at the next refresh (the list
// never names a storage the tracker did not consider synced), and a listed
// storage that became unreachable or lost the file fails the read, which
// then drops the entry and asks the tracker again (Client.withReader).
type routeCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]*route
}

type route struct {
	servers []Server
	expires time.Time
	next    atomic.Uint32 // round-robin position in servers
}

func newRouteCache(ttl time.Duration, max int) *routeCache {
	if ttl <= 0 {
		return nil
	}
	if max <= 0 {
		max = DefaultReadRouteEntries
	}
	return &routeCache{ttl: ttl, max: max, m: make(map[string]*route)}
}

// pick returns the next storage of fileID's live entry, or nil.
func (rc *routeCache) pick(fileID string, now time.Time) *Server {
	rc.mu.Lock()
	r := rc.m[fileID]
	rc.mu.Unlock()
	if r == nil || now.After(r.expires) {
		return nil
	}
	s := r.servers[int(r.next.Add(1)-1)%len(r.servers)]
	return &s
}

// store caches servers for fileID and returns the first to use: a random
// one, so that clients refreshing at the same time spread over the list.
func (rc *routeCache) store(fileID string, servers []Server, now time.Time) *Server {
	r := &route{servers: servers, expires: now.Add(rc.ttl)}
	first := rand.IntN(len(servers))
	r.next.Store(uint32(first + 1))
	rc.mu.Lock()
	if _, ok := rc.m[fileID]; !ok && len(rc.m) >= rc.max {
		// Full: drop an arbitrary entry (map order is random), which
		// keeps eviction O(1) however many entries have expired.
		for k := range rc.m {
			delete(rc.m, k)
			break
		}
	}
	rc.m[fileID] = r
	rc.mu.Unlock()
	s := servers[first]
	return &s
}

// forget drops fileID's entry, after a change or a failed cached read.
func (rc *routeCache) forget(fileID string) {
	if rc == nil {
		return
	}
	rc.mu.Lock()
	delete(rc.m, fileID)
	rc.mu.Unlock()
}

// readServer returns a storage to read fileID from and whether it came
// from the cache.
func (cl *Client) readServer(ctx context.Context, fileID string) (*Server, bool, error) {
	rc := cl.routes
	if rc == nil {
		srv, err := cl.QueryFetch(ctx, fileID)
		return srv, false, err
	}
	now := time.Now()
	if srv := rc.pick(fileID, now); srv != nil {
		return srv, true, nil
	}
	servers, err := cl.QueryFetchAll(ctx, fileID)
	if err != nil {
		return nil, false, err
	}
	if len(servers) == 0 {
		// Not an answer a tracker gives (it says ENOENT instead), but
		// an empty list must not be cached.
		srv, err := cl.QueryFetch(ctx, fileID)
		return srv, false, err
	}
	return rc.store(fileID, servers, now), false, nil
}

// withReader runs fn against a storage that serves reads of fileID and
// returns the address fn ran against. fn reports whether it produced
// output (bytes written to the caller) before it failed.
//
// A cached pick that fails before any output, because the storage is
// unreachable or (with notFoundIsStale) does not have the file, may be
// stale: the entry is dropped and fn runs once more against the tracker's
// fresh answer. Metadata reads pass notFoundIsStale=false: a storage
// answers ENOENT for a file without metadata.
func (cl *Client) withReader(ctx context.Context, fileID string, notFoundIsStale bool, fn func(addr string) (bool, error)) (string, error) {
	srv, cached, err := cl.readServer(ctx, fileID)
	if err != nil {
		return "", err
	}
	addr := srv.Addr()
	started, err := fn(addr)
	stale := !fdfsnet.IsStatus(err) || notFoundIsStale && errors.Is(err, protocol.ErrNotFound)
	if err == nil || !cached || started || ctx.Err() != nil || !stale {
		return addr, err
	}
	cl.routes.forget(fileID)
	if srv, _, err = cl.readServer(ctx, fileID); err != nil {
		return "", err
	}
	addr = srv.Addr()
	_, err = fn(addr)
	return addr, err
}
