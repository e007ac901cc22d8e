package trackernode

import (
	"fmt"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A new storage's initial-sync source (SYNC_DEST_REQ, SYNC_NOTIFY,
// SYNC_DEST_QUERY, SYNC_SRC_REQ) and the status commands (REPORT_STATUS,
// CHANGE_STATUS, GET_STATUS). Handlers lock s.mu.

// syncDestReq: a storage starting for the first time asks whether it must
// fetch old files. As upstream (tracker_deal_storage_sync_dest_req): when
// no other member serves or may come back (OFFLINE, ONLINE or ACTIVE) there
// is nothing to fetch and the storage goes ONLINE; otherwise an ACTIVE
// writable member becomes its source, synced up to now, and while there is
// none yet (a member that just joined and has not beaten, or is offline)
// the answer is ENOENT: the storage asks again rather than going ONLINE
// without the files that member holds.
func (s *Server) syncDestReq(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("sync dest request with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	var src *storage
	sources := 0
	for _, o := range st.group.sorted {
		if o == st {
			continue
		}
		switch o.status {
		case protocol.StatusOffline, protocol.StatusOnline, protocol.StatusActive:
			sources++
		}
		if src == nil && o.writable() {
			src = o
		}
	}
	if sources == 0 {
		s.setStatus(st, protocol.StatusOnline)
		s.saveLogged()
		return nil, nil
	}
	if src == nil {
		return nil, fmt.Errorf("sync source for %s: no ACTIVE storage in %s yet: %w", st.id, st.group.name, protocol.ErrNotFound)
	}
	st.syncSrcID = src.id
	st.syncUntil = s.now().Unix()
	s.setStatus(st, protocol.StatusWaitSync)
	s.dirty = true
	s.saveLogged()
	return protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: src.id, Until: st.syncUntil}), nil
}

// waitSyncNudge is how long a storage may wait in WAIT_SYNC (seconds since
// its source was chosen) before its group's list is announced again, and
// then how often.
const waitSyncNudge = 10

// nudgeWaitSync announces a group's list again to its storages while a
// member has waited in WAIT_SYNC for waitSyncNudge seconds: its source has
// not started the initial copy. An upstream storage that was still
// forgetting a deleted storage (its sync thread exits two beats after it
// saw the DELETED record, and marks the peer unknown only then) takes a
// replacement listed in that window as the old peer and starts no sync
// thread for it until a list names it again; with upstream's tracker, and
// before this with ours, nothing else changes in the group, and the new
// storage stayed WAIT_SYNC for good. A list repeated is harmless: storages
// of either kind take each entry as it is. The caller holds s.mu.
func (s *Server) nudgeWaitSync(now int64) {
	for _, g := range s.groups {
		if now-g.nudged < waitSyncNudge {
			continue
		}
		for _, st := range g.sorted {
			if st.status == protocol.StatusWaitSync && now-st.syncUntil >= waitSyncNudge {
				s.log.Debug("storage still waits for its initial sync: group list announced again",
					"group", g.name, "id", st.id, "source", st.syncSrcID)
				g.changed()
				g.nudged = now
				break
			}
		}
	}
}

// syncNotify: the storage tells this tracker the source another tracker
// gave it (SYNC_DEST_REQ goes to one tracker only), or that it has none.
// As upstream (tracker_deal_storage_sync_notify), the source is recorded
// whenever this tracker has none for the storage, whatever its status: a
// storage that joined with WAIT_SYNC (source known before this tracker
// heard of it) must not stay without one, or the source's SYNC_SRC_REQ
// here would say "not you" and nobody would ever sync it.
func (s *Server) syncNotify(cs *conn, body []byte) ([]byte, error) {
	src, err := protocol.DecodeSyncSource(body)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("empty sync notify: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	if src.SrcID == "" {
		switch st.status {
		case protocol.StatusInit, protocol.StatusWaitSync, protocol.StatusSyncing:
			s.setStatus(st, protocol.StatusOnline)
		}
	} else {
		if st.syncSrcID == "" {
			if o := st.group.member(src.SrcID); o == nil || o == st {
				return nil, fmt.Errorf("sync notify: source %q is not a storage of %s: %w", src.SrcID, st.group.name, protocol.ErrNotFound)
			}
			st.syncSrcID, st.syncUntil = src.SrcID, src.Until
		}
		if st.status == protocol.StatusInit {
			s.setStatus(st, protocol.StatusWaitSync)
		}
	}
	s.dirty = true
	s.saveLogged()
	return nil, nil
}

// syncDestQuery: STORAGE_SYNC_DEST_QUERY, a restarted storage asks for the
// source of its initial sync as decided before (empty: none).
func (s *Server) syncDestQuery(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("sync dest query with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	if st.syncSrcID == "" {
		return nil, nil
	}
	return protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: st.syncSrcID, Until: st.syncUntil}), nil
}

// syncSrcReq: a storage asks whether it must send old files to dest; the
// answer is dest's sync source (the asker acts only if it is that source).
func (s *Server) syncSrcReq(body []byte) ([]byte, error) {
	req, err := protocol.DecodeSyncSrcRequest(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dest, err := s.findStorage(req.Group, req.DestID)
	if err != nil {
		return nil, err
	}
	if dest.status == protocol.StatusInit {
		// Its source is not decided here yet (SYNC_DEST_REQ or SYNC_NOTIFY
		// to come): "no source" would be a wrong answer. ENOENT, as
		// upstream: the asker tries another tracker or again later.
		return nil, fmt.Errorf("storage %q is INIT: %w", req.DestID, protocol.ErrNotFound)
	}
	if dest.syncSrcID == "" {
		return nil, nil
	}
	return protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: dest.syncSrcID, Until: dest.syncUntil}), nil
}

// findMember is findStorage without tombstones (ENOENT for those).
func (s *Server) findMember(group, id string) (*storage, error) {
	st, err := s.findStorage(group, id)
	if err == nil && st.tombstone() {
		return nil, fmt.Errorf("storage %q in group %q is %s: %w", id, group, protocol.StorageStatusName(st.status), protocol.ErrNotFound)
	}
	return st, err
}

// findStorage returns the record of storage id in group, tombstones
// included.
func (s *Server) findStorage(group, id string) (*storage, error) {
	g := s.groups[group]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", group, protocol.ErrNotFound)
	}
	st := g.storages[id]
	if st == nil {
		return nil, fmt.Errorf("storage %q in group %q: %w", id, group, protocol.ErrNotFound)
	}
	return st, nil
}

// reportStatus: REPORT_STATUS, a storage reports another's status: the
// source of a new storage's initial sync its progress (WAIT_SYNC →
// SYNCING → OFFLINE), an upstream storage its own around a disk recovery
// (RECOVERY before, the status it had after). As upstream
// (tracker_mem_sync_storages), a report only moves a storage forward, and
// never one that is new (INIT), available (ONLINE, ACTIVE) or recovering:
// a late or stray report cannot demote a storage in service, nor make one
// available that has not joined; those are answered 0 and change
// nothing. IP_CHANGED is taken as reported. Unlike upstream, a report
// does not add a storage this tracker does not know (ENOENT), nor make
// one ONLINE or ACTIVE (its own beats do), and DELETED is refused
// (DELETE_STORAGE deletes).
func (s *Server) reportStatus(body []byte) ([]byte, error) {
	r, err := protocol.DecodeReportStatus(body)
	if err != nil {
		return nil, err
	}
	to := r.Brief.Status
	if protocol.StorageStatusName(to) == "UNKNOWN" || to == protocol.StatusDeleted {
		return nil, fmt.Errorf("report status %d: %w", to, protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.findStorage(r.Group, r.Brief.ID)
	if err != nil {
		return nil, err
	}
	if st.tombstone() || !reportMoves(st.status, to) {
		return nil, nil
	}
	s.log.Info("storage status reported", "group", r.Group, "id", st.id,
		"from", protocol.StorageStatusName(st.status), "to", protocol.StorageStatusName(to))
	s.setStatus(st, to)
	s.saveLogged()
	return nil, nil
}

// reportMoves says whether a REPORT_STATUS of to changes a storage held
// at cur (upstream's rule, tracker_mem_sync_storages).
func reportMoves(cur, to byte) bool {
	switch {
	case cur == to, to == protocol.StatusNone:
		return false
	case to == protocol.StatusOnline, to == protocol.StatusActive:
		// Upstream raises an OFFLINE storage so, even one not connected;
		// here only its own beats make a storage available.
		return false
	case cur == protocol.StatusInit, cur == protocol.StatusOnline,
		cur == protocol.StatusActive, cur == protocol.StatusRecovery:
		return false
	case to == protocol.StatusIPChanged:
		return true
	}
	return to > cur
}

// changeStatus: STORAGE_CHANGE_STATUS, the storage asks for a status of
// its own. Asking to be available (ONLINE/ACTIVE) is only granted to a
// storage that already is: one that is not becomes OFFLINE and earns its
// way back through the normal beat and sync path, so a storage cannot
// declare itself readable before its files are there.
func (s *Server) changeStatus(cs *conn, body []byte) ([]byte, error) {
	req, err := protocol.DecodeStatusChangeRequest(body)
	if err != nil {
		return nil, err
	}
	want := req.Status
	if protocol.StorageStatusName(want) == "UNKNOWN" || want == protocol.StatusDeleted {
		return nil, fmt.Errorf("change status to %d: %w", want, protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	available := func(v byte) bool { return v == protocol.StatusOnline || v == protocol.StatusActive }
	if available(want) {
		if available(st.status) {
			return nil, nil
		}
		want = protocol.StatusOffline
	}
	s.setStatus(st, want)
	s.saveLogged()
	return nil, nil
}

// getStatus: STORAGE_GET_STATUS, the status this tracker holds for the
// storage at an address, looked up by id as every other storage command:
// in id mode an address alone does not name a storage.
func (s *Server) getStatus(body []byte) ([]byte, error) {
	req, err := protocol.DecodeGroupAndAddr(body)
	if err != nil {
		return nil, err
	}
	ip, port, err := protocol.ParseHostPort(req.Addr)
	if err != nil {
		return nil, err
	}
	id, _, err := s.lookupID(req.Group, ip, port)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.findStorage(req.Group, id)
	if err != nil {
		return nil, err
	}
	return (&protocol.Brief{Status: st.status, Port: int32(st.port), ID: st.id, IP: st.ip}).Encode(), nil
}
