package storagenode

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/internal/mounts"
	"golang.org/x/sys/unix"
)

// Store path health. A disk fails under a running storage in a few ways:
// its file system turns read-only (ext4's errors=remount-ro after an I/O
// error), it is unmounted or its device removed (the store path shows the
// empty mount point, or is gone), or its reads fail (EIO). The storage
// keeps serving: uploads pass over such a path (choosePath), and a
// client's read of a file on it is asked of the group's other storages
// (lost reads, source_read.go) until the disk is back or replaced and
// refilled by disk recovery. The health of each path is checked every
// pathCheckInterval and at once when a read finds its directory gone; a
// change is logged once and shown in fdfs_storage_store_path_state.

// pathCheckInterval is how often the store paths' health is checked: a
// stat and a statfs per path.
const pathCheckInterval = 5 * time.Second

// pathState is a store path's health as last checked.
type pathState int32

const (
	pathOK        pathState = iota
	pathReadOnly            // mounted read-only: reads served, writes refused
	pathGone                // its data directories cannot be reached: the disk is gone or unmounted
	pathRefilling           // a new disk in its place, being refilled from the group (pathrefill.go)
)

var pathStateNames = [...]string{pathOK: "ok", pathReadOnly: "read_only", pathGone: "gone", pathRefilling: "refilling"}

func (p pathState) String() string { return pathStateNames[p] }

// away reports whether the path's files cannot all be found on it: gone,
// or refilling and not done.
func (p pathState) away() bool { return p == pathGone || p == pathRefilling }

// pathHealth holds the last checked state of each store path.
type pathHealth struct {
	states []atomic.Int32 // pathState per store path
	goneAt []atomic.Int64 // when each path was found gone (unix ns; 0 while not gone)
	// mounts holds the mount point of the file system each store path
	// was on at start ("" where /proc/self/mountinfo cannot be read): a
	// new disk is refilled only where the old one was mounted.
	mounts  []string
	refills []atomic.Pointer[pathProgress] // of each path being refilled, nil when none
	kick    chan struct{}                  // asks for a check now (buffered, 1)
}

func newPathHealth(paths []string) *pathHealth {
	h := &pathHealth{states: make([]atomic.Int32, len(paths)), goneAt: make([]atomic.Int64, len(paths)),
		refills: make([]atomic.Pointer[pathProgress], len(paths)), kick: make(chan struct{}, 1)}
	for _, p := range paths {
		m, _ := mounts.Point(p)
		h.mounts = append(h.mounts, m)
	}
	return h
}

func (h *pathHealth) state(i int) pathState { return pathState(h.states[i].Load()) }

// recheck asks watchPaths to check the store paths now.
func (h *pathHealth) recheck() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// watchPaths checks the store paths every pathCheckInterval and when a
// read asks (recheck), on a goroutine of its own: the check of a hung
// network mount blocks it alone, not the binlog's flushes. A gone path
// that shows a new disk is refilled (pathrefill.go).
func (s *Server) watchPaths() {
	defer s.wg.Done()
	t := time.NewTicker(pathCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.store.health.kick:
		}
		s.store.checkPaths()
		s.refillGone()
	}
}

// probePath checks store path p: its first data directory present (a
// "data" directory alone, made by hand on a new disk, would take uploads
// it has no directories for) and the file system's read-only flag (one
// stat, one statfs).
func probePath(p string) (pathState, error) {
	fi, err := os.Stat(filepath.Join(p, "data", "00", "00"))
	if err == nil && !fi.IsDir() {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return pathGone, err
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(p, &sfs); err != nil {
		return pathGone, err
	}
	if readOnlyFS(&sfs) {
		return pathReadOnly, nil
	}
	return pathOK, nil
}

// checkPaths probes every store path and logs each change of state.
func (st *store) checkPaths() {
	for i := range st.paths {
		st.checkPath(i)
	}
}

// checkPath probes store path i, logs a change of its state and returns
// the state now. A path being refilled is left to its refill.
func (st *store) checkPath(i int) pathState {
	was := st.health.state(i)
	if was == pathRefilling {
		return was
	}
	p := st.paths[i]
	now, err := probePath(p)
	if now == was {
		return now
	}
	if !st.health.states[i].CompareAndSwap(int32(was), int32(now)) {
		return st.health.state(i) // a refill began meanwhile
	}
	if now == pathGone {
		st.health.goneAt[i].Store(time.Now().UnixNano())
	}
	switch now {
	case pathOK:
		st.log.Info("store path is back: uploads and reads use it again", "store_path", p, "was", was.String())
	case pathReadOnly:
		st.log.Warn("store path is read-only: uploads go to other store paths", "store_path", p)
	default:
		st.log.Error("store path is gone: uploads go to other store paths, reads of its files are asked of the group's other storages", "store_path", p, "err", err)
	}
	return now
}

// gone reports whether file n's store path was gone at its last check:
// the scrubber leaves its files alone (none can be checked or repaired
// there) until the disk is back or replaced and refilled.
func (st *store) gone(n *fileid.Name) bool { return st.health.state(n.StorePathIndex).away() }

// lost reports whether err, from a read of file n, says that the store
// path cannot give the file rather than that the group deleted it: an
// I/O error of the disk, or a missing file whose data directory is gone
// (every one exists from the store path's first start), or on a path
// being refilled. A gone directory also asks for a check of the store
// paths now.
func (st *store) lost(n *fileid.Name, err error) bool {
	if diskFault(err) {
		return true
	}
	if !missingFile(err) {
		return false
	}
	if st.health.state(n.StorePathIndex) == pathRefilling {
		return true // not restored yet, maybe
	}
	if _, serr := os.Stat(st.dirOf(n.StorePathIndex, n.High, n.Low)); serr == nil {
		return false
	}
	st.health.recheck()
	return true
}

// diskFault reports whether err is a disk's failure to give data it
// holds (diskFaultErrnos).
func diskFault(err error) bool {
	for _, e := range diskFaultErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
