package trackernode

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Storage ↔ tracker commands (protocol.md §6). Handlers lock s.mu.

// setStatus changes a storage's status and announces the change to the
// group (the next beat replies carry the membership list).
func (s *Server) setStatus(st *storage, status byte) {
	if st.status == status {
		return
	}
	st.status = status
	st.group.changed()
	s.dirty = true
}

func rwModeOf(e *conf.StorageID) byte {
	switch e.RW {
	case "read":
		return protocol.RWRead
	case "write":
		return protocol.RWWrite
	case "none":
		return 0
	}
	return protocol.RWRead | protocol.RWWrite
}

// lookupID maps (group, ip, port) to a storage id: the IP itself in IP mode,
// the storage_ids.conf entry in id mode.
func (s *Server) lookupID(group, ip string, port int) (string, byte, error) {
	if s.ids == nil {
		if err := ipModeID(ip); err != nil {
			return "", 0, err
		}
		return ip, protocol.RWRead | protocol.RWWrite, nil
	}
	e, ok := s.ids.Find(group, ip, port)
	if !ok {
		return "", 0, fmt.Errorf("no storage id for group %q %s:%d: %w", group, ip, port, protocol.ErrNotFound)
	}
	return e.ID, rwModeOf(e), nil
}

// ipModeID checks that a storage's address ip can be its id in IP mode:
// ids travel in 16-byte fields (NUL included), so a longer IPv6 address
// would be cut short in every group list and refused in the data files at
// the next start. Upstream refuses IPv6 without storage ids at start; a
// storage reaching our dual-stack port over IPv6 is told the same here.
func ipModeID(ip string) error {
	if len(ip) >= protocol.StorageIDSize {
		return fmt.Errorf("storage address %s is %d bytes, too long for an id (at most %d): IPv6 storages need use_storage_id = true: %w",
			ip, len(ip), protocol.StorageIDSize-1, protocol.ErrInvalid)
	}
	return nil
}

// getMyIP: STORAGE_GET_MY_IP, the address a storage puts in its new file
// names. It is the address this tracker sees the connection from (the
// storage cannot know which of its addresses the cluster reaches), or the
// storage's addresses in storage_ids.conf in id mode.
func (s *Server) getMyIP(cs *conn, body []byte) ([]byte, error) {
	req, err := protocol.DecodeGetMyIPRequest(body)
	if err != nil {
		return nil, err
	}
	if s.ids != nil {
		if e, ok := s.ids.Find(req.Group, cs.peerIP, int(req.Port)); ok {
			return []byte(strings.Join(e.IPs, ",")), nil
		}
	}
	return []byte(cs.peerIP), nil
}

func boolParam(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// parameters answers PARAMETER_REQ with upstream's keys in upstream's order.
func (s *Server) parameters(body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("parameter request with a body: %w", protocol.ErrInvalid)
	}
	c := s.cfg
	idType := "ip"
	if c.IDTypeInFilename == "id" {
		idType = "id"
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	var p protocol.Params
	add := func(k, v string) { p = append(p, protocol.Param{Key: k, Value: v}) }
	add("use_storage_id", boolParam(c.UseStorageID))
	add("id_type_in_filename", idType)
	add("trust_storage_server_id", boolParam(c.TrustStorageServerID))
	add("response_ip_addr_size", strconv.Itoa(s.ipSize))
	add("storage_ip_changed_auto_adjust", boolParam(c.StorageIPChangedAutoAdjust))
	add("storage_sync_file_max_delay", secs(c.StorageSyncFileMaxDelay))
	add("store_path", strconv.Itoa(int(c.StorePath)))
	add("reserved_storage_space", c.ReservedStorageSpace.String())
	add("use_trunk_file", boolParam(c.UseTrunkFile))
	add("slot_min_size", i64(c.SlotMinSize))
	add("slot_max_size", i64(c.SlotMaxSize))
	add("trunk_alloc_alignment_size", i64(c.TrunkAllocAlignmentSize))
	add("trunk_file_size", i64(c.TrunkFileSize))
	add("trunk_create_file_advance", boolParam(c.TrunkCreateFileAdvance))
	add("trunk_create_file_time_base", c.TrunkCreateFileTimeBase)
	add("trunk_create_file_interval", secs(c.TrunkCreateFileInterval))
	add("trunk_create_file_space_threshold", i64(c.TrunkCreateFileSpaceThreshold))
	add("trunk_init_check_occupying", boolParam(c.TrunkInitCheckOccupying))
	add("trunk_init_reload_from_binlog", boolParam(c.TrunkInitReloadFromBinlog))
	add("trunk_free_space_merge", boolParam(c.TrunkFreeSpaceMerge))
	add("delete_unused_trunk_files", boolParam(c.DeleteUnusedTrunkFiles))
	add("trunk_compress_binlog_min_interval", secs(c.TrunkCompressBinlogMinInterval))
	add("trunk_compress_binlog_interval", secs(c.TrunkCompressBinlogInterval))
	add("trunk_compress_binlog_time_base", c.TrunkCompressBinlogTimeBase)
	add("trunk_binlog_max_backups", strconv.Itoa(c.TrunkBinlogMaxBackups))
	add("store_slave_file_use_link", boolParam(c.StoreSlaveFileUseLink))
	return p.Encode(), nil
}

// idLine renders one storage_ids.conf entry as FETCH_STORAGE_IDS sends it.
func idLine(e *conf.StorageID) string {
	var b strings.Builder
	b.WriteString(e.ID)
	b.WriteByte(' ')
	b.WriteString(e.Group)
	b.WriteByte(' ')
	for i, ip := range e.IPs {
		if i > 0 {
			b.WriteByte(',')
		}
		if e.Port > 0 && strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		b.WriteString(ip)
	}
	if e.Port > 0 {
		b.WriteString(":" + strconv.Itoa(e.Port))
	}
	if e.RW != "" && e.RW != "both" {
		b.WriteString(" rw=" + e.RW)
	}
	return b.String()
}

// fetchStorageIDs: STORAGE_FETCH_STORAGE_IDS, storage_ids.conf in pages
// bounded by the reply size; the storage asks again from the next index.
func (s *Server) fetchStorageIDs(body []byte) ([]byte, error) {
	req, err := protocol.DecodeFetchStorageIDsRequest(body)
	if err != nil {
		return nil, err
	}
	if s.ids == nil {
		if req.AllowEmpty {
			return (&protocol.StorageIDsReply{}).Encode(), nil
		}
		return nil, fmt.Errorf("storage ids in IP mode: %w", protocol.ErrNotSupported)
	}
	total := len(s.ids.List)
	if req.StartIndex < 0 || int(req.StartIndex) > total {
		return nil, fmt.Errorf("storage ids start index %d of %d: %w", req.StartIndex, total, protocol.ErrInvalid)
	}
	r := &protocol.StorageIDsReply{Total: int32(total)}
	size := 8
	for i := int(req.StartIndex); i < total; i++ {
		l := idLine(&s.ids.List[i])
		if size+len(l)+1 > maxStorageIDsReply {
			break
		}
		size += len(l) + 1
		r.Lines = append(r.Lines, l)
	}
	return r.Encode(), nil
}

// getServerID: STORAGE_GET_SERVER_ID, the id of the storage at an
// address, so that a storage without server_id in its conf learns its own.
func (s *Server) getServerID(body []byte) ([]byte, error) {
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
	return []byte(id), nil
}

// getGroupName: STORAGE_GET_GROUP_NAME, the group of a storage as
// storage_ids.conf has it (id mode only: in IP mode the storage's conf is
// the only source of its group).
func (s *Server) getGroupName(cs *conn, body []byte) ([]byte, error) {
	req, err := protocol.DecodeGetGroupNameRequest(body)
	if err != nil {
		return nil, err
	}
	if s.ids == nil {
		return nil, fmt.Errorf("get group name in IP mode: %w", protocol.ErrNotSupported)
	}
	ip := req.IP
	if ip == "" {
		ip = cs.peerIP
	}
	for i := range s.ids.List {
		e := &s.ids.List[i]
		if e.Port > 0 && e.Port != int(req.Port) {
			continue
		}
		for _, a := range e.IPs {
			if a == ip {
				return protocol.EncodeGroup(e.Group), nil
			}
		}
	}
	return nil, fmt.Errorf("no storage id for %s:%d: %w", ip, req.Port, protocol.ErrNotFound)
}

// join handles STORAGE_JOIN: validates the body, finds or creates the
// group and the storage record, and binds the storage to the connection.
func (s *Server) join(cs *conn, body []byte) ([]byte, error) {
	j, err := protocol.DecodeJoinRequest(body)
	if err != nil {
		return nil, err
	}
	if err := validateJoin(j); err != nil {
		return nil, err
	}
	port := int(j.StoragePort)
	id, rw, err := s.joinID(cs, j, port)
	if err != nil {
		return nil, err
	}
	trackers := s.classifyTrackers(j.Trackers, cs.c.LocalAddr())
	// Learn the trackers before copying the sys files: a peer copying from
	// this tracker at the same time is accepted only once it is known.
	s.mu.Lock()
	s.learnTrackers(trackers)
	s.mu.Unlock()
	if err := s.copySysFilesOnce(trackers); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.joinGroup(j.Group)
	if err != nil {
		return nil, err
	}
	paths, subdirs, err := s.joinLayout(g, id, port, j)
	if err != nil {
		return nil, err
	}
	st, err := s.admit(cs, g, id, port, j.Status)
	if err != nil {
		return nil, err
	}
	s.applyJoin(cs, st, j, rw, port)
	g.storePathCount, g.subdirCountPerPath = paths, subdirs
	g.resort()
	cs.st = st
	st.owner = cs
	st.trunkSeen = -1 // a (re)started storage learns the trunk server anew
	s.dirty = true
	s.saveLogged()
	if s.rel.leader == "" && len(s.rel.peers) > 0 {
		// The election that learning the trackers started found no group
		// here yet (a tracker without groups is no candidate): elect now.
		s.kickRelationship()
	}
	return (&protocol.JoinResponse{Status: st.status, SrcID: st.syncSrcID}).Encode(), nil
}

// validateJoin checks the group name and the counts of a JOIN body
// against the ranges upstream accepts.
func validateJoin(j *protocol.JoinRequest) error {
	switch {
	case !protocol.ValidGroupName(j.Group):
		return fmt.Errorf("join: bad group name %q: %w", j.Group, protocol.ErrInvalid)
	case j.StoragePort <= 0 || j.StoragePort > 65535:
		return fmt.Errorf("join: bad port %d: %w", j.StoragePort, protocol.ErrInvalid)
	case j.StorePathCount < 1 || j.StorePathCount > 256:
		return fmt.Errorf("join: bad store_path_count %d: %w", j.StorePathCount, protocol.ErrInvalid)
	case j.SubdirCountPerPath < 1 || j.SubdirCountPerPath > 256:
		return fmt.Errorf("join: bad subdir_count_per_path %d: %w", j.SubdirCountPerPath, protocol.ErrInvalid)
	}
	return nil
}

// joinID is the storage id, and its read/write mode, that JOIN j on cs
// joins as, port being the storage's port: the id the storage sends when
// trust_storage_server_id lets it name itself, else the one its address
// maps to (lookupID). A connection joins as one storage only.
func (s *Server) joinID(cs *conn, j *protocol.JoinRequest, port int) (id string, rw byte, err error) {
	if s.ids != nil && s.cfg.TrustStorageServerID && j.StorageID != "" {
		e, ok := s.ids.ByID(j.StorageID)
		if !ok {
			return "", 0, fmt.Errorf("join: unknown storage id %q: %w", j.StorageID, protocol.ErrNotFound)
		}
		if e.Group != j.Group {
			return "", 0, fmt.Errorf("join: storage id %q belongs to %q, not %q: %w", e.ID, e.Group, j.Group, protocol.ErrInvalid)
		}
		id, rw = e.ID, rwModeOf(e)
	} else if id, rw, err = s.lookupID(j.Group, cs.peerIP, port); err != nil {
		return "", 0, err
	}
	if cs.st != nil && (cs.st.id != id || cs.st.group.name != j.Group) {
		return "", 0, fmt.Errorf("join: connection already joined as %q of %q: %w", cs.st.id, cs.st.group.name, protocol.ErrInvalid)
	}
	return id, rw, nil
}

// joinGroup returns the group named name, created empty when new, or
// ENOSPC when there are already protocol.MaxGroups. Caller holds s.mu.
func (s *Server) joinGroup(name string) (*group, error) {
	g := s.groups[name]
	if g == nil {
		if len(s.groups) >= protocol.MaxGroups {
			return nil, fmt.Errorf("join: %d groups: %w", len(s.groups), protocol.ErrNoSpace)
		}
		g = newGroup(name)
		s.groups[name] = g
	}
	return g, nil
}

// joinLayout checks that storage id may join g with port and the store
// path and subdirectory counts of j, and returns g's counts once it has
// (layoutWith). Unless file names carry storage ids (id mode with
// id_type_in_filename = id), every member of g must listen on port.
// Caller holds s.mu.
func (s *Server) joinLayout(g *group, id string, port int, j *protocol.JoinRequest) (int, int, error) {
	portsMayDiffer := s.ids != nil && s.cfg.IDTypeInFilename == "id"
	if !portsMayDiffer {
		for _, o := range g.sorted {
			if o.id != id && !o.tombstone() && o.port != port {
				return 0, 0, fmt.Errorf("join: port %d differs from group port %d: %w", port, o.port, protocol.ErrInvalid)
			}
		}
	}
	return g.layoutWith(id, int(j.StorePathCount), int(j.SubdirCountPerPath))
}

// admit returns the record of storage id, joining g from cs on port. On
// the leader, a storage made a tombstone (DELETED, IP_CHANGED) less than
// check_active_interval ago is held off with EAGAIN until every member of
// g has heard of it (heardOf). A storage with no record, or only its
// tombstone, gets a new one: INIT unless status, the status the storage
// last knew, says otherwise. An OFFLINE or RECOVERY one goes ONLINE.
// Caller holds s.mu.
func (s *Server) admit(cs *conn, g *group, id string, port int, status byte) (*storage, error) {
	if tomb := g.storages[id]; tomb != nil && tomb.tombstone() && s.amLeader() && !g.heardOf(tomb) &&
		s.now().Unix()-tomb.buriedAt < int64(s.activeInterval()/time.Second) {
		return nil, fmt.Errorf("join: %s is %s and not every storage of %s has heard yet: %w",
			id, protocol.StorageStatusName(tomb.status), g.name, protocol.ErrAgain)
	}
	st := g.member(id)
	if st == nil {
		// New, or replacing its tombstone: a storage joining with the id
		// of a deleted one is a new storage (INIT), as upstream.
		if !g.roomFor(id) {
			return nil, fmt.Errorf("join: group %q is full: %w", g.name, protocol.ErrNoSpace)
		}
		st = &storage{id: id, group: g, status: protocol.StatusInit, syncedFrom: map[string]int64{}}
		switch status {
		case protocol.StatusWaitSync, protocol.StatusSyncing, protocol.StatusRecovery:
			st.status = status
		case protocol.StatusOffline, protocol.StatusOnline, protocol.StatusActive:
			st.status = protocol.StatusOnline
		}
		g.storages[id] = st
		g.changed()
		s.log.Info("new storage joined", "group", g.name, "id", id, "ip", cs.peerIP, "port", port)
	} else if st.status == protocol.StatusOffline || st.status == protocol.StatusRecovery {
		st.status = protocol.StatusOnline
		g.changed()
	}
	return st, nil
}

// applyJoin records in st what the JOIN j on cs said of the storage, with
// read/write mode rw and port, and stamps its last beat now. Caller holds
// s.mu.
func (s *Server) applyJoin(cs *conn, st *storage, j *protocol.JoinRequest, rw byte, port int) {
	if st.status == protocol.StatusInit {
		// A new storage has none of the history of the others' address
		// changes and deletions to apply (upstream skips it too).
		st.changelogOffset = s.changelogSize
	}
	st.ip = cs.peerIP
	st.rwMode = rw
	st.port = port
	st.storePathCount = int(j.StorePathCount)
	st.subdirCountPerPath = int(j.SubdirCountPerPath)
	st.uploadPriority = j.UploadPriority
	st.joinTime = j.JoinTime
	if st.joinTime <= 0 {
		st.joinTime = s.now().Unix()
	}
	st.upTime = j.UpTime
	st.version = j.Version
	st.stat.LastHeartBeatTime = s.now().Unix()
}

// layoutWith is the group's store_path_count and subdir_count_per_path
// once storage id joins with paths and subdirs, or EINVAL, upstream's
// rule (tracker_mem_add_group_and_storage): the group takes the joiner's
// counts when it is the only member or every other member has them too;
// otherwise a joiner with fewer store paths than the group, or another
// subdirectory count, is refused (the files of the paths it lacks, or in
// the directories it lacks, could not be replicated to it), and one with
// more store paths is taken as it is.
func (g *group) layoutWith(id string, paths, subdirs int) (int, int, error) {
	othersHave := func(match func(o *storage) bool) bool {
		for _, o := range g.sorted {
			if o.id != id && !o.tombstone() && !match(o) {
				return false
			}
		}
		return true
	}
	gp, gs := g.storePathCount, g.subdirCountPerPath
	switch {
	case gp == 0, paths == gp, othersHave(func(o *storage) bool { return o.storePathCount == paths }):
		gp = paths
	case paths < gp:
		return 0, 0, fmt.Errorf("join: store_path_count %d is less than group %s's %d: %w", paths, g.name, gp, protocol.ErrInvalid)
	}
	switch {
	case gs == 0, subdirs == gs, othersHave(func(o *storage) bool { return o.subdirCountPerPath == subdirs }):
		gs = subdirs
	default:
		return 0, 0, fmt.Errorf("join: subdir_count_per_path %d differs from group %s's %d: %w", subdirs, g.name, gs, protocol.ErrInvalid)
	}
	return gp, gs, nil
}

// notice builds the change notification for the storage on cs, as the
// leader does: the leader brief once per connection and the group list
// whenever the group changed since this storage last saw it.
func (s *Server) notice(cs *conn) []byte {
	st := cs.st
	c := protocol.ChangeNotice{}
	if !s.amLeader() {
		return c.Encode() // followers answer a single zero byte
	}
	if cs.leaderChg != s.leaderChg {
		c.Flags |= protocol.ChangeLeader
		if host, port, err := protocol.ParseHostPort(cs.self); err == nil {
			c.Leader = protocol.Brief{Port: int32(port), ID: host, IP: host}
		}
		cs.leaderChg = s.leaderChg
	}
	if g := st.group; st.chgSeen != g.chgCount {
		c.Flags |= protocol.ChangeGroup
		for _, o := range g.sorted {
			c.Storages = append(c.Storages, protocol.Brief{Status: o.status, Port: int32(o.port), ID: o.id, IP: o.ip})
		}
		st.chgSeen = g.chgCount
	}
	s.trunkNotice(st, &c)
	return c.Encode()
}

// activate turns a storage that reported in (beat or disk usage) ACTIVE.
func (s *Server) activate(st *storage) {
	if st.status == protocol.StatusOnline || st.status == protocol.StatusOffline {
		s.setStatus(st, protocol.StatusActive)
		s.saveLogged()
	}
}

// beat: STORAGE_BEAT. Besides the counters, the beat is what keeps a
// storage ACTIVE (check_active_interval) and carries back the changes of
// the group (the notice) the storage needs for syncing.
func (s *Server) beat(cs *conn, body []byte) ([]byte, error) {
	var blk *protocol.StatBlock
	if len(body) != 0 {
		var err error
		if blk, err = protocol.DecodeStatBlock(body); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	if st.group.storages[st.id] != st {
		return nil, fmt.Errorf("beat from deleted storage %q: %w", st.id, protocol.ErrNotFound)
	}
	if blk != nil {
		blk.LastHeartBeatTime = st.stat.LastHeartBeatTime
		blk.LastSyncedTimestamp = st.stat.LastSyncedTimestamp
		st.stat = *blk
	}
	st.stat.LastHeartBeatTime = s.now().Unix()
	s.activate(st)
	s.dirty = true // counters: saved by the check loop within saveInterval
	return s.notice(cs), nil
}

// diskUsage: STORAGE_REPORT_DISK_USAGE, the free space per store path that
// the upload policy (store_lookup 2, store_path 2, reserved space) uses.
func (s *Server) diskUsage(cs *conn, body []byte) ([]byte, error) {
	ps, err := protocol.DecodeDiskUsage(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	if len(ps) != st.storePathCount {
		return nil, fmt.Errorf("disk usage for %d paths, storage has %d: %w", len(ps), st.storePathCount, protocol.ErrInvalid)
	}
	st.paths = ps
	st.totalMB, st.freeMB = 0, 0
	for _, p := range ps {
		st.totalMB += p.TotalMB
		st.freeMB += p.FreeMB
	}
	st.stat.LastHeartBeatTime = s.now().Unix()
	s.activate(st)
	s.dirty = true
	return s.notice(cs), nil
}

// syncReport: STORAGE_SYNC_REPORT, how far the storage has synced from each
// source; these timestamps decide which storages can serve a file
// (queryFetch) before it reached all of them.
func (s *Server) syncReport(cs *conn, body []byte) ([]byte, error) {
	entries, err := protocol.DecodeSyncReport(body)
	if err != nil {
		return nil, err
	}
	if len(entries) > protocol.MaxServersInGroup {
		return nil, fmt.Errorf("sync report with %d entries: %w", len(entries), protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	g := st.group
	for _, e := range entries {
		if e.SrcID == st.id || g.member(e.SrcID) == nil {
			continue
		}
		st.syncedFrom[e.SrcID] = int64(e.Timestamp)
	}
	s.recomputeSynced(st)
	s.dirty = true
	return s.notice(cs), nil
}

// recomputeSynced sets last_synced_timestamp: the minimum over the ACTIVE
// sources with round-robin store_server (any of them may have written the
// file), else the maximum.
func (s *Server) recomputeSynced(st *storage) {
	// Sources that never sent this storage anything (ts <= 0) are left out,
	// as upstream does: a member that never uploads must not hold back
	// the read routing of everybody else's files.
	var v int64
	for _, src := range st.group.sorted {
		ts := st.syncedFrom[src.id]
		if src == st || !src.active() || ts <= 0 {
			continue
		}
		if v == 0 || (s.cfg.StoreServer == conf.StoreServerRoundRobin && ts < v) || (s.cfg.StoreServer != conf.StoreServerRoundRobin && ts > v) {
			v = ts
		}
	}
	st.stat.LastSyncedTimestamp = v
}

// changelog sends the part of storage_changelog.dat this storage has not
// seen, at most one 8 KB chunk per request.
func (s *Server) changelog(cs *conn, body []byte) ([]byte, error) {
	req, err := protocol.DecodeChangelogRequest(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	switch {
	case st != nil && req != nil:
		return nil, fmt.Errorf("changelog request with a body on a joined connection: %w", protocol.ErrInvalid)
	case st == nil && req == nil:
		return nil, fmt.Errorf("changelog request without storage: %w", protocol.ErrInvalid)
	case st == nil:
		if st, err = s.findStorage(req.Group, req.StorageID); err != nil {
			return nil, err
		}
	}
	n := min(s.changelogSize-st.changelogOffset, maxChangelogChunk)
	if n <= 0 {
		return nil, nil
	}
	f, err := os.Open(filepath.Join(s.dataDir, changelogFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, st.changelogOffset); err != nil && err != io.EOF {
		return nil, err
	}
	st.changelogOffset += n
	s.dirty = true
	s.saveLogged()
	return buf, nil
}
