package trackernode

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// reportIPChanged: STORAGE_REPORT_IP_CHANGED (78). In IP mode (no storage
// ids) a storage is known by its address; one that starts with another
// address than last time (DHCP, a container moved) reports the change
// before it joins, so that the tracker moves its record to the new
// address instead of taking it for a new storage (which would copy every
// file to it again and leave the old record OFFLINE for good). The
// record keeps its status, sync source and sync timestamps; every
// reference to the old id follows; a changelog line tells the other
// storages to rename their sync marks (CHANGELOG_REQ). Upstream's checks
// and statuses: EOPNOTSUPP with storage ids, EINVAL when the new address
// is not the one the report comes from, ENOENT for an unknown group or
// old address, EBUSY while the old address is serving, EEXIST when the
// new address is taken, EALREADY when the old one was renamed already.
// Upstream's storage takes every status but EOPNOTSUPP and EINVAL as
// done.
func (s *Server) reportIPChanged(cs *conn, body []byte) ([]byte, error) {
	if s.cfg.UseStorageID {
		return nil, fmt.Errorf("ip changed report with use_storage_id = true (storages are known by id): %w", protocol.ErrNotSupported)
	}
	r, err := protocol.DecodeIPChangedReport(body)
	if err != nil {
		return nil, err
	}
	if r.NewIP != cs.peerIP {
		return nil, fmt.Errorf("ip changed report: new address %q is not the reporter's %q: %w", r.NewIP, cs.peerIP, protocol.ErrInvalid)
	}
	if err := ipModeID(r.NewIP); err != nil {
		return nil, fmt.Errorf("ip changed report: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[r.Group]
	if g == nil {
		return nil, fmt.Errorf("ip changed report: group %q: %w", r.Group, protocol.ErrNotFound)
	}
	st := g.storages[r.OldIP]
	switch {
	case (st == nil || st.status == protocol.StatusIPChanged) && g.renamed.Current(r.OldIP) != r.OldIP:
		return nil, fmt.Errorf("ip changed report: %s is now %s: %w", r.OldIP, g.renamed.Current(r.OldIP), protocol.ErrAlready)
	case st == nil || st.tombstone():
		return nil, fmt.Errorf("ip changed report: no storage %s in group %q: %w", r.OldIP, g.name, protocol.ErrNotFound)
	case st.status == protocol.StatusOnline || st.status == protocol.StatusActive || st.status == protocol.StatusRecovery:
		return nil, fmt.Errorf("ip changed report: storage %s is %s: %w", r.OldIP, protocol.StorageStatusName(st.status), protocol.ErrBusy)
	case g.member(r.NewIP) != nil:
		return nil, fmt.Errorf("ip changed report: storage %s exists in group %q: %w", r.NewIP, g.name, protocol.ErrExists)
	}
	if err := s.appendChangelog(g.name, r.OldIP, protocol.StatusIPChanged, r.NewIP); err != nil {
		return nil, err
	}
	g.rename(st, r.NewIP)
	s.dirty = true
	s.log.Info("storage address changed", "group", g.name, "old", r.OldIP, "new", r.NewIP)
	s.saveLogged()
	return nil, nil
}

// rename moves st to id (its new address), and every reference to it,
// leaving an IP_CHANGED tombstone at the old one (as upstream: the
// storages' lists then tell them to stop replicating to the old address).
// The old id is remembered: files named after it still have st as their
// source (sourceOf).
func (g *group) rename(st *storage, id string) {
	old := st.id
	for _, o := range g.storages {
		if ts, ok := o.syncedFrom[old]; ok {
			delete(o.syncedFrom, old)
			o.syncedFrom[id] = ts
		}
		if o.syncSrcID == old {
			o.syncSrcID = id
		}
	}
	if g.trunkServer == old {
		g.trunkServer = id
		g.trunkChg++
	}
	if g.lastTrunkServer == old {
		g.lastTrunkServer = id
	}
	delete(g.storages, old)
	g.storages[id] = st
	if g.roomFor(old) {
		g.bury(old, st, protocol.StatusIPChanged) // st.ip is still the old address
	}
	st.id, st.ip = id, id
	g.renamed.Add(old, id)
	g.resort()
	g.changed()
}

// current returns the storage known as id now, following address changes.
func (g *group) current(id string) *storage {
	if st := g.member(id); st != nil {
		return st
	}
	return g.member(g.renamed.Current(id))
}

// loadRenames replays the address changes of storage_changelog.dat
// (lines "<time> <group> <old id> 3 <new id>") into the groups' renamed
// maps. The caller holds s.mu or has not started serving.
func (s *Server) loadRenames() error {
	b, err := os.ReadFile(filepath.Join(s.dataDir, changelogFile))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range protocol.ParseChangelog(b) {
		if g := s.groups[e.Group]; g != nil && e.Status == protocol.StatusIPChanged && e.NewID != "" {
			g.renamed.Add(e.ID, e.NewID)
		}
	}
	return nil
}
