package trackernode

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Client ↔ tracker commands (protocol.md §4). Handlers lock s.mu.

const mb = 1 << 20

// reservedMB is reserved_storage_space in MB for a space of totalMB.
func (s *Server) reservedMB(totalMB int64) int64 {
	r := s.cfg.ReservedStorageSpace
	if r.IsPercent {
		return int64(float64(totalMB) * r.Percent / 100)
	}
	return r.Bytes / mb
}

// hasSpace applies the reserved-space rule to free/total MB; reservedBytes
// is the absolute threshold for this space. Unknown usage (total 0: no disk
// report yet) passes, as the storage re-checks on upload.
func (s *Server) hasSpace(totalMB, freeMB, reservedBytes int64) bool {
	if totalMB <= 0 {
		return true
	}
	r := s.cfg.ReservedStorageSpace
	if r.IsPercent {
		return float64(freeMB)*100/float64(totalMB) > r.Percent
	}
	return freeMB > reservedBytes/mb
}

func (s *Server) groupHasSpace(g *group) bool {
	total, free := g.space()
	return s.hasSpace(total, free, s.cfg.ReservedStorageSpace.Bytes)
}

// pickGroup chooses the upload group for 101/106 by store_lookup.
func (s *Server) pickGroup() (*group, error) {
	if s.cfg.StoreLookup == conf.StoreLookupSpecGroup {
		return s.checkStoreGroup(s.cfg.StoreGroup)
	}
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	anyWritable := false
	var best *group
	var bestFree int64
	for i := range names {
		idx := i
		if s.cfg.StoreLookup == conf.StoreLookupRoundRobin {
			idx = (s.storeGroupRR + i) % len(names)
		}
		g := s.groups[names[idx]]
		if len(g.writableList()) == 0 {
			continue
		}
		anyWritable = true
		if !s.groupHasSpace(g) {
			continue
		}
		if s.cfg.StoreLookup == conf.StoreLookupRoundRobin {
			s.storeGroupRR = (idx + 1) % len(names)
			return g, nil
		}
		if _, free := g.space(); best == nil || free > bestFree {
			best, bestFree = g, free
		}
	}
	switch {
	case best != nil:
		return best, nil
	case anyWritable:
		return nil, fmt.Errorf("no group above the reserved space: %w", protocol.ErrNoSpace)
	}
	return nil, fmt.Errorf("no group with a writable storage: %w", protocol.ErrNotFound)
}

func (s *Server) checkStoreGroup(name string) (*group, error) {
	g := s.groups[name]
	if g == nil || len(g.writableList()) == 0 {
		return nil, fmt.Errorf("group %q has no writable storage: %w", name, protocol.ErrNotFound)
	}
	if !s.groupHasSpace(g) {
		return nil, fmt.Errorf("group %q below the reserved space: %w", name, protocol.ErrNoSpace)
	}
	return g, nil
}

// nearFullHeadroomMB is the room above reserved_storage_space (MB, on the
// group's fullest storage) below which a group takes its uploads through
// one storage only. Each storage admits an upload against its own free
// space minus the writes in progress there, but every member must also
// hold the files its peers are admitting at the same moment, which no
// storage can see: two storages each admitting the last room of the group
// overfill each other's disk through replication. With one writer, its
// own accounting covers every file in flight in the group.
const nearFullHeadroomMB = 4 << 10

// nearFullWriter returns the storage that takes all of g's uploads while g
// is nearly full: the writable one with the least free space (every other
// member has at least its room), the first in id order on a tie; nil when
// g has room enough to spread its uploads.
func (s *Server) nearFullWriter(g *group, w []*storage) *storage {
	total, free := g.space()
	if total <= 0 || free-s.reservedMB(total) >= nearFullHeadroomMB {
		return nil
	}
	best := w[0]
	for _, st := range w[1:] {
		if st.freeMB < best.freeMB {
			best = st
		}
	}
	return best
}

// pickStorage chooses the upload storage of g by store_server (one storage
// while g is nearly full, see nearFullHeadroomMB); nil if g has no
// writable storage. Only single-storage answers advance the round robin
// (upstream's ALL queries leave it alone).
func (s *Server) pickStorage(g *group, advance bool) *storage {
	w := g.writableList()
	if len(w) == 0 {
		return nil
	}
	if st := s.nearFullWriter(g, w); st != nil {
		return st
	}
	switch s.cfg.StoreServer {
	case conf.StoreServerFirstByIP:
		return w[0]
	case conf.StoreServerFirstByPri:
		best := w[0]
		for _, st := range w[1:] {
			if st.uploadPriority < best.uploadPriority {
				best = st
			}
		}
		return best
	}
	st := w[g.writeCursor%len(w)]
	if advance {
		g.writeCursor = (g.writeCursor + 1) % len(w)
	}
	return st
}

// pickPath chooses the store path of st by store_path: 0 round robin, 2
// most free space; paths below the reserved space are skipped.
func (s *Server) pickPath(st *storage) (int, error) {
	n := max(st.storePathCount, 1)
	order := make([]int, n)
	for i := range order {
		order[i] = (st.currentWritePath + i) % n
	}
	if s.cfg.StorePath == conf.StorePathLoadBalance && len(st.paths) == n {
		sort.SliceStable(order, func(a, b int) bool { return st.paths[order[a]].FreeMB > st.paths[order[b]].FreeMB })
	}
	for _, idx := range order {
		if idx < len(st.paths) {
			p := st.paths[idx]
			if !s.hasSpace(p.TotalMB, p.FreeMB, s.cfg.ReservedStorageSpace.Bytes/int64(n)) {
				continue
			}
		}
		if s.cfg.StorePath != conf.StorePathLoadBalance {
			st.currentWritePath = (idx + 1) % n
		}
		return idx, nil
	}
	return 0, fmt.Errorf("every store path of %s is below the reserved space: %w", st.id, protocol.ErrNoSpace)
}

// queryStore: QUERY_STORE_* (101-107), where a client uploads. The group,
// storage and store path are all chosen here, not by the storage, so that
// every tracker spreads uploads by the same policy (store_lookup,
// store_server, store_path) from the space the storages report.
func (s *Server) queryStore(cmd byte, body []byte) ([]byte, error) {
	withGroup := cmd == protocol.CmdQueryStoreWithGroupOne || cmd == protocol.CmdQueryStoreWithGroupAll
	var name string
	if withGroup {
		var err error
		if name, err = protocol.DecodeGroup(body); err != nil {
			return nil, err
		}
	} else if len(body) != 0 {
		return nil, fmt.Errorf("store query with a %d-byte body: %w", len(body), protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *group
	var err error
	if withGroup {
		g, err = s.checkStoreGroup(name)
	} else {
		g, err = s.pickGroup()
	}
	if err != nil {
		return nil, err
	}
	one := cmd == protocol.CmdQueryStoreWithoutGroupOne || cmd == protocol.CmdQueryStoreWithGroupOne
	st := s.pickStorage(g, one)
	idx, err := s.pickPath(st)
	if err != nil {
		return nil, err
	}
	if one {
		r := &protocol.StoreReply{Group: g.name, IP: st.ip, Port: st.port, StorePathIndex: byte(idx)}
		return r.Encode(s.ipSize), nil
	}
	r := &protocol.StoreAllReply{Group: g.name, StorePathIndex: byte(idx)}
	writers := g.writableList()
	if s.nearFullWriter(g, writers) != nil {
		writers = []*storage{st}
	}
	for _, w := range writers {
		r.Servers = append(r.Servers, protocol.StorageAddr{IP: w.ip, Port: w.port})
	}
	return r.Encode(s.ipSize), nil
}

// fileSource is what read routing needs from a file name.
type fileSource struct {
	src       *storage // source storage, nil if unknown
	timestamp int64    // create time, unix seconds
	pinned    bool     // appender or slave: only the source is sure to have it
	invalid   bool     // the name does not decode: route to the store server
}

// sourceOf decodes the source storage of name in g.
func (s *Server) sourceOf(g *group, name string) fileSource {
	n, err := fileid.Parse(name)
	if err != nil {
		return fileSource{invalid: true}
	}
	fs := fileSource{timestamp: n.Timestamp, pinned: n.Appender || n.Slave}
	switch {
	case n.SourceID != "":
		fs.src = g.member(n.SourceID)
	case n.SourceIP != "":
		if st := g.current(n.SourceIP); st != nil {
			fs.src = st
			break
		}
		for _, st := range g.sorted {
			if st.ip == n.SourceIP && !st.tombstone() {
				fs.src = st
				break
			}
		}
	}
	return fs
}

// canServe is the sync-timestamp rule: a storage other than the source may
// serve a file only once it has probably received it.
func (s *Server) canServe(cand *storage, fs fileSource, now int64) bool {
	if fs.invalid {
		return false
	}
	if cand == fs.src {
		return true
	}
	age := now - fs.timestamp
	synced := cand.stat.LastSyncedTimestamp
	return age > int64(s.cfg.StorageSyncFileMaxDelay/time.Second) ||
		synced > fs.timestamp ||
		(synced+1 >= fs.timestamp && age > int64(s.cfg.StorageSyncFileMaxTime/time.Second))
}

// queryFetch: QUERY_FETCH_ONE/ALL and QUERY_UPDATE (102, 105, 103). A file
// is readable only on storages that already have it: the source (named in
// the file id) always, the others once their sync from it has passed the
// file's timestamp; an update must go to the source, whose binlog is the
// one that replicates it.
func (s *Server) queryFetch(cmd byte, body []byte) ([]byte, error) {
	q, err := protocol.DecodeFileQuery(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[q.Group]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", q.Group, protocol.ErrNotFound)
	}
	fs := s.sourceOf(g, q.Filename)
	one := func(st *storage) []byte {
		return (&protocol.FetchReply{Group: g.name, IP: st.ip, Port: st.port}).Encode(s.ipSize)
	}
	if h := s.holders(g, fs); len(h) > 0 {
		// The source is draining and others have the file: they serve it.
		return s.fromHolders(cmd, g, h), nil
	}
	if cmd == protocol.CmdQueryUpdate {
		if fs.src != nil && fs.src.active() {
			return one(fs.src), nil
		}
		if st := s.pickStorage(g, true); st != nil {
			return one(st), nil
		}
		return nil, fmt.Errorf("group %q has no writable storage: %w", g.name, protocol.ErrNotFound)
	}
	readable := g.readableList()
	if len(readable) == 0 {
		return nil, fmt.Errorf("group %q has no readable storage: %w", g.name, protocol.ErrNotFound)
	}
	srcReadable := fs.src != nil && fs.src.readable()
	now := s.now().Unix()
	if cmd == protocol.CmdQueryFetchAll {
		r := &protocol.FetchAllReply{Group: g.name}
		for _, st := range readable {
			if (!fs.pinned || !srcReadable || st == fs.src) && s.canServe(st, fs, now) {
				r.Servers = append(r.Servers, protocol.StorageAddr{IP: st.ip, Port: st.port})
			}
		}
		if len(r.Servers) == 0 {
			st := s.fallback(g, fs, readable)
			r.Servers = append(r.Servers, protocol.StorageAddr{IP: st.ip, Port: st.port})
		}
		return r.Encode(s.ipSize), nil
	}
	if srcReadable && (fs.pinned || s.cfg.DownloadServer == conf.DownloadServerSourceFirst) {
		return one(fs.src), nil
	}
	if fs.pinned || fs.invalid {
		// Appender/slave file whose source is not serving, or a name that
		// does not decode: the store server, as upstream.
		return one(s.fallback(g, fs, readable)), nil
	}
	// Round robin as upstream: one candidate per query, the cursor moves
	// on every query whether or not the candidate qualified.
	cand := readable[g.readCursor%len(readable)]
	g.readCursor = (g.readCursor + 1) % len(readable)
	if s.canServe(cand, fs, now) {
		return one(cand), nil
	}
	return one(s.fallback(g, fs, readable)), nil
}

// fromHolders answers a fetch or update query with the storages of h
// (drain.go): all of them for FETCH_ALL, else the next in round robin.
func (s *Server) fromHolders(cmd byte, g *group, h []*storage) []byte {
	if cmd == protocol.CmdQueryFetchAll {
		r := &protocol.FetchAllReply{Group: g.name}
		for _, st := range h {
			r.Servers = append(r.Servers, protocol.StorageAddr{IP: st.ip, Port: st.port})
		}
		return r.Encode(s.ipSize)
	}
	st := h[g.readCursor%len(h)]
	g.readCursor = (g.readCursor + 1) % max(len(g.sorted), 1)
	return (&protocol.FetchReply{Group: g.name, IP: st.ip, Port: st.port}).Encode(s.ipSize)
}

// storeServer is the group's "store server", where reads go when nothing
// else qualifies: the first writable storage in id order, or the one with
// the best upload priority under store_server=2; nil without writable ones.
func (s *Server) storeServer(g *group) *storage {
	if s.cfg.StoreServer == conf.StoreServerFirstByPri {
		return s.pickStorage(g, false)
	}
	if w := g.writableList(); len(w) > 0 {
		return w[0]
	}
	return nil
}

// fallback is the storage a read goes to when the candidates do not pass
// the sync rule: the source if readable, else the store server, else the
// first readable storage.
func (s *Server) fallback(g *group, fs fileSource, readable []*storage) *storage {
	if fs.src != nil && fs.src.readable() {
		return fs.src
	}
	if st := s.storeServer(g); st != nil && st.readable() {
		return st
	}
	return readable[0]
}

func (s *Server) groupStat(g *group) protocol.GroupStat {
	total, free := g.space()
	w := len(g.writableList())
	gs := protocol.GroupStat{
		Name: g.name, TotalMB: total, FreeMB: free, ReservedMB: s.reservedMB(total),
		StorageCount: int64(len(g.sorted)), StoragePort: int64(g.storagePort),
		ReadableCount: int64(len(g.readableList())), WritableCount: int64(w),
		StorePathCount: int64(g.storePathCount), SubdirCountPerPath: int64(g.subdirCountPerPath),
		CurrentTrunkFileID: -1,
	}
	if w > 0 {
		gs.CurrentWriteServer = int64(g.writeCursor % w)
	}
	if s.cfg.UseTrunkFile {
		gs.CurrentTrunkFileID = g.currentTrunkFileID
		gs.TrunkFreeMB = g.trunkFreeMB
	}
	return gs
}

// listOneGroup: SERVER_LIST_ONE_GROUP (90), fdfs_monitor's view of one
// group.
func (s *Server) listOneGroup(body []byte) ([]byte, error) {
	name, err := protocol.DecodeGroup(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", name, protocol.ErrNotFound)
	}
	return protocol.EncodeGroupStats([]protocol.GroupStat{s.groupStat(g)}), nil
}

func (s *Server) sortedGroups() []*group {
	out := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// listAllGroups: SERVER_LIST_ALL_GROUPS (91), in name order, as upstream
// keeps its groups sorted.
func (s *Server) listAllGroups(body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("list groups with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []protocol.GroupStat
	for _, g := range s.sortedGroups() {
		out = append(out, s.groupStat(g))
	}
	return protocol.EncodeGroupStats(out), nil
}

func (s *Server) storageStat(st *storage) protocol.StorageStat {
	return protocol.StorageStat{
		Status: st.status, RWMode: st.rwMode, ID: st.id, IP: st.ip, SrcID: st.syncSrcID, Version: st.version,
		JoinTime: st.joinTime, UpTime: st.upTime, TotalMB: st.totalMB, FreeMB: st.freeMB,
		ReservedMB: s.reservedMB(st.totalMB), UploadPriority: st.uploadPriority,
		StorePathCount: int64(st.storePathCount), SubdirCountPerPath: int64(st.subdirCountPerPath),
		CurrentWritePath: int64(st.currentWritePath), StoragePort: int64(st.port), Stat: st.stat,
		IfTrunkServer: s.cfg.UseTrunkFile && st.group.trunkServer == st.id,
	}
}

// listStorage: SERVER_LIST_STORAGE (92), the storages of a group or the
// one named.
func (s *Server) listStorage(body []byte) ([]byte, error) {
	req, err := protocol.DecodeGroupAndID(body, false)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[req.Group]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", req.Group, protocol.ErrNotFound)
	}
	var out []protocol.StorageStat
	for _, st := range g.sorted {
		if req.ID == "" || st.id == req.ID {
			out = append(out, s.storageStat(st))
		}
	}
	if req.ID != "" && len(out) == 0 {
		return nil, fmt.Errorf("storage %q in group %q: %w", req.ID, req.Group, protocol.ErrNotFound)
	}
	return protocol.EncodeStorageStats(out, s.ipSize), nil
}

// deleteStorage turns a storage that is not serving (EBUSY otherwise) into
// a DELETED tombstone, listed to the group's storages as upstream's
// tracker does, and logs the deletion in the changelog the storages read
// (they drop their sync positions for it). EALREADY when it is deleted
// already, ENOENT for an address that moved, as upstream.
func (s *Server) deleteStorage(body []byte) ([]byte, error) {
	req, err := protocol.DecodeGroupAndID(body, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.findStorage(req.Group, req.ID)
	if err != nil {
		return nil, err
	}
	switch st.status {
	case protocol.StatusOnline, protocol.StatusActive, protocol.StatusRecovery:
		return nil, fmt.Errorf("storage %q is %s: %w", st.id, protocol.StorageStatusName(st.status), protocol.ErrBusy)
	case protocol.StatusDeleted:
		return nil, fmt.Errorf("storage %q: %w", st.id, protocol.ErrAlready)
	case protocol.StatusIPChanged:
		return nil, fmt.Errorf("storage %q moved to another address: %w", st.id, protocol.ErrNotFound)
	}
	if err := s.appendChangelog(st.group.name, st.id, protocol.StatusDeleted, ""); err != nil {
		return nil, err
	}
	g := st.group
	g.bury(st.id, st, protocol.StatusDeleted)
	g.renamed.Forget(st.id)
	g.resort()
	g.changed()
	tomb := g.storages[st.id]
	tomb.buriedAt, tomb.buriedChg = s.now().Unix(), g.chgCount
	s.dirty = true
	s.log.Info("storage deleted", "group", g.name, "id", st.id)
	s.saveLogged()
	return nil, nil
}

// deleteGroup: SERVER_DELETE_GROUP (108). Only a group without storages
// can go, its deleted storages' tombstones aside: deleting the storages
// first is what makes sure no file is still served from it (EBUSY
// otherwise). Upstream's tracker counts the tombstones, so a group that
// ever had a storage can never go there.
func (s *Server) deleteGroup(body []byte) ([]byte, error) {
	name, err := protocol.DecodeGroup(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", name, protocol.ErrNotFound)
	}
	if n := g.members(); n > 0 {
		return nil, fmt.Errorf("group %q still has %d storages: %w", name, n, protocol.ErrBusy)
	}
	delete(s.groups, name)
	s.dirty = true
	s.saveLogged()
	return nil, nil
}

// trackerView returns this tracker's id, the leader's (this one when it
// is alone) and its peers' ids. The caller holds s.mu.
func (s *Server) trackerView() (self, leader string, peers []string) {
	self, leader = s.selfID(), s.rel.leader
	if leader == "" && len(s.rel.peers) == 0 {
		leader = self // a lone tracker leads
	}
	peers = make([]string, 0, len(s.rel.peers))
	for _, p := range s.rel.peers {
		peers = append(peers, p.id())
	}
	return self, leader, peers
}

// trackerClusterStat: SERVER_TRACKER_CLUSTER_STAT, the trackers this one
// knows and which leads, filtered as asked.
func (s *Server) trackerClusterStat(cs *conn, body []byte) ([]byte, error) {
	f, err := protocol.DecodeTrackerClusterFilter(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	self, leader, peers := s.trackerView()
	s.mu.Unlock()
	// This tracker reports its own counters; of its peers it knows the
	// address and whether they lead (the leader is the one pinged alive).
	entries := []protocol.TrackerClusterEntry{{
		Host: self, IsLeader: self == leader, IsActive: true,
		AllocCount: int32(cap(s.sem)), CurrentCount: int32(len(s.sem)), MaxCount: s.peak.Load(),
		Version: Version, UpTime: s.startTime.Unix(),
	}}
	for _, p := range peers {
		entries = append(entries, protocol.TrackerClusterEntry{Host: p, IsLeader: p == leader, IsActive: p == leader, Version: Version})
	}
	var out []protocol.TrackerClusterEntry
	for _, e := range entries {
		if (f.FilterBy&protocol.TrackerFilterActive == 0 || (f.IsActive != 0) == e.IsActive) &&
			(f.FilterBy&protocol.TrackerFilterLeader == 0 || (f.IsLeader != 0) == e.IsLeader) {
			out = append(out, e)
		}
	}
	return protocol.EncodeTrackerClusterStat(out), nil
}

// storageClusterStat: SERVER_STORAGE_CLUSTER_STAT, every storage with its
// connection counters, filtered as upstream's tracker does: by status
// ('=' or '!' the given one; any other operator lists nothing) and, when
// trunk files are in use, by being the group's trunk server.
func (s *Server) storageClusterStat(body []byte) ([]byte, error) {
	f, err := protocol.DecodeStorageClusterFilter(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &protocol.StorageClusterStat{UseStorageID: s.cfg.UseStorageID, UseTrunkFile: s.cfg.UseTrunkFile}
	for _, g := range s.sortedGroups() {
		for _, st := range g.sorted {
			isTrunk := s.cfg.UseTrunkFile && g.trunkServer == st.id
			if s.cfg.UseTrunkFile && f.FilterBy&protocol.StorageFilterTrunkServer != 0 && (f.IsTrunkServer != 0) != isTrunk {
				continue
			}
			if f.FilterBy&protocol.StorageFilterStatus != 0 && !statusFilter(f, st.status) {
				continue
			}
			r.Storages = append(r.Storages, protocol.StorageClusterEntry{
				ID: st.id, Host: protocol.FormatHostPort(st.ip, st.port), Status: st.status,
				AllocCount: st.stat.AllocCount, CurrentCount: st.stat.CurrentCount, MaxCount: st.stat.MaxCount,
				Version: st.version, UpTime: st.upTime, LastHeartbeat: st.stat.LastHeartBeatTime,
				IsTrunkServer: isTrunk,
			})
		}
	}
	return r.Encode(), nil
}

// statusFilter applies a storage cluster filter's status test.
func statusFilter(f *protocol.StorageClusterFilter, status byte) bool {
	switch f.OpType {
	case protocol.StorageFilterOpEqual:
		return status == f.Status
	case protocol.StorageFilterOpNotEqual:
		return status != f.Status
	}
	return false
}

// volumeStat: SERVER_STORAGE_VOLUME_STAT, space per group with the
// reserved space taken out, as upstream reports it.
func (s *Server) volumeStat(body []byte) ([]byte, error) {
	f, err := protocol.DecodeVolumeFilter(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &protocol.VolumeStat{UseTrunkFile: s.cfg.UseTrunkFile}
	for _, g := range s.sortedGroups() {
		total, free := g.space()
		reserved := s.reservedMB(total)
		e := protocol.VolumeEntry{Group: g.name, TotalMB: total, FreeMB: free, ReservedMB: reserved,
			AvailMB: max(free-reserved, 0)}
		e.IsDiskAvailable = len(g.writableList()) > 0 && s.groupHasSpace(g)
		if s.cfg.UseTrunkFile {
			e.TrunkFreeMB = g.trunkFreeMB
			e.IsTrunkAvailable = g.trunkFreeMB > 0 && g.storages[g.trunkServer] != nil
		}
		space := e.IsDiskAvailable || e.IsTrunkAvailable
		if (f.FilterBy&protocol.VolumeFilterDisk != 0 && (f.IsDiskAvailable != 0) != e.IsDiskAvailable) ||
			(f.FilterBy&protocol.VolumeFilterTrunk != 0 && (f.IsTrunkAvailable != 0) != e.IsTrunkAvailable) ||
			(f.FilterBy&protocol.VolumeFilterSpace != 0 && (f.IsSpaceAvailable != 0) != space) {
			continue
		}
		r.Groups = append(r.Groups, e)
	}
	return r.Encode(), nil
}

// appendChangelog appends one line to storage_changelog.dat and syncs it.
func (s *Server) appendChangelog(group, id string, status byte, newIP string) error {
	line := protocol.ChangelogEntry{Time: s.now().Unix(), Group: group, ID: id, Status: status, NewID: newIP}.Line()
	f, err := os.OpenFile(filepath.Join(s.dataDir, changelogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.changelogSize += int64(len(line))
	return nil
}
