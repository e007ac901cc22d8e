package storagenode

// Address changes. Without storage ids (use_storage_id = false) the
// trackers and the peers know a storage by its IP address, so one that
// comes back with another address (DHCP, a container moved to another
// host) would be a new storage to them: every file copied to it again,
// its old record left OFFLINE for good, its peers' replication to it
// starting over. As upstream's storage, ours reports the change to every
// tracker before it joins (STORAGE_REPORT_IP_CHANGED), which moves its
// record, and every storage renames its sync mark for the peer when it
// reads the change from the trackers' changelog (CHANGELOG_REQ).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// reportIPChange reports to the tracker at addr that our address is no
// longer the one of the last run, when it is not and the cluster asks for
// it (storage_ip_changed_auto_adjust, IP mode), then records the address
// in .data_init_flag; a change the tracker applied also goes in the book
// of moved addresses (moved.go). The tracker's refusals that mean there
// is nothing to move there (ENOENT: it does not know the old address;
// EEXIST: it knows the new one; EALREADY: it moved it) or that it cannot
// (EOPNOTSUPP) let the join go on, as upstream's do. EBUSY (the tracker
// still sees the old address serving: a host that vanished without
// closing its connections, until check_active_interval) is retried with
// the session rather than taken as done as upstream does: joining as a
// new storage is what the report is there to avoid.
func (s *Server) reportIPChange(addr string) error {
	ip := *s.myIP.Load()
	p := s.params.Load()
	if _, done := s.ipReported.Load(addr); !done && s.startIP != "" && s.startIP != ip && !p.UseStorageID && p.IPChangedAutoAdjust {
		r := protocol.IPChangedReport{Group: s.cfg.GroupName, OldIP: s.startIP, NewIP: ip}
		err := s.shortCall(addr, func(c *trackerConn) error {
			_, err := c.call(protocol.CmdStorageReportIPChanged, r.Encode())
			return err
		})
		switch {
		case err == nil || errors.Is(err, protocol.ErrAlready):
			s.log.Info("address change reported", "tracker", addr, "old", r.OldIP, "new", r.NewIP, "err", err)
			// Our files named after the old address are still ours
			// (moved.go).
			if err := s.moved.add(r.OldIP, r.NewIP); err != nil {
				s.log.Warn("recording our address change failed", "err", err)
			}
		case errors.Is(err, protocol.ErrNotFound), errors.Is(err, protocol.ErrExists), errors.Is(err, protocol.ErrNotSupported):
			s.log.Warn("address change not applied by the tracker", "tracker", addr, "old", r.OldIP, "new", r.NewIP, "err", err)
		default:
			return fmt.Errorf("REPORT_IP_CHANGED %s -> %s: %w", r.OldIP, r.NewIP, err)
		}
		s.ipReported.Store(addr, true)
	}
	f := s.store.initFlag
	port := strconv.Itoa(s.port())
	if f.get(flagLastIPAddr) == ip && f.get(flagLastServerPort) == port {
		return nil
	}
	f.set(flagLastIPAddr, ip)
	f.set(flagLastServerPort, port)
	if err := f.save(); err != nil {
		s.log.Warn("writing .data_init_flag failed", "err", err)
	}
	return nil
}

// applyChangelog applies what a tracker's CHANGELOG_REQ answered: lines
// "<time> <group> <storage id> <status> <new id>" (storage_changelog.dat).
// For a peer of our group whose address changed (status IP_CHANGED, IP
// mode) its sync mark is renamed, so replication to it goes on where it
// was; for a deleted one (DELETED) the mark is removed, so that a storage
// joining later under that address starts afresh. The initial-sync source
// recorded in .data_init_flag follows either change, and a change of
// address goes in the book of moved addresses (moved.go). Lines of other
// groups and malformed ones are skipped.
func (s *Server) applyChangelog(b []byte) {
	for _, e := range protocol.ParseChangelog(b) {
		if e.Group != s.cfg.GroupName {
			continue
		}
		switch e.Status {
		case protocol.StatusIPChanged:
			if s.params.Load().UseStorageID || e.NewID == "" {
				continue
			}
			s.renameMark(e.ID, e.NewID)
			s.followSyncSource(e.ID, e.NewID)
			if err := s.moved.add(e.ID, e.NewID); err != nil {
				s.log.Warn("recording a peer's address change failed", "old", e.ID, "new", e.NewID, "err", err)
			}
		case protocol.StatusDeleted:
			s.removeMark(e.ID)
			s.followSyncSource(e.ID, "")
		}
	}
}

// peerMarkPath is the sync mark of the peer known as id, named as
// syncWorker.markPath names it.
func (s *Server) peerMarkPath(id string) string {
	name := id + ".mark"
	if !s.params.Load().UseStorageID {
		name = fmt.Sprintf("%s_%d.mark", id, s.port())
	}
	return filepath.Join(s.store.syncDir(), name)
}

// renameMark moves the sync mark of old to newID, unless newID has one
// already (a worker for it started first: its mark is kept).
func (s *Server) renameMark(old, newID string) {
	from, to := s.peerMarkPath(old), s.peerMarkPath(newID)
	if _, err := os.Stat(from); err != nil {
		return
	}
	if _, err := os.Stat(to); err == nil {
		s.log.Warn("peer's address changed but a sync mark for the new one exists: keeping it", "old", old, "new", newID)
		return
	}
	if err := os.Rename(from, to); err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // else another tracker session's answer moved it
			s.log.Warn("renaming a peer's sync mark failed", "from", from, "to", to, "err", err)
		}
		return
	}
	// Its deferred records and progress go with it: left under the old
	// name, the records the peer refused for now were never sent again.
	for _, ext := range markSiblings {
		f, t := siblingPath(from, ext), siblingPath(to, ext)
		if err := os.Rename(f, t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("renaming a peer's sync file failed", "from", f, "to", t, "err", err)
		}
	}
	if v, ok := s.marksAligned.Load(from); ok {
		// Checked or written by this run (alignMark).
		s.marksAligned.Store(to, v)
	}
	s.log.Info("peer's address changed: sync mark renamed", "old", old, "new", newID)
}

// removeMark removes the sync mark of a deleted peer, and its deferred
// records and progress.
func (s *Server) removeMark(id string) {
	mark := s.peerMarkPath(id)
	paths := []string{mark}
	for _, ext := range markSiblings {
		paths = append(paths, siblingPath(mark, ext))
	}
	for _, path := range paths {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("removing a deleted peer's sync file failed", "file", path, "err", err)
		}
	}
}

// markSiblings are the extensions of the files kept beside a peer's mark
// file: its deferred records (sync_defer.go) and its progress
// (sync_progress.go).
var markSiblings = []string{deferredExt, progressExt}

// The extensions of a peer's deferred records and progress files.
const (
	deferredExt = ".deferred"
	progressExt = ".sent"
)

// siblingPath is the file of extension ext beside the mark file mark.
func siblingPath(mark, ext string) string { return strings.TrimSuffix(mark, ".mark") + ext }

// followSyncSource replaces old as our recorded initial-sync source by
// newID ("" when old was deleted).
func (s *Server) followSyncSource(old, newID string) {
	f := s.store.initFlag
	if f.get(flagSyncSrcServer) != old {
		return
	}
	f.set(flagSyncSrcServer, newID)
	if err := f.save(); err != nil {
		s.log.Warn("writing .data_init_flag failed", "err", err)
	}
}
