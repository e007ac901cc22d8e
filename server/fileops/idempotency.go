package fileops

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Defaults of the idempotency keys of uploads.
const (
	DefaultIdempotencyTTL     = 24 * time.Hour
	DefaultIdempotencyEntries = 100_000
	// MaxIdempotencyKeyLen bounds a key (bytes of printable ASCII).
	MaxIdempotencyKeyLen = 128
)

// Idempotency remembers the file IDs of uploads made with an idempotency
// key, so that an upload repeated with the same key (a retry after a lost
// reply) stores nothing and answers the first file ID.
//
// It is a bounded cache in the memory of one gateway process: group+key ->
// file ID for TTL (24 h by default), at most Max entries (100,000; the
// oldest go first). Its limits, documented for clients in
// docs/api-behaviour.md: a retry that reaches another gateway instance,
// or the same one after a restart, after TTL or after eviction, is not
// recognised and stores a second file; the answer of a recognised key is
// the first file ID even if that file was deleted since. FastDFS cannot
// look files up by their metadata, so the key is not stored with the
// file.
//
// Two uploads with the same key at the same time: the second waits for
// the first; if the first fails the second runs as a new upload.
type Idempotency struct {
	TTL time.Duration
	Max int
	Now func() time.Time // nil: time.Now

	mu      sync.Mutex
	entries map[string]*idemEntry
	order   *list.List // of *idemEntry, oldest first
}

type idemEntry struct {
	scope   string
	spec    string        // fingerprint of the upload's spec
	done    chan struct{} // closed once the first upload ended
	id      string        // set before done closes, "" when it failed
	expires time.Time
	elem    *list.Element
}

// NewIdempotency returns a cache keeping keys for ttl, at most max of them
// (0: the defaults).
func NewIdempotency(ttl time.Duration, max int) *Idempotency {
	if ttl <= 0 {
		ttl = DefaultIdempotencyTTL
	}
	if max <= 0 {
		max = DefaultIdempotencyEntries
	}
	return &Idempotency{TTL: ttl, Max: max, entries: make(map[string]*idemEntry), order: list.New()}
}

func (c *Idempotency) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Len returns the number of keys remembered (in flight included).
func (c *Idempotency) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// claim returns the entry of scope: a new one the caller owns (owner
// true), or the existing one, done or in flight.
func (c *Idempotency) claim(scope, spec string) (e *idemEntry, owner bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[scope]; e != nil {
		select {
		case <-e.done:
			if e.id == "" || !c.now().Before(e.expires) {
				c.remove(e)
				break
			}
			return e, false
		default:
			return e, false
		}
	}
	e = &idemEntry{scope: scope, spec: spec, done: make(chan struct{})}
	e.elem = c.order.PushBack(e)
	c.entries[scope] = e
	for c.order.Len() > c.Max {
		c.remove(c.order.Front().Value.(*idemEntry))
	}
	return e, true
}

// remove forgets e; the caller holds mu.
func (c *Idempotency) remove(e *idemEntry) {
	if c.entries[e.scope] == e {
		delete(c.entries, e.scope)
	}
	if e.elem != nil {
		c.order.Remove(e.elem)
		e.elem = nil
	}
}

// settle ends the upload of the entry the caller owns: id "" (failed)
// forgets it, so that a retry uploads.
func (c *Idempotency) settle(e *idemEntry, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.id = id
	e.expires = c.now().Add(c.TTL)
	if id == "" {
		c.remove(e)
	}
	close(e.done)
}

// checkIdempotencyKey refuses keys that are empty-ish, too long or not
// printable ASCII (they travel in HTTP headers).
func checkIdempotencyKey(k string) error {
	if len(k) > MaxIdempotencyKeyLen {
		return InvalidField("idempotency_key", fmt.Sprintf("idempotency key of %d bytes exceeds the maximum of %d", len(k), MaxIdempotencyKeyLen))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return InvalidField("idempotency_key", "an idempotency key must be printable ASCII without spaces")
		}
	}
	return nil
}

// fingerprint identifies what an upload stores, so that a key reused for
// another upload is told apart from a retry.
func fingerprint(u Upload, size int64) string {
	h := sha256.New()
	w := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	w(u.Kind.String())
	w(u.Group)
	w(u.Ext)
	w(u.Master)
	w(u.Prefix)
	w(strconv.FormatInt(size, 10))
	for _, k := range slices.Sorted(maps.Keys(u.Meta)) {
		w(k)
		w(u.Meta[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uploadOnce runs upload unless u.IdempotencyKey names an earlier upload
// of the same spec: then c is read to its end (and checked as an upload
// would check it) and the first file ID returned. A key used with another
// spec is refused (FAILED_PRECONDITION, ReasonIdempotencyKeyReused), its
// content drained too.
func (f *Files) uploadOnce(ctx context.Context, u Upload, c Content, upload func() (string, error)) (string, error) {
	scope := u.Group + "\x00" + u.IdempotencyKey
	spec := fingerprint(u, c.Size)
	for {
		e, owner := f.idem.claim(scope, spec)
		if owner {
			id, err := upload()
			f.idem.settle(e, id)
			return id, err
		}
		if e.spec != spec {
			if err := drain(&c); err != nil {
				return "", err
			}
			return "", ToStatus(KeyReused(u.IdempotencyKey, f.idem.firstID(e)), "")
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return "", ToStatus(ctx.Err(), "")
		}
		if e.id == "" {
			continue // the first upload failed: this one runs
		}
		if err := drain(&c); err != nil {
			return "", err
		}
		f.log.Debug("upload repeated with its idempotency key", "file_id", e.id)
		return e.id, nil
	}
}

// firstID is the file ID of e's upload, "" while it runs.
func (c *Idempotency) firstID(e *idemEntry) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.id
}

// drain reads the Size bytes of c and checks that it ends there, as the
// engine and Finish would for an upload.
func drain(c *Content) error {
	n, err := io.Copy(io.Discard, io.LimitReader(c.R, c.Size))
	if err == nil && n < c.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if cerr := c.failed(); cerr != nil {
			return cerr
		}
		return ToStatus(Invalid(fmt.Sprintf("the content ended after %d of %d bytes", n, c.Size)), "")
	}
	return c.finish()
}
