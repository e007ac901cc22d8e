package trackernode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// Upstream file names under base_path/data (protocol.md §9).
const (
	groupsFile    = "storage_groups_new.dat"
	serversFile   = "storage_servers_new.dat"
	syncFile      = "storage_sync_timestamp.dat"
	changelogFile = "storage_changelog.dat"
	statusFile    = ".tracker_status"
)

// saveLogged asks the saver goroutine to write a dirty map. Caller holds
// s.mu. Writing (with its fsyncs) happens outside s.mu so that a slow disk
// does not stall beats and queries.
func (s *Server) saveLogged() {
	if !s.dirty {
		return
	}
	select {
	case s.saveCh <- struct{}{}:
	default: // a save is already pending; it will render the latest state
	}
}

// saverLoop writes the map whenever saveLogged asks.
func (s *Server) saverLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.saveCh:
			if err := s.flush(); err != nil {
				s.log.Error("save tracker data", "err", err)
			}
		}
	}
}

// flush renders the map under s.mu and writes it. Only the saver goroutine
// and Close (after the saver stopped) call it, so writes never interleave.
func (s *Server) flush() error {
	s.mu.Lock()
	files := s.render()
	s.dirty = false
	s.mu.Unlock()
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(s.dataDir, f.name), f.data, 0o644); err != nil {
			s.mu.Lock()
			s.dirty = true // retried by the next periodic save
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

type dataFile struct {
	name string
	data []byte
}

// render returns the contents of every data file. Caller holds s.mu.
func (s *Server) render() []dataFile {
	groups := s.sortedGroups()
	var gb, sb, tb bytes.Buffer
	fmt.Fprintf(&gb, "[Global]\ngroup_count=%d\n", len(groups))
	n := 0
	for _, g := range groups {
		n += len(g.sorted)
	}
	fmt.Fprintf(&sb, "[Global]\nstorage_count=%d\n", n)
	n = 0
	for i, g := range groups {
		fmt.Fprintf(&gb, "\n[Group%03d]\ngroup_name=%s\nstorage_port=%d\nstore_path_count=%d\n"+
			"subdir_count_per_path=%d\ncurrent_trunk_file_id=%d\ntrunk_server=%s\nlast_trunk_server=%s\n",
			i+1, g.name, g.storagePort, g.storePathCount, g.subdirCountPerPath, g.currentTrunkFileID, g.trunkServer, g.lastTrunkServer)
		for _, st := range g.sorted {
			n++
			fmt.Fprintf(&sb, "\n[Storage%03d]\ngroup_name=%s\n", n, g.name)
			if s.ids != nil {
				fmt.Fprintf(&sb, "id=%s\n", st.id)
			}
			fmt.Fprintf(&sb, "ip_addr=%s\nstatus=%d\nversion=%s\njoin_time=%d\nup_time=%d\nstorage_port=%d\n"+
				"sync_src_server=%s\nsync_until_timestamp=%d\ntotal_mb=%d\nfree_mb=%d\nchangelog_offset=%d\n"+
				"store_path_count=%d\nsubdir_count_per_path=%d\nupload_priority=%d\n",
				st.ip, st.status, st.version, st.joinTime, st.upTime, st.port, st.syncSrcID, st.syncUntil,
				st.totalMB, st.freeMB, st.changelogOffset, st.storePathCount, st.subdirCountPerPath, st.uploadPriority)
			for _, f := range st.stat.Fields() {
				fmt.Fprintf(&sb, "%s=%d\n", f.Name, *f.P)
			}
			// One row per destination: group, id, then what it received
			// from every member in sorted order.
			fmt.Fprintf(&tb, "%s,%s", g.name, st.id)
			for _, src := range g.sorted {
				fmt.Fprintf(&tb, ",%d", st.syncedFrom[src.id])
			}
			tb.WriteByte('\n')
		}
	}
	status := fmt.Sprintf("up_time=%d\nlast_check_time=%d\n", s.startTime.Unix(), s.now().Unix())
	return []dataFile{{groupsFile, gb.Bytes()}, {serversFile, sb.Bytes()}, {syncFile, tb.Bytes()}, {statusFile, []byte(status)}}
}

// section is one "[name]" block of an upstream .dat file.
type section struct {
	name string
	kv   map[string]string
}

func parseSections(data []byte) []section {
	var out []section
	cur := section{kv: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[' && line[len(line)-1] == ']':
			out = append(out, cur)
			cur = section{name: line[1 : len(line)-1], kv: map[string]string{}}
		default:
			if k, v, ok := strings.Cut(line, "="); ok {
				cur.kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return append(out, cur)
}

func (sec section) int(key string) int64 {
	v, _ := strconv.ParseInt(sec.kv[key], 10, 64)
	return v
}

func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// load restores the map written by flush, each storage in the status
// restoredStatus gives it.
func (s *Server) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gdata, err := readOptional(filepath.Join(s.dataDir, groupsFile))
	if err != nil {
		return err
	}
	if err := s.loadGroups(gdata); err != nil {
		return err
	}
	sdata, err := readOptional(filepath.Join(s.dataDir, serversFile))
	if err != nil {
		return err
	}
	if err := s.loadStorages(sdata); err != nil {
		return err
	}
	for _, g := range s.groups {
		g.resort()
		g.changed()
	}
	tdata, err := readOptional(filepath.Join(s.dataDir, syncFile))
	if err != nil {
		return err
	}
	s.loadSyncTimestamps(tdata)
	if fi, err := os.Stat(filepath.Join(s.dataDir, changelogFile)); err == nil {
		s.changelogSize = fi.Size()
	}
	if err := s.loadRenames(); err != nil {
		return fmt.Errorf("%s: %w", changelogFile, err)
	}
	sdat, err := readOptional(filepath.Join(s.dataDir, statusFile))
	if err != nil {
		return err
	}
	if last := parseSections(sdat)[0].int("last_check_time"); last > 0 {
		s.restartInterval = max(s.now().Unix()-last, 0)
	}
	return nil
}

// loadGroups restores the groups of groupsFile's contents data. Caller
// holds s.mu.
func (s *Server) loadGroups(data []byte) error {
	for _, sec := range parseSections(data) {
		if !strings.HasPrefix(sec.name, "Group") {
			continue
		}
		name := sec.kv["group_name"]
		if !protocol.ValidGroupName(name) || len(s.groups) >= protocol.MaxGroups {
			return fmt.Errorf("%s: bad group %q: %w", groupsFile, name, protocol.ErrInvalid)
		}
		g := newGroup(name)
		g.storePathCount = int(sec.int("store_path_count"))
		g.subdirCountPerPath = int(sec.int("subdir_count_per_path"))
		g.currentTrunkFileID = sec.int("current_trunk_file_id")
		// The trunk server is elected again by the leader; the last one is
		// preferred (its trunk binlog is the most complete).
		g.lastTrunkServer = sec.kv["trunk_server"]
		if g.lastTrunkServer == "" {
			g.lastTrunkServer = sec.kv["last_trunk_server"]
		}
		s.groups[name] = g
	}
	return nil
}

// loadStorages restores the storages of serversFile's contents data into
// their groups, which loadGroups restored. Caller holds s.mu.
func (s *Server) loadStorages(data []byte) error {
	for _, sec := range parseSections(data) {
		if !strings.HasPrefix(sec.name, "Storage") {
			continue
		}
		st, err := s.restoreStorage(sec)
		if err != nil {
			return err
		}
		st.group.storages[st.id] = st
	}
	return nil
}

// restoreStorage is the storage one "[StorageNNN]" section of serversFile
// describes, not yet added to its group. Caller holds s.mu.
func (s *Server) restoreStorage(sec section) (*storage, error) {
	g := s.groups[sec.kv["group_name"]]
	if g == nil {
		return nil, fmt.Errorf("%s: storage of unknown group %q: %w", serversFile, sec.kv["group_name"], protocol.ErrInvalid)
	}
	st := &storage{group: g, ip: sec.kv["ip_addr"], syncedFrom: map[string]int64{}}
	st.id = st.ip
	if s.ids != nil {
		st.id = sec.kv["id"]
	}
	if st.id == "" || len(st.id) >= protocol.StorageIDSize || len(g.storages) >= protocol.MaxServersInGroup {
		return nil, fmt.Errorf("%s: bad storage %q: %w", serversFile, st.id, protocol.ErrInvalid)
	}
	st.rwMode = protocol.RWRead | protocol.RWWrite
	if s.ids != nil {
		if e, ok := s.ids.ByID(st.id); ok {
			st.rwMode = rwModeOf(e)
		}
	}
	saved := byte(sec.int("status"))
	st.version = sec.kv["version"]
	st.joinTime, st.upTime = sec.int("join_time"), sec.int("up_time")
	st.port = int(sec.int("storage_port"))
	st.syncSrcID, st.syncUntil = sec.kv["sync_src_server"], sec.int("sync_until_timestamp")
	st.totalMB, st.freeMB = sec.int("total_mb"), sec.int("free_mb")
	st.changelogOffset = sec.int("changelog_offset")
	st.storePathCount = int(sec.int("store_path_count"))
	st.subdirCountPerPath = int(sec.int("subdir_count_per_path"))
	st.uploadPriority = sec.int("upload_priority")
	for _, f := range st.stat.Fields() {
		*f.P = sec.int(f.Name)
	}
	st.status = s.restoredStatus(saved, st.stat.LastHeartBeatTime)
	return st, nil
}

// loadSyncTimestamps restores what each storage received from each other
// member (unix seconds) from syncFile's contents data: one row per
// destination, group, id, then a timestamp per member in sorted order, as
// render writes it. Rows of unknown storages are skipped. Caller holds
// s.mu, and the groups are sorted.
func (s *Server) loadSyncTimestamps(data []byte) {
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 2 {
			continue
		}
		g := s.groups[f[0]]
		if g == nil || g.storages[f[1]] == nil {
			continue
		}
		dest := g.storages[f[1]]
		for j, v := range f[2:] {
			if j >= len(g.sorted) {
				break
			}
			ts, _ := strconv.ParseInt(v, 10, 64)
			if src := g.sorted[j]; src != dest && ts != 0 {
				dest.syncedFrom[src.id] = ts
			}
		}
	}
}

// restoredStatus is the status a storage saved with status saved and last
// beat lastBeat (unix seconds) starts with. The initial-sync states are
// kept. An ACTIVE storage that beat within check_active_interval stays
// ACTIVE (the usual expiry turns it OFFLINE if it does not join again by
// then): a tracker restarted for an upgrade goes on placing and routing
// at once, where otherwise every query would fail until the storages
// rejoin, up to a heartbeat interval later (30 s by default; upstream
// storages wait that long before reconnecting). Anything else is OFFLINE
// until the storage joins. Tombstones (DELETED, IP_CHANGED) stay what they
// are: upstream's tracker saves them too, and a storage it deleted must not
// come back OFFLINE when ours takes over its data files.
func (s *Server) restoredStatus(saved byte, lastBeat int64) byte {
	switch saved {
	case protocol.StatusInit, protocol.StatusWaitSync, protocol.StatusSyncing,
		protocol.StatusDeleted, protocol.StatusIPChanged:
		return saved
	case protocol.StatusActive:
		if s.now().Unix()-lastBeat < int64(s.activeInterval()/time.Second) {
			return saved
		}
	}
	return protocol.StatusOffline
}
