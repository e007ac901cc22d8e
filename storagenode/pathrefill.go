package storagenode

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fdfsgo/fdfs/internal/backoff"
	"github.com/fdfsgo/fdfs/internal/mounts"
)

// Refilling a replaced disk. When the disk of a gone store path is
// replaced under the running storage (a new, empty file system mounted
// where the old one was), the path is refilled from the group's other
// storages without a restart, as disk recovery refills a wiped path at
// start (recovery.go: the same flag, binlog and mark files, so a restart
// in the middle resumes it there). Meanwhile the path stays out of
// uploads, its files not restored yet are read from the peers, changes
// of them are refused with EIO (a peer's replication sends them again
// later) and the scrubber leaves it alone: as while it was gone. The
// other store paths serve as before.
//
// refill_new_disk_after (60 s by default, 0 for never) is how long a path
// must have been gone before an empty directory in its place is taken for
// a new disk: a data directory moved away and back by hand is not
// refilled over.

// refillGone starts the refill of every gone store path that shows a new
// disk (refillable).
func (s *Server) refillGone() {
	for i := range s.store.paths {
		if s.store.health.state(i) == pathGone && s.refillable(i) {
			s.startRefill(i)
		}
	}
}

// refillable reports whether gone store path i shows a new, empty disk:
// gone for refill_new_disk_after at least, the store path a directory
// whose data directories do not exist (not an I/O error: a failing disk
// is not refilled over), on the file system mounted where the path's was
// at start. An unmounted disk leaves its empty mount point on the parent
// file system: nothing is refilled onto that, nor anything where
// /proc/self/mountinfo could not be read at start. Nor while the disk
// recovery of the start runs: it may be working on that path.
func (s *Server) refillable(i int) bool {
	h := s.store.health
	since := h.goneAt[i].Load()
	after := s.cfg.RefillNewDiskAfter
	if after <= 0 || since == 0 || s.rec.pending.Load() || time.Since(time.Unix(0, since)) < after || h.mounts[i] == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(s.store.paths[i], "data", "00", "00"))
	return errors.Is(err, fs.ErrNotExist) && s.diskThere(i)
}

// diskThere reports whether store path i is a directory on the file
// system mounted where the path's was at start.
func (s *Server) diskThere(i int) bool {
	p := s.store.paths[i]
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		return false
	}
	m, ok := mounts.Point(p)
	return ok && m == s.store.health.mounts[i]
}

// startRefill marks store path i refilling and refills it in the
// background. Not with trunk files (the trunk allocator holds the path's
// free slots, which only a restart reads again), nor when base_path's
// files went with the old disk.
func (s *Server) startRefill(i int) {
	p := s.store.paths[i]
	why := ""
	switch {
	case s.params.Load().Trunk.Use:
		why = "with trunk files it is refilled at the next start"
	case baseLost(s.store.base):
		// The storage's binlogs, marks and flags were on the lost disk
		// too (store_path0 is base_path unless set): what is left to
		// refill is a new storage.
		why = "base_path's files went with the old disk"
	}
	if why != "" {
		if s.store.health.goneAt[i].Swap(0) != 0 { // logged once per loss
			s.log.Error("store path shows a new disk, not refilled while running: "+why+"; see docs/operations.md, A failed disk", "store_path", p)
		}
		return
	}
	if !s.store.health.states[i].CompareAndSwap(int32(pathGone), int32(pathRefilling)) {
		return
	}
	prog := &pathProgress{}
	prog.size.Store(-1)
	s.store.health.refills[i].Store(prog)
	s.log.Warn("store path shows a new, empty disk: refilling it from the group", "store_path", p)
	if !s.goTracked(func() { s.refill(i, prog) }) {
		s.store.health.refills[i].Store(nil)
		s.store.health.states[i].Store(int32(pathGone))
	}
}

// baseLost reports whether base path base lost its files: its
// data/.data_init_flag, which exists from the storage's first start, is
// gone.
func baseLost(base string) bool {
	_, err := os.Stat(filepath.Join(base, "data", dataInitFlagFile))
	return err != nil
}

// refill refills store path i, retrying until it is done or the server
// closes, then puts the path back in service; the path is gone again if
// the new disk goes before the refill is done.
func (s *Server) refill(i int, prog *pathProgress) {
	h, p := s.store.health, s.store.paths[i]
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: maxRecoveryBackoff}
	for {
		if !s.diskThere(i) {
			// The new disk went too: an attempt now would make the data
			// directories on the file system under its mount point.
			h.refills[i].Store(nil)
			h.goneAt[i].Store(time.Now().UnixNano())
			h.states[i].Store(int32(pathGone))
			s.log.Error("the new disk of the store path is gone too: refill stopped", "store_path", p)
			return
		}
		err := s.refillOnce(i, prog)
		if err == nil {
			break
		}
		if s.recoveryStopped() {
			return // resumed by the disk recovery at the next start
		}
		pause := retry.Next()
		s.log.Warn("refill attempt failed", "store_path", p, "err", err, "retry_in", pause)
		if !s.pause(pause) {
			return
		}
	}
	prog.finished.Store(true)
	h.refills[i].Store(nil)
	h.goneAt[i].Store(0)
	h.states[i].Store(int32(pathOK))
	s.log.Info("store path refilled: uploads and reads use it again", "store_path", p)
	s.store.checkPath(i) // read-only, or gone again, meanwhile
}

// refillOnce makes the new disk a store path again, its recovery flag
// first as markWipedPaths does, then its data directories and mark, and
// restores the group's files of the path (recoverPath).
func (s *Server) refillOnce(i int, prog *pathProgress) error {
	data := filepath.Join(s.store.paths[i], "data")
	if _, err := os.Stat(filepath.Join(data, recoveryFlagFile)); errors.Is(err, fs.ErrNotExist) {
		// Mkdir, not MkdirAll: the store path itself must be the new disk.
		if err := os.Mkdir(data, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := writeRecoveryFlag(data, false); err != nil {
			return err
		}
	}
	if err := makeDataDirs(data, s.store.subdirs); err != nil {
		return err
	}
	if err := s.store.marks.renew(i); err != nil {
		return err
	}
	return s.recoverPath(i, prog)
}
