package trackernode

import (
	"sort"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/addrmoves"
)

// storage is the tracker's record of one storage server. All fields are
// guarded by Server.mu.
type storage struct {
	id    string // storage id; the IP in IP mode
	ip    string // address the storage joined from
	group *group

	status  byte
	rwMode  byte // protocol.RWRead|RWWrite bits (storage_ids.conf rw=)
	version string
	port    int

	joinTime, upTime   int64 // unix seconds, as the storage reported them
	storePathCount     int
	subdirCountPerPath int
	uploadPriority     int64

	syncSrcID string // storage that syncs old files to this one
	syncUntil int64  // unix seconds: old-file sync bound

	paths            []protocol.PathUsage // last REPORT_DISK_USAGE, MB per store path
	totalMB, freeMB  int64                // sums over paths
	currentWritePath int                  // round-robin cursor for store_path=0

	stat protocol.StatBlock // counters of the last BEAT; LastHeartBeatTime is ours

	owner *conn // connection the storage joined on, nil when disconnected

	changelogOffset int64 // bytes of storage_changelog.dat already sent
	chgSeen         int64 // group.chgCount last announced to this storage
	trunkSeen       int64 // group.trunkChg last announced to this storage

	// syncedFrom maps a source storage id to the last timestamp (unix
	// seconds) this storage reported having received from it.
	syncedFrom map[string]int64

	drainSince int64 // unix seconds the drain began, 0 when in service (drain.go)
	probing    bool  // a check of a restored storage is running (warm.go)

	// buriedAt (unix seconds) and buriedChg (the group's chgCount then)
	// date a tombstone made here; zero for one loaded from disk.
	buriedAt, buriedChg int64
}

func (st *storage) active() bool { return st.status == protocol.StatusActive }

// tombstone reports whether st is only the record of a storage deleted
// (DELETED) or moved to another address (IP_CHANGED). Upstream's tracker
// keeps such records and lists them to the group's storages: that list is
// how an upstream storage learns to stop replicating to the old storage
// and to forget its position for it. A storage merely missing from the
// list keeps its sync thread and position for it, and a new storage at
// that address later never got the group's older files (it stayed
// WAIT_SYNC). A tombstone is no member: it is never chosen, counted as a sync
// source, moved by a report or drained; a storage joining with its id
// replaces it.
func (st *storage) tombstone() bool {
	return st.status == protocol.StatusDeleted || st.status == protocol.StatusIPChanged
}

func (st *storage) readable() bool { return st.active() && st.rwMode&protocol.RWRead != 0 }

// writable: may take uploads (a draining storage may not).
func (st *storage) writable() bool {
	return st.active() && st.rwMode&protocol.RWWrite != 0 && !st.draining()
}

// group is one storage group. sorted lists the storages by id string, the
// order of every listing and of round robin.
type group struct {
	name               string
	storagePort        int // -1 when members use different ports (id mode)
	storePathCount     int
	subdirCountPerPath int
	currentTrunkFileID int64
	// trunkServer is the id of the group's trunk server ("" if none),
	// lastTrunkServer the one before (preferred at the next election);
	// trunkChg counts changes, for the notices; trunkFreeMB is what the
	// trunk server last reported (REPORT_TRUNK_FREE).
	trunkServer, lastTrunkServer string
	trunkChg                     int64
	trunkFreeMB                  int64
	electing                     bool // a trunk server election is running

	storages map[string]*storage
	sorted   []*storage
	// renamed holds the address changes of its storages (IP mode,
	// STORAGE_REPORT_IP_CHANGED): files named after an old address still
	// have that storage as source.
	renamed addrmoves.Book

	chgCount    int64 // bumped on every membership or status change
	nudged      int64 // unix seconds of the last re-announcement (nudgeWaitSync)
	writeCursor int   // round-robin index for store_server=0
	readCursor  int   // round-robin index for download_server=0
}

func newGroup(name string) *group {
	return &group{name: name, storages: map[string]*storage{}}
}

// member returns the storage known as id, nil when there is none or only
// its tombstone.
func (g *group) member(id string) *storage {
	if st := g.storages[id]; st != nil && !st.tombstone() {
		return st
	}
	return nil
}

// members counts the storages of the group, tombstones left out.
func (g *group) members() int {
	n := 0
	for _, st := range g.storages {
		if !st.tombstone() {
			n++
		}
	}
	return n
}

// bury replaces the record under id by a tombstone with status (DELETED or
// IP_CHANGED) that keeps what listings show of st. It is a new record: a
// connection still joined as st finds its storage gone from the map.
func (g *group) bury(id string, st *storage, status byte) {
	g.storages[id] = &storage{id: id, ip: st.ip, group: g, status: status, rwMode: st.rwMode,
		version: st.version, port: st.port, joinTime: st.joinTime, upTime: st.upTime,
		syncedFrom: map[string]int64{}}
	for _, o := range g.storages {
		delete(o.syncedFrom, id)
	}
}

// heardOf reports whether every other member joined to this tracker has
// been sent a group list naming tomb's storage dead. Until then a storage
// joining under its id is held off (join): an upstream storage that never
// saw the DELETED record keeps its sync thread for the old storage and
// resumes it, from the old position, towards the newcomer, which then never
// gets the group's older files and stays WAIT_SYNC. (One that saw it
// forgets the old storage a few beats later; nudgeWaitSync covers that.)
func (g *group) heardOf(tomb *storage) bool {
	for _, o := range g.sorted {
		if !o.tombstone() && o.owner != nil && o.chgSeen < tomb.buriedChg {
			return false
		}
	}
	return true
}

// roomFor makes room in the map for a record under id: when the group's
// records are at the limit (what a group list may carry), a tombstone
// gives its place, so that a group that replaced storages many times
// still takes new ones. false when every place is a member's.
func (g *group) roomFor(id string) bool {
	if len(g.storages) < protocol.MaxServersInGroup || g.storages[id] != nil {
		return true
	}
	for _, st := range g.sorted {
		if st.tombstone() && g.storages[st.id] == st {
			delete(g.storages, st.id)
			return true
		}
	}
	return false
}

// resort rebuilds sorted and recomputes the group port (tombstones left
// out: a replacement may listen on another port).
func (g *group) resort() {
	g.sorted = g.sorted[:0]
	for _, st := range g.storages {
		g.sorted = append(g.sorted, st)
	}
	sort.Slice(g.sorted, func(i, j int) bool { return g.sorted[i].id < g.sorted[j].id })
	g.storagePort = 0
	for _, st := range g.sorted {
		switch {
		case st.tombstone():
		case g.storagePort == 0:
			g.storagePort = st.port
		case g.storagePort != st.port:
			g.storagePort = -1
		}
	}
}

func (g *group) changed() { g.chgCount++ }

func (g *group) readableList() []*storage {
	var out []*storage
	for _, st := range g.sorted {
		if st.readable() {
			out = append(out, st)
		}
	}
	return out
}

func (g *group) writableList() []*storage {
	var out []*storage
	for _, st := range g.sorted {
		if st.writable() {
			out = append(out, st)
		}
	}
	return out
}

// space returns the group's usage: the numbers of the ACTIVE storage with
// the least free space. Every member receives every file, read-only ones
// included, so the group can only take what its fullest member can (as
// upstream's group free_mb, which also counts every reporting member).
func (g *group) space() (totalMB, freeMB int64) {
	first := true
	for _, st := range g.sorted {
		if st.active() && (first || st.freeMB < freeMB) {
			totalMB, freeMB, first = st.totalMB, st.freeMB, false
		}
	}
	return totalMB, freeMB
}
