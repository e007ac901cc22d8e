package storagenode

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"golang.org/x/sys/unix"
)

// Space accounting of the store paths. A write that adds bytes to a store
// path reserves them before its body is read (an upload or a replica its
// size, an append its length, a modify what grows the file) and gives back
// what it has not written when it ends. The free space checked against
// reserved_storage_space, and reported to the trackers, is statfs's minus
// those pending bytes: concurrent writes cannot together overrun the
// reserve, and the trackers learn about space promised to writes in
// progress.

// When a change of a store path's free space is worth a disk usage report
// before stat_report_interval: crossing the reserve, or a move since the
// last report of 1/sizeStepDivisor of the path's size or, closer to the
// reserve, 1/headroomStepDivisor of what was left above it (at least
// minReportStep bytes). The trackers' view is finest where it decides.
const (
	sizeStepDivisor     = 100
	headroomStepDivisor = 8
	minReportStep       = 1 << 20
)

// spaceBook is the store's space accounting; all fields are guarded by mu.
type spaceBook struct {
	mu       sync.Mutex
	pending  []int64 // per store path: bytes reserved and not written yet
	reported []int64 // per store path: free bytes minus pending (at least 0) at the last report, -1 before it
	watchers map[chan struct{}]struct{}
}

func newSpaceBook(paths int) *spaceBook {
	b := &spaceBook{pending: make([]int64, paths), reported: make([]int64, paths), watchers: map[chan struct{}]struct{}{}}
	for i := range b.reported {
		b.reported[i] = -1
	}
	return b
}

// reservation is the space one write holds on one store path. It is used
// by the goroutine serving that write only.
type reservation struct {
	st   *store
	path int           // store path index
	r    conf.Reserved // reserve in force when it was taken
	skip int64         // leading bytes of the write that overwrite existing content
	left int64         // reserved bytes not written yet
	done bool          // released
}

// pathBytes returns store path i's size and free space in bytes (free as
// statfs f_bavail: what unprivileged writers may use).
func (st *store) pathBytes(i int) (total, free int64, err error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(st.paths[i], &sfs); err != nil {
		return 0, 0, err
	}
	total, free = fsBytes(&sfs)
	return total, free, nil
}

// fsBytes is the size and free space (f_bavail) of a file system in bytes.
func fsBytes(sfs *unix.Statfs_t) (total, free int64) {
	bs := int64(sfs.Bsize)
	return int64(sfs.Blocks) * bs, int64(sfs.Bavail) * bs
}

// pathUsage returns the size of store path i and its free space minus the
// pending writes, in MB.
func (st *store) pathUsage(i int) (totalMB, freeMB int64, err error) {
	st.space.mu.Lock()
	defer st.space.mu.Unlock()
	total, avail, err := st.availLocked(i)
	return total >> 20, max(avail, 0) >> 20, err
}

// availLocked returns store path i's size and free bytes minus the pending
// writes; the caller holds space.mu.
func (st *store) availLocked(i int) (total, avail int64, err error) {
	total, free, err := st.pathBytes(i)
	if err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", st.paths[i], err)
	}
	return total, free - st.space.pending[i], nil
}

// reserveBytes is what reserved_storage_space keeps free on a store path
// of total bytes: the ratio of the path, or the absolute value shared
// evenly by the store paths (upstream's g_avg_storage_reserved_mb).
func (st *store) reserveBytes(total int64, r conf.Reserved) int64 {
	if r.IsPercent {
		return int64(float64(total) * r.Percent / 100)
	}
	return r.Bytes / int64(len(st.paths))
}

// aboveReserve reports whether avail free bytes of a store path of total
// bytes stay above reserved_storage_space.
func (st *store) aboveReserve(total, avail int64, r conf.Reserved) bool {
	if total <= 0 || avail < 0 {
		return false
	}
	if r.IsPercent {
		return r.Percent <= 0 || float64(avail)/float64(total)*100 > r.Percent
	}
	return r.Bytes <= 0 || avail > st.reserveBytes(total, r)
}

// admit reserves grow bytes on store path i for a write whose first skip
// bytes land on existing content, if the path stays above the reserve with
// every pending write; otherwise the error wraps protocol.ErrNoSpace.
func (st *store) admit(i int, r conf.Reserved, grow, skip int64) (*reservation, error) {
	b := st.space
	b.mu.Lock()
	defer b.mu.Unlock()
	total, avail, err := st.availLocked(i)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, protocol.ErrNoSpace)
	}
	return st.admitLocked(i, r, grow, skip, total, avail)
}

// admitLocked is admit once the path's size and free bytes minus the
// pending writes are known; the caller holds space.mu.
func (st *store) admitLocked(i int, r conf.Reserved, grow, skip, total, avail int64) (*reservation, error) {
	b := st.space
	if !st.aboveReserve(total, avail-grow, r) {
		return nil, fmt.Errorf("store path %d: %d MB free, %d MB of it promised to writes in progress; %d more bytes would go below reserved_storage_space %s: %w",
			i, (avail+b.pending[i])>>20, b.pending[i]>>20, grow, r.String(), protocol.ErrNoSpace)
	}
	b.pending[i] += grow
	st.noteLocked(i, total, avail-grow, r)
	return &reservation{st: st, path: i, r: r, skip: skip, left: grow}, nil
}

// noteLocked wakes the tracker sessions for a prompt disk usage report
// when store path i's free space minus pending writes, now avail bytes,
// moved by a report step or crossed the reserve since the last report.
// The caller holds space.mu.
func (st *store) noteLocked(i int, total, avail int64, r conf.Reserved) {
	b := st.space
	last := b.reported[i]
	if last < 0 {
		return // the session reports at once when it starts
	}
	step := max(min(total/sizeStepDivisor, (last-st.reserveBytes(total, r))/headroomStepDivisor), minReportStep)
	// The trackers compare whole MB (the report's unit): a path a little
	// above the reserve here can be below it there, and they must learn
	// that at once, not a stat_report_interval later, or they keep sending
	// uploads it refuses while other groups have room.
	mb := func(v int64) int64 { return v >> 20 << 20 }
	if abs(avail-last) < step && st.aboveReserve(total, last, r) == st.aboveReserve(total, avail, r) &&
		st.aboveReserve(mb(total), mb(last), r) == st.aboveReserve(mb(total), mb(avail), r) {
		return
	}
	for ch := range b.watchers {
		select {
		case ch <- struct{}{}:
		default: // a report is already due
		}
	}
}

// noteFreed follows a delete on store path i: when the room it gave back
// crossed the reserve (in bytes, or in the report's whole MB) or moved
// the free space by a report step, the trackers are told at once, so
// uploads come back to a path that was full without waiting for the next
// stat_report_interval (upstream's default is 60 s).
func (st *store) noteFreed(i int, r conf.Reserved) {
	b := st.space
	b.mu.Lock()
	defer b.mu.Unlock()
	if total, avail, err := st.availLocked(i); err == nil {
		st.noteLocked(i, total, avail, r)
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// usage returns what the trackers are told in REPORT_DISK_USAGE: each store
// path's size and free space minus pending writes, in MB. It records the
// values as the last report.
func (st *store) usage() []protocol.PathUsage {
	b := st.space
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]protocol.PathUsage, len(st.paths))
	for i := range out {
		if st.health.state(i).away() {
			// Its free space is not the storage's to give (an empty
			// mount point shows the root file system's).
			b.reported[i] = 0
			continue
		}
		total, avail, err := st.availLocked(i)
		if err != nil {
			st.log.Warn("cannot read the free space of a store path", "store_path", st.paths[i], "err", err)
			continue
		}
		b.reported[i] = max(avail, 0)
		out[i] = protocol.PathUsage{TotalMB: total >> 20, FreeMB: b.reported[i] >> 20}
	}
	return out
}

// watchSpace returns a channel that receives when a prompt disk usage
// report is due, and the function that stops the notifications.
func (st *store) watchSpace() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b := st.space
	b.mu.Lock()
	b.watchers[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.watchers, ch)
		b.mu.Unlock()
	}
}

// wrote records that the write put n more bytes on disk: once past the
// overwritten part, they are no longer pending (statfs counts them now).
func (h *reservation) wrote(n int64) {
	over := min(n, h.skip)
	h.skip -= over
	d := min(n-over, h.left)
	if d <= 0 || h.done {
		return
	}
	h.left -= d
	b := h.st.space
	b.mu.Lock()
	b.pending[h.path] -= d
	b.mu.Unlock()
}

// release gives back what the write did not use. It may be called more
// than once.
func (h *reservation) release() {
	if h.done || h.left == 0 {
		// All written: the free space minus pending writes did not move.
		h.done = true
		return
	}
	h.done = true
	b := h.st.space
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending[h.path] -= h.left
	if total, avail, err := h.st.availLocked(h.path); err == nil {
		h.st.noteLocked(h.path, total, avail, h.r)
	}
	h.left = 0
}

// reserveSpace reserves n bytes on store path pathIdx for a new file (an
// upload, a slave or a replica from a peer) before its content is read.
// The error wraps protocol.ErrNoSpace when the path would go below
// reserved_storage_space with the writes already in progress. Pass the
// reservation to receive, and release it when the write is over.
func (s *Server) reserveSpace(pathIdx int, n int64) (*reservation, error) {
	return s.store.admit(pathIdx, s.params.Load().Reserved, n, 0)
}

// reserveWrite reserves what writing length bytes at offset adds to a file
// of size bytes (offset <= size) on store path pathIdx: an append or a
// modify. Pass the reservation to writeAt.
func (s *Server) reserveWrite(pathIdx int, size, offset, length int64) (*reservation, error) {
	grow := max(offset+length-size, 0)
	if grow == 0 {
		// Only existing bytes change: no room needed, even on a full disk.
		return &reservation{st: s.store, path: pathIdx, skip: length}, nil
	}
	return s.store.admit(pathIdx, s.params.Load().Reserved, grow, length-grow)
}

// choosePath reserves need bytes on the store path of a new upload: the
// requested one when it is writable and has room, else one chosen by the
// tracker's store_path rule (0 round robin, 2 most free space). A path
// whose file system is mounted read-only now (remounted after an I/O
// error, say) is passed over like a full one. The error wraps
// protocol.ErrNoSpace when no path can take the file, syscall.EROFS when
// every path is read-only, syscall.EIO when every path is gone or
// read-only and one at least is gone (pathhealth.go).
func (st *store) choosePath(requested int, p *trackerParams, need int64) (*reservation, error) {
	tried, ro, gone := 0, 0, 0
	try := func(i int) *reservation {
		tried++
		if st.health.state(i).away() && st.checkPath(i).away() {
			// An empty mount point would take the file onto the root
			// file system, where no data directory waits for it. A path
			// that is back is used at once.
			gone++
			return nil
		}
		// One statfs tells both whether the path is read-only and how
		// much room it has; under space.mu, as admit's, so that no write
		// lands between it and the pending bytes it is set against.
		b := st.space
		b.mu.Lock()
		defer b.mu.Unlock()
		var sfs unix.Statfs_t
		if err := unix.Statfs(st.paths[i], &sfs); err != nil {
			return nil // a path statfs cannot read is refused
		}
		if readOnlyFS(&sfs) {
			ro++
			return nil
		}
		total, free := fsBytes(&sfs)
		h, err := st.admitLocked(i, p.Reserved, need, 0, total, free-b.pending[i])
		if err != nil {
			return nil
		}
		return h
	}
	if requested >= 0 && !st.readonly[requested] {
		if h := try(requested); h != nil {
			return h, nil
		}
	}
	for _, i := range st.pathOrder(p.StorePathMode) {
		if h := try(i); h != nil {
			return h, nil
		}
	}
	if gone > 0 && gone+ro == tried {
		return nil, fmt.Errorf("every writable store path is gone or read-only: %w", syscall.EIO)
	}
	if ro > 0 && ro == tried {
		return nil, fmt.Errorf("every writable store path is on a read-only file system: %w", syscall.EROFS)
	}
	return nil, fmt.Errorf("no store path has room for %d bytes above reserved_storage_space %s: %w", need, p.Reserved.String(), protocol.ErrNoSpace)
}

// pathOrder lists the writable store paths in the order an upload tries
// them: most free space first (store_path 2), else round robin.
func (st *store) pathOrder(mode conf.StorePathMode) []int {
	n := len(st.paths)
	start := 0
	if mode != conf.StorePathLoadBalance {
		st.mu.Lock()
		start = st.rr
		st.rr = (st.rr + 1) % n
		st.mu.Unlock()
	}
	order := make([]int, 0, n)
	for k := range n {
		if i := (start + k) % n; !st.readonly[i] {
			order = append(order, i)
		}
	}
	if mode == conf.StorePathLoadBalance {
		free := make(map[int]int64, len(order))
		for _, i := range order {
			_, free[i], _ = st.pathUsage(i)
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(free[b], free[a]) })
	}
	return order
}
