package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The model of the mutation tests: every file a client created and was
// acknowledged, its acknowledged bytes and metadata, and every version it
// may show while an operation is in flight or its outcome unknown. Each
// file is changed by one worker at a time (its owner); readers check that
// whatever they get is one of its versions, never a mix.

// tracked is one acknowledged file.
type tracked struct {
	id       string
	group    string
	appender bool
	slave    bool

	mu       sync.Mutex
	data     []byte            // acknowledged content
	meta     map[string]string // acknowledged metadata
	deleted  bool
	broken   bool              // a failed operation left it unsettled
	versions map[[32]byte]bool // sha256 of every content acknowledged or in flight
	metas    map[[32]byte]bool // sha256 of every packed metadata acknowledged or in flight
}

func newTracked(id string, data []byte, meta map[string]string) *tracked {
	g, _, _ := fileid.Split(id)
	n, _ := parseName(id)
	f := &tracked{id: id, group: g, appender: n != nil && n.Appender, slave: n != nil && n.Slave, data: data, meta: meta,
		versions: map[[32]byte]bool{}, metas: map[[32]byte]bool{}}
	f.versions[sha256.Sum256(data)] = true
	f.metas[sha256.Sum256(protocol.PackMeta(meta))] = true
	return f
}

func parseName(id string) (*fileid.Name, error) {
	_, name, err := fileid.Split(id)
	if err != nil {
		return nil, err
	}
	return fileid.Parse(name)
}

// snapshot is what a storage serves for a file (or what it should).
type snapshot struct {
	exists bool
	data   []byte
	meta   []byte // packed
}

func (s snapshot) equal(o snapshot) bool {
	return s.exists == o.exists && (!s.exists || bytes.Equal(s.data, o.data) && bytes.Equal(s.meta, o.meta))
}

func (s snapshot) String() string {
	if !s.exists {
		return "no file"
	}
	return fmt.Sprintf("%d bytes (sha256 %x), metadata %q", len(s.data), sha256.Sum256(s.data), s.meta)
}

func (f *tracked) isBroken() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.broken
}

// current is f's acknowledged state.
func (f *tracked) current() snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return snapshot{exists: !f.deleted, data: f.data, meta: protocol.PackMeta(f.meta)}
}

// allow records a version f may show from now on (an operation is about
// to be sent).
func (f *tracked) allow(s snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.exists {
		f.versions[sha256.Sum256(s.data)] = true
		f.metas[sha256.Sum256(s.meta)] = true
	}
}

// set makes s f's acknowledged state.
func (f *tracked) set(s snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = !s.exists
	f.data = s.data
	f.meta, _ = protocol.UnpackMeta(s.meta)
}

// known tells whether data and packed meta (nil: not read) are versions f
// may show.
func (f *tracked) known(data, meta []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return (data == nil || f.versions[sha256.Sum256(data)]) && (meta == nil || f.metas[sha256.Sum256(meta)])
}

// probe reads f's state on one storage directly: DOWNLOAD_FILE and
// GET_METADATA on its address.
func probe(addr, id string) (snapshot, error) {
	st, data, err := fetch(addr, id)
	if err != nil {
		return snapshot{}, err
	}
	switch st {
	case 0:
	case protocol.ENOENT:
		return snapshot{}, nil
	default:
		return snapshot{}, fmt.Errorf("download: status %d", st)
	}
	st, meta, err := rawCall(addr, protocol.CmdGetMetadata, id)
	switch {
	case err != nil:
		return snapshot{}, err
	case st == protocol.ENOENT:
		meta = nil // no metadata file (the file may be going: the caller polls)
	case st != 0:
		return snapshot{}, fmt.Errorf("get metadata: status %d", st)
	}
	return snapshot{exists: true, data: data, meta: meta}, nil
}

// rawCall sends a command whose body is a group and file name to one
// storage and returns the status and body of its reply.
func rawCall(addr string, cmd byte, id string) (byte, []byte, error) {
	g, name, err := fileid.Split(id)
	if err != nil {
		return 0, nil, err
	}
	return rawCmd(addr, cmd, (&protocol.FileRequest{Group: g, Name: name}).Encode(), 1<<20)
}

// sourceOf is the address of the storage that created fileID now: the
// source address of its name (sourceAddr), followed through the storages'
// moves, as the trackers route its changes (QUERY_UPDATE).
func (c *cluster) sourceOf(fileID string) (string, error) {
	addr, err := sourceAddr(fileID)
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	c.addrMu.RLock()
	defer c.addrMu.RUnlock()
	return net.JoinHostPort(c.moves.Current(host), port), nil
}

// addrsOf lists the addresses of the storages of group g.
func (c *cluster) addrsOf(g string) []string {
	c.addrMu.RLock()
	defer c.addrMu.RUnlock()
	var out []string
	for i, s := range c.storages {
		if c.groups[i] == g {
			out = append(out, s.addr)
		}
	}
	return out
}

// settle waits until every storage of f's group serves the same state of
// f and tells whether it is after (a failed operation landed) or before
// (it did not). Any other state, or storages that still disagree after
// waitLimit, is an error: something half-done.
func (c *cluster) settle(f *tracked, before, after snapshot) (bool, error) {
	deadline := time.Now().Add(waitLimit)
	var last string
	for time.Now().Before(deadline) {
		var got []snapshot
		for _, addr := range c.addrsOf(f.group) {
			s, err := probe(addr, f.id)
			if err != nil {
				last = fmt.Sprintf("%s: %v", addr, err)
				break
			}
			got = append(got, s)
		}
		if len(got) == len(c.addrsOf(f.group)) {
			same := true
			for _, s := range got[1:] {
				same = same && s.equal(got[0])
			}
			switch {
			case same && got[0].equal(after):
				return true, nil
			case same && got[0].equal(before):
				return false, nil
			case same:
				return false, fmt.Errorf("%s: every storage serves %v: neither before (%v) nor after (%v)", f.id, got[0], before, after)
			}
			last = fmt.Sprintf("storages disagree: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, fmt.Errorf("%s: no settled state after %v: %s", f.id, waitLimit, last)
}

// opStats counts, per kind of operation, what the clients saw, and the
// latency of the acknowledged attempts.
type opStats struct {
	mu      sync.Mutex
	acked   map[string]int
	retried map[string]int // failed attempts that had not landed, retried
	landed  map[string]int // failed attempts that had landed anyway
	lat     map[string][]time.Duration
	// unsettled counts failed operations after which the storages did not
	// agree on the old or the new state (an append or modify killed half
	// received stays half written: docs/reliability.md); they are logged,
	// not failed on, and the file is checked no more.
	unsettled atomic.Int64
	errs      []error
}

func newOpStats() *opStats {
	return &opStats{acked: map[string]int{}, retried: map[string]int{}, landed: map[string]int{}, lat: map[string][]time.Duration{}}
}

func (s *opStats) ack(op string, took time.Duration) {
	s.mu.Lock()
	s.acked[op]++
	s.lat[op] = append(s.lat[op], took)
	s.mu.Unlock()
}

func (s *opStats) count(m map[string]int, op string) {
	s.mu.Lock()
	m[op]++
	s.mu.Unlock()
}

func (s *opStats) unsettle(err error) {
	s.unsettled.Add(1)
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *opStats) total(m map[string]int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// report logs one line per kind of operation.
func (s *opStats) report(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range slices.Sorted(maps.Keys(s.acked)) {
		l := s.lat[op]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		p99 := l[(len(l)*99)/100]
		t.Logf("%-14s acknowledged %6d, failed-but-retried %4d, landed despite the error %3d, latency p50 %v p99 %v",
			op, s.acked[op], s.retried[op], s.landed[op], l[len(l)/2].Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
}

// mutate runs one change of f until it is acknowledged or found to have
// landed: send sends it; after is f's state once it has. A failed attempt
// is settled on every storage of the group before it is retried.
func (c *cluster) mutate(s *opStats, op string, f *tracked, after snapshot, stop <-chan struct{}, send func(ctx context.Context) error) bool {
	before := f.current()
	f.allow(after)
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		c.writes.RLock()
		err := send(ctx)
		c.writes.RUnlock()
		cancel()
		if err == nil {
			s.ack(op, time.Since(start))
			f.set(after)
			return true
		}
		landed, serr := c.settle(f, before, after)
		if serr != nil {
			f.mu.Lock()
			f.broken = true
			f.mu.Unlock()
			s.unsettle(fmt.Errorf("%s failed (%v); then %w", op, err, serr))
			return false
		}
		if landed {
			s.count(s.landed, op)
			f.set(after)
			return true
		}
		s.count(s.retried, op)
		select {
		case <-stop:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// verifyModel checks every live file of files on every storage of its
// group (bytes and metadata) and that every deleted one is gone
// everywhere, waiting up to waitLimit for replication. It returns lost
// (missing), corrupt (other bytes or metadata) and back (deleted files
// still served).
func (c *cluster) verifyModel(t *testing.T, files []*tracked) (lost, corrupt, back int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for _, f := range files {
		want := f.current()
		for _, addr := range c.addrsOf(f.group) {
			var got snapshot
			var err error
			for {
				got, err = probe(addr, f.id)
				if err == nil && got.equal(want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			switch {
			case err == nil && got.equal(want):
			case err != nil:
				t.Errorf("%s: %s: %v", addr, f.id, err)
				lost++
			case !want.exists:
				t.Errorf("%s: %s deleted (acknowledged) but served: %v", addr, f.id, got)
				back++
			case !got.exists:
				t.Errorf("%s: acknowledged %s not served", addr, f.id)
				lost++
			default:
				t.Errorf("%s: %s serves %v, acknowledged %v", addr, f.id, got, want)
				corrupt++
			}
		}
	}
	return lost, corrupt, back
}
