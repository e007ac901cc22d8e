package trackernode

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/mounts"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

func statusOf(t *testing.T, s *Server, group, id string) byte {
	t.Helper()
	for _, st := range listStorages(t, s, group) {
		if st.ID == id {
			return st.Status
		}
	}
	t.Fatalf("storage %s not listed", id)
	return 0
}

// A new storage syncs old files from an active one: JOIN → SYNC_DEST_REQ
// names the source (WAIT_SYNC), the source's SYNC_SRC_REQ sees it,
// REPORT_STATUS moves it to SYNCING then OFFLINE, and its next beat makes it
// ACTIVE. Beat replies announce leader and membership changes.
func TestStorageLifecycle(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	a := activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	if st := statusOf(t, s, "group1", "127.0.0.3"); st != protocol.StatusActive {
		t.Fatalf("first storage status %d", st)
	}

	b := dialFrom(t, "127.0.0.4", s.Addr())
	jr, err := protocol.DecodeJoinResponse(b.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")))
	if err != nil || jr.Status != protocol.StatusInit || jr.SrcID != "" {
		t.Fatalf("join reply %+v %v", jr, err)
	}
	src, err := protocol.DecodeSyncSource(b.ok(protocol.CmdStorageSyncDestReq, nil))
	if err != nil || src == nil || src.SrcID != "127.0.0.3" {
		t.Fatalf("sync dest reply %+v %v", src, err)
	}
	b.ok(protocol.CmdStorageSyncNotify, protocol.EncodeSyncSource(src))
	n, err := protocol.DecodeChangeNotice(b.ok(protocol.CmdStorageBeat, (&protocol.StatBlock{TotalUploadCount: 3}).Encode()))
	if err != nil || n.Flags != protocol.ChangeLeader|protocol.ChangeGroup || len(n.Storages) != 2 ||
		n.Storages[1].Status != protocol.StatusWaitSync || n.Leader.ID != "127.0.0.2" {
		t.Fatalf("first beat notice %+v %v", n, err)
	}
	if n, _ := protocol.DecodeChangeNotice(b.ok(protocol.CmdStorageBeat, nil)); n.Flags != 0 {
		t.Fatalf("second beat flags %#x", n.Flags)
	}
	// The source learns of the newcomer in its next beat and asks whether
	// it must send old files.
	if n, _ := protocol.DecodeChangeNotice(a.ok(protocol.CmdStorageBeat, nil)); n.Flags != protocol.ChangeGroup || len(n.Storages) != 2 {
		t.Fatalf("source beat notice %+v", n)
	}
	sc := dialFrom(t, "127.0.0.3", s.Addr())
	ss, err := protocol.DecodeSyncSource(sc.ok(protocol.CmdStorageSyncSrcReq,
		(&protocol.SyncSrcRequest{Group: "group1", DestID: "127.0.0.4"}).Encode()))
	if err != nil || ss == nil || ss.SrcID != "127.0.0.3" || ss.Until != src.Until {
		t.Fatalf("sync src reply %+v %v", ss, err)
	}
	if st := sc.ok(protocol.CmdStorageSyncSrcReq, (&protocol.SyncSrcRequest{Group: "group1", DestID: "127.0.0.3"}).Encode()); len(st) != 0 {
		t.Fatalf("source has no source itself, got %x", st)
	}
	for _, want := range []byte{protocol.StatusSyncing, protocol.StatusOffline} {
		sc.ok(protocol.CmdStorageReportStatus, (&protocol.ReportStatus{Group: "group1",
			Brief: protocol.Brief{Status: want, ID: "127.0.0.4", IP: "127.0.0.4"}}).Encode())
		if st := statusOf(t, s, "group1", "127.0.0.4"); st != want {
			t.Fatalf("after REPORT_STATUS %d: status %d", want, st)
		}
	}
	b.ok(protocol.CmdStorageBeat, nil)
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusActive {
		t.Fatalf("after beat: status %d", st)
	}
	// A late report cannot take a storage in service back (upstream ignores it too).
	report := func(st byte) {
		sc.ok(protocol.CmdStorageReportStatus, (&protocol.ReportStatus{Group: "group1",
			Brief: protocol.Brief{Status: st, ID: "127.0.0.4", IP: "127.0.0.4"}}).Encode())
	}
	report(protocol.StatusSyncing)
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusActive {
		t.Fatalf("after a late REPORT_STATUS SYNCING: status %d", st)
	}
	// GET_STATUS, SYNC_DEST_QUERY, CHANGE_STATUS.
	br, err := protocol.DecodeBriefs(sc.ok(protocol.CmdStorageGetStatus,
		(&protocol.GroupAndAddr{Group: "group1", Addr: "127.0.0.4:23000"}).Encode()))
	if err != nil || len(br) != 1 || br[0].Status != protocol.StatusActive || br[0].Port != 23000 {
		t.Fatalf("get status %+v %v", br, err)
	}
	if q, _ := protocol.DecodeSyncSource(b.ok(protocol.CmdStorageSyncDestQuery, nil)); q == nil || q.SrcID != "127.0.0.3" {
		t.Fatalf("sync dest query %+v", q)
	}
	b.ok(protocol.CmdStorageChangeStatus, []byte{protocol.StatusOnline}) // available → available: ignored
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusActive {
		t.Fatalf("after CHANGE_STATUS ONLINE: %d", st)
	}
	b.ok(protocol.CmdStorageChangeStatus, []byte{protocol.StatusRecovery})
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusRecovery {
		t.Fatalf("after CHANGE_STATUS RECOVERY: %d", st)
	}
	report(protocol.StatusOffline) // a report does not end a recovery
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusRecovery {
		t.Fatalf("after REPORT_STATUS OFFLINE in RECOVERY: %d", st)
	}
	b.ok(protocol.CmdStorageChangeStatus, []byte{protocol.StatusActive}) // stored as OFFLINE
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusOffline {
		t.Fatalf("after CHANGE_STATUS ACTIVE from RECOVERY: %d", st)
	}
	// Closing the joined connection takes the storage offline at once.
	a.Conn.Close()
	testwait.Until(t, 10*time.Second, "127.0.0.3 OFFLINE", func() bool {
		return statusOf(t, s, "group1", "127.0.0.3") == protocol.StatusOffline
	})
}

// TestReportMoves: what a REPORT_STATUS changes, upstream's rule
// (tracker_mem_sync_storages) but for never making a storage available.
func TestReportMoves(t *testing.T) {
	for _, c := range []struct {
		cur, to byte
		want    bool
	}{
		{protocol.StatusWaitSync, protocol.StatusSyncing, true},
		{protocol.StatusSyncing, protocol.StatusOffline, true},
		{protocol.StatusWaitSync, protocol.StatusOffline, true},
		{protocol.StatusOffline, protocol.StatusRecovery, true}, // an upstream storage starting a recovery
		{protocol.StatusOffline, protocol.StatusIPChanged, true},
		{protocol.StatusSyncing, protocol.StatusWaitSync, false}, // backwards
		{protocol.StatusOffline, protocol.StatusSyncing, false},
		{protocol.StatusSyncing, protocol.StatusSyncing, false},
		{protocol.StatusOffline, protocol.StatusActive, false}, // beats make a storage available
		{protocol.StatusOffline, protocol.StatusOnline, false},
		{protocol.StatusOffline, protocol.StatusNone, false},
		{protocol.StatusInit, protocol.StatusSyncing, false},
		{protocol.StatusOnline, protocol.StatusOffline, false},
		{protocol.StatusActive, protocol.StatusOffline, false},
		{protocol.StatusActive, protocol.StatusIPChanged, false},
		{protocol.StatusRecovery, protocol.StatusActive, false}, // an upstream storage's end of recovery
		{protocol.StatusRecovery, protocol.StatusOffline, false},
	} {
		if got := reportMoves(c.cur, c.to); got != c.want {
			t.Errorf("reportMoves(%s, %s) = %v, want %v", protocol.StorageStatusName(c.cur), protocol.StorageStatusName(c.to), got, c.want)
		}
	}
}

func TestJoinValidation(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	mut := func(f func(*protocol.JoinRequest)) []byte {
		j, _ := protocol.DecodeJoinRequest(joinBody("group1", 23000, 1, ""))
		f(j)
		return j.Encode()
	}
	tests := []struct {
		name string
		body []byte
		want byte
	}{
		{"bad group name", mut(func(j *protocol.JoinRequest) { j.Group = "group-1" }), protocol.EINVAL},
		{"zero port", mut(func(j *protocol.JoinRequest) { j.StoragePort = 0 }), protocol.EINVAL},
		{"zero paths", mut(func(j *protocol.JoinRequest) { j.StorePathCount = 0 }), protocol.EINVAL},
		{"too many subdirs", mut(func(j *protocol.JoinRequest) { j.SubdirCountPerPath = 257 }), protocol.EINVAL},
		{"17 trackers", mut(func(j *protocol.JoinRequest) { j.Trackers = make([]string, 17) }), protocol.EINVAL},
		{"port differs in IP mode", joinBody("group1", 23001, 1, ""), protocol.EINVAL},
		{"subdirs differ", mut(func(j *protocol.JoinRequest) { j.SubdirCountPerPath = 16 }), protocol.EINVAL},
		{"short", make([]byte, 100), protocol.EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := dialFrom(t, "127.0.0.4", s.Addr())
			if st, _ := cl.call(protocol.CmdStorageJoin, tc.body); st != tc.want {
				t.Fatalf("status %d, want %d", st, tc.want)
			}
		})
	}
}

// TestLayoutWith: the store path and subdirectory counts a group takes
// from a joining storage, or its refusal (upstream's rule).
func TestLayoutWith(t *testing.T) {
	member := func(id string, paths, subdirs int) *storage {
		return &storage{id: id, storePathCount: paths, subdirCountPerPath: subdirs}
	}
	for _, c := range []struct {
		name                 string
		gp, gs               int        // the group's counts before
		members              []*storage // sorted by id
		id                   string
		paths, subdirs       int
		wantPaths, wantSubds int
		ok                   bool
	}{
		{"first storage", 0, 0, nil, "a", 2, 256, 2, 256, true},
		{"same counts", 2, 256, []*storage{member("a", 2, 256)}, "b", 2, 256, 2, 256, true},
		{"more paths: taken, group unchanged", 2, 256, []*storage{member("a", 2, 256)}, "b", 3, 256, 2, 256, true},
		{"fewer paths", 2, 256, []*storage{member("a", 2, 256)}, "b", 1, 256, 0, 0, false},
		{"other subdirs", 2, 256, []*storage{member("a", 2, 256)}, "b", 2, 16, 0, 0, false},
		{"the only member changes both", 2, 256, []*storage{member("a", 2, 256)}, "a", 1, 16, 1, 16, true},
		{"every other member has them", 2, 256, []*storage{member("a", 1, 16), member("b", 2, 256)}, "b", 1, 16, 1, 16, true},
		{"a rejoin with fewer paths than another", 2, 256, []*storage{member("a", 2, 256), member("b", 2, 256)}, "b", 1, 256, 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &group{name: "group1", storePathCount: c.gp, subdirCountPerPath: c.gs, sorted: c.members}
			p, sd, err := g.layoutWith(c.id, c.paths, c.subdirs)
			if (err == nil) != c.ok || c.ok && (p != c.wantPaths || sd != c.wantSubds) {
				t.Fatalf("got %d, %d, %v; want %d, %d, ok %v", p, sd, err, c.wantPaths, c.wantSubds, c.ok)
			}
			if err != nil && !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("error %v, want EINVAL", err)
			}
		})
	}
}

func TestDeleteStorageAndGroup(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	a := activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	b := activeStorage(t, s, "127.0.0.4", "group1", 23000, 1000, 900)
	admin := dialFrom(t, "127.0.0.1", s.Addr())
	del := (&protocol.GroupAndID{Group: "group1", ID: "127.0.0.4"}).Encode()
	if st, _ := admin.call(protocol.CmdServerDeleteStorage, del); st != protocol.EBUSY {
		t.Fatalf("delete active storage: status %d", st)
	}
	if st, _ := admin.call(protocol.CmdServerDeleteStorage, (&protocol.GroupAndID{Group: "group1", ID: "1.2.3.4"}).Encode()); st != protocol.ENOENT {
		t.Fatalf("delete unknown storage: status %d", st)
	}
	b.Conn.Close()
	testwait.Until(t, 10*time.Second, "127.0.0.4 OFFLINE", func() bool {
		return statusOf(t, s, "group1", "127.0.0.4") == protocol.StatusOffline
	})
	admin.ok(protocol.CmdServerDeleteStorage, del)
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusDeleted {
		t.Fatalf("deleted storage listed %s, want DELETED (upstream's tombstone)", protocol.StorageStatusName(st))
	}
	if st, _ := admin.call(protocol.CmdServerDeleteStorage, del); st != protocol.EALREADY {
		t.Fatalf("delete a deleted storage: status %d, want EALREADY", st)
	}
	if ss := listStorages(t, s, "group1"); len(ss) != 2 {
		t.Fatalf("%d storages after delete, want 2", len(ss))
	}
	// The remaining storage's group list names the deleted one DELETED.
	notice, err := protocol.DecodeChangeNotice(a.ok(protocol.CmdStorageBeat, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(notice.Storages) != 2 || notice.Storages[1].ID != "127.0.0.4" || notice.Storages[1].Status != protocol.StatusDeleted {
		t.Fatalf("group list after delete: %+v", notice.Storages)
	}
	// The remaining storage reads the deletion from the changelog once.
	chg := string(a.ok(protocol.CmdStorageChangelogReq, nil))
	if f := strings.Fields(chg); len(f) != 4 || f[1] != "group1" || f[2] != "127.0.0.4" || f[3] != "4" || !strings.HasSuffix(chg, "\n") {
		t.Fatalf("changelog %q", chg)
	}
	if again := a.ok(protocol.CmdStorageChangelogReq, nil); len(again) != 0 {
		t.Fatalf("changelog sent twice: %q", again)
	}
	if st, _ := admin.call(protocol.CmdServerDeleteGroup, protocol.EncodeGroup("group1")); st != protocol.EBUSY {
		t.Fatalf("delete non-empty group: status %d", st)
	}
	a.Conn.Close()
	testwait.Until(t, 10*time.Second, "127.0.0.3 OFFLINE", func() bool {
		return statusOf(t, s, "group1", "127.0.0.3") == protocol.StatusOffline
	})
	admin.ok(protocol.CmdServerDeleteStorage, (&protocol.GroupAndID{Group: "group1", ID: "127.0.0.3"}).Encode())
	admin.ok(protocol.CmdServerDeleteGroup, protocol.EncodeGroup("group1"))
	if st, _ := admin.call(protocol.CmdServerListOneGroup, protocol.EncodeGroup("group1")); st != protocol.ENOENT {
		t.Fatalf("list deleted group: status %d", st)
	}
	if st, _ := admin.call(protocol.CmdServerDeleteGroup, protocol.EncodeGroup("group1")); st != protocol.ENOENT {
		t.Fatalf("delete unknown group: status %d", st)
	}
}

// A storage that stops beating goes OFFLINE after check_active_interval
// even though its connection stays open.
func TestCheckActiveInterval(t *testing.T) {
	c := traceConfig(t, "ip")
	c.CheckActiveInterval = 200 * time.Millisecond
	s := startServer(t, c)
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	deadline := time.Now().Add(20 * time.Second)
	for statusOf(t, s, "group1", "127.0.0.3") != protocol.StatusOffline {
		if time.Now().After(deadline) {
			t.Fatal("storage never went OFFLINE")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The cluster map survives a restart: records, counters, sync timestamps
// and changelog offsets come back, initial-sync statuses and a deleted
// storage's tombstone unchanged, ACTIVE
// storages that beat within check_active_interval ACTIVE (the tracker
// serves at once after a restart) and other serving statuses OFFLINE.
func TestPersistenceRoundTrip(t *testing.T) {
	c := traceConfig(t, "ip")
	s1 := startServer(t, c)
	a := activeStorage(t, s1, "127.0.0.3", "group1", 23000, 2000, 1500)
	a.ok(protocol.CmdStorageBeat, (&protocol.StatBlock{TotalUploadCount: 5, SuccessUploadCount: 4, LastSourceUpdate: 77}).Encode())
	b := dialFrom(t, "127.0.0.4", s1.Addr())
	b.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	b.ok(protocol.CmdStorageSyncDestReq, nil) // WAIT_SYNC from 127.0.0.3
	b.ok(protocol.CmdStorageSyncReport, protocol.EncodeSyncReport([]protocol.SyncTimestamp{{SrcID: "127.0.0.3", Timestamp: 12345}}))
	g2 := activeStorage(t, s1, "127.0.0.5", "group2", 23002, 1000, 100)
	admin := dialFrom(t, "127.0.0.1", s1.Addr())
	g2.Conn.Close()
	testwait.Until(t, 10*time.Second, "127.0.0.5 OFFLINE", func() bool {
		return statusOf(t, s1, "group2", "127.0.0.5") == protocol.StatusOffline
	})
	admin.ok(protocol.CmdServerDeleteStorage, (&protocol.GroupAndID{Group: "group2", ID: "127.0.0.5"}).Encode())
	g2b := activeStorage(t, s1, "127.0.0.6", "group2", 23002, 1000, 100)
	g2b.ok(protocol.CmdStorageChangelogReq, nil)
	before := map[string][]protocol.StorageStat{"group1": listStorages(t, s1, "group1"), "group2": listStorages(t, s1, "group2")}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{groupsFile, serversFile, syncFile, changelogFile, statusFile} {
		if _, err := os.Stat(filepath.Join(c.BasePath, "data", f)); err != nil {
			t.Errorf("data file: %v", err)
		}
	}
	servers, _ := os.ReadFile(filepath.Join(c.BasePath, "data", serversFile))
	for _, want := range []string{"[Global]\nstorage_count=4\n", "[Storage001]\ngroup_name=group1\nip_addr=127.0.0.3\n", "total_upload_count=5\n"} {
		if !bytes.Contains(servers, []byte(want)) {
			t.Errorf("%s lacks %q", serversFile, want)
		}
	}

	c.Port = 0
	s2 := startServer(t, c)
	for group, old := range before {
		got := listStorages(t, s2, group)
		if len(got) != len(old) {
			t.Fatalf("%s: %d storages after restart, want %d", group, len(got), len(old))
		}
		for i := range got {
			want := old[i]
			switch want.Status {
			case protocol.StatusInit, protocol.StatusWaitSync, protocol.StatusSyncing, protocol.StatusActive, protocol.StatusDeleted:
			default:
				want.Status = protocol.StatusOffline
			}
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("%s record %d after restart\n got %+v\nwant %+v", group, i, got[i], want)
			}
		}
	}
	s2.mu.Lock()
	synced := s2.groups["group1"].storages["127.0.0.4"].syncedFrom["127.0.0.3"]
	offset := s2.groups["group2"].storages["127.0.0.6"].changelogOffset
	size := s2.changelogSize
	s2.mu.Unlock()
	if synced != 12345 || offset == 0 || offset != size {
		t.Errorf("synced %d, changelog offset %d of %d", synced, offset, size)
	}
	// The restored ACTIVE storage rejoins as it is.
	a2 := dialFrom(t, "127.0.0.3", s2.Addr())
	jr, _ := protocol.DecodeJoinResponse(a2.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")))
	if jr == nil || jr.Status != protocol.StatusActive {
		t.Fatalf("rejoin reply %+v", jr)
	}
	a2.ok(protocol.CmdStorageBeat, nil)
	if st := statusOf(t, s2, "group1", "127.0.0.3"); st != protocol.StatusActive {
		t.Fatalf("status after rejoin+beat %d", st)
	}
}

// What a storage saved in the cluster map starts as after a restart.
func TestRestoredStatus(t *testing.T) {
	s := cluster(t, func(c *conf.Tracker) { c.CheckActiveInterval = 100 * time.Second })
	beat := func(ago int64) int64 { return now.Unix() - ago }
	for _, tc := range []struct {
		name     string
		saved    byte
		lastBeat int64
		want     byte
	}{
		{"active, beat just before the restart", protocol.StatusActive, beat(5), protocol.StatusActive},
		{"active, beat longer ago than check_active_interval", protocol.StatusActive, beat(100), protocol.StatusOffline},
		{"active, never beat", protocol.StatusActive, 0, protocol.StatusOffline},
		{"online", protocol.StatusOnline, beat(5), protocol.StatusOffline},
		{"offline", protocol.StatusOffline, beat(5), protocol.StatusOffline},
		{"wait sync", protocol.StatusWaitSync, beat(500), protocol.StatusWaitSync},
		{"syncing", protocol.StatusSyncing, 0, protocol.StatusSyncing},
		{"init", protocol.StatusInit, 0, protocol.StatusInit},
	} {
		if got := s.restoredStatus(tc.saved, tc.lastBeat); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, protocol.StorageStatusName(got), protocol.StorageStatusName(tc.want))
		}
	}
}

func TestBadInput(t *testing.T) {
	c := traceConfig(t, "ip")
	c.MaxBuffSize = 4096
	s := startServer(t, c)
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)

	t.Run("status errors keep the connection", func(t *testing.T) {
		cl := dialFrom(t, "127.0.0.1", s.Addr())
		tests := []struct {
			cmd  byte
			body []byte
			want byte
		}{
			{200, nil, protocol.EINVAL},
			{protocol.CmdStorageBeat, nil, protocol.EACCES},
			{protocol.CmdStorageReportDiskUsage, make([]byte, 16), protocol.EACCES},
			{protocol.CmdStorageSyncDestReq, nil, protocol.EACCES},
			{protocol.CmdQueryStoreWithGroupOne, make([]byte, 15), protocol.EINVAL},
			{protocol.CmdQueryStoreWithoutGroupOne, []byte{1}, protocol.EINVAL},
			{protocol.CmdQueryFetchOne, make([]byte, 37), protocol.EINVAL},
			{protocol.CmdQueryFetchOne, make([]byte, 200), protocol.EINVAL},
			{protocol.CmdServerListStorage, make([]byte, 40), protocol.EINVAL},
			{protocol.CmdServerDeleteStorage, protocol.EncodeGroup("group1"), protocol.EINVAL},
			{protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 0, 0}, protocol.EOPNOTSUPP},
			{protocol.CmdStorageGetGroupName, []byte{0, 0, 0x59, 0xd8}, protocol.EOPNOTSUPP},
			{protocol.CmdStorageGetServerID, []byte("group1\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00not-an-address"), protocol.EINVAL},
			{protocol.CmdStorageChangelogReq, nil, protocol.EINVAL},
			{protocol.CmdStorageReportStatus, make([]byte, 82), protocol.EINVAL},
			{protocol.CmdServerSetTrunkServer, protocol.EncodeGroup("group1"), protocol.EOPNOTSUPP},
			{protocol.CmdServerTrackerClusterStat, nil, protocol.EINVAL},
		}
		for _, tc := range tests {
			if st, _ := cl.call(tc.cmd, tc.body); st != tc.want {
				t.Errorf("cmd %d body %d bytes: status %d, want %d", tc.cmd, len(tc.body), st, tc.want)
			}
		}
		cl.ok(protocol.CmdActiveTest, nil)
		if b := cl.ok(protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 0, 1}); !bytes.Equal(b, make([]byte, 8)) {
			t.Errorf("allow_empty ids reply %x", b)
		}
	})
	t.Run("joined connection checks bodies", func(t *testing.T) {
		cl := dialFrom(t, "127.0.0.7", s.Addr())
		cl.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 2, ""))
		for _, tc := range []struct {
			cmd  byte
			body []byte
		}{
			{protocol.CmdStorageBeat, make([]byte, 347)},
			{protocol.CmdStorageReportDiskUsage, make([]byte, 16)}, // two paths joined
			{protocol.CmdStorageReportDiskUsage, nil},
			{protocol.CmdStorageSyncReport, make([]byte, 19)},
			{protocol.CmdStorageSyncNotify, make([]byte, 23)},
			{protocol.CmdStorageSyncNotify, nil},
			{protocol.CmdStorageReplicaChg, make([]byte, 66)},
			{protocol.CmdStorageChangeStatus, nil},
			{protocol.CmdStorageChangeStatus, []byte{200}},
			{protocol.CmdStorageChangelogReq, make([]byte, 32)},
			{protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")[:150]},
			{protocol.CmdStorageJoin, joinBody("group2", 23000, 2, "")}, // joined in group1
		} {
			if st, _ := cl.call(tc.cmd, tc.body); st != protocol.EINVAL {
				t.Errorf("cmd %d body %d bytes: status %d, want EINVAL", tc.cmd, len(tc.body), st)
			}
		}
		cl.ok(protocol.CmdActiveTest, nil)
	})
	t.Run("negative length closes", func(t *testing.T) {
		cl := dialFrom(t, "127.0.0.1", s.Addr())
		cl.Conn.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, protocol.CmdActiveTest, 0})
		if !cl.closed() {
			t.Fatal("connection not closed")
		}
	})
	t.Run("oversized body answered then closed", func(t *testing.T) {
		cl := dialFrom(t, "127.0.0.1", s.Addr())
		cl.Conn.Write(protocol.Header{Length: 1 << 20, Cmd: protocol.CmdStorageReplicaChg}.Bytes())
		h, err := protocol.ReadHeader(cl.Conn)
		if err != nil || h.Status != protocol.EINVAL || h.Length != 0 {
			t.Fatalf("reply %+v %v", h, err)
		}
		if !cl.closed() {
			t.Fatal("connection not closed")
		}
	})
	t.Run("quit closes without reply", func(t *testing.T) {
		cl := dialFrom(t, "127.0.0.1", s.Addr())
		cl.Conn.Write(protocol.Header{Cmd: protocol.CmdQuit}.Bytes())
		if !cl.closed() {
			t.Fatal("connection not closed")
		}
	})
	t.Run("random garbage", func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		cmds := []byte{58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 81, 83, 84,
			85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 101, 102, 103, 104, 105, 106, 107, 108, 109, 111}
		for _, joined := range []bool{false, true} {
			cl := dialFrom(t, "127.0.0.8", s.Addr())
			if joined {
				cl.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
			}
			for i := 0; i < 400; i++ {
				cmd := cmds[rng.Intn(len(cmds))]
				if cmd == protocol.CmdServerDeleteGroup || cmd == protocol.CmdServerDeleteStorage {
					continue
				}
				body := make([]byte, []int{0, 1, 3, 4, 5, 16, 17, 21, 24, 32, 40, 67, 83, 145, 348, 600}[rng.Intn(16)])
				rng.Read(body)
				cl.call(cmd, body) // any status; must answer
			}
			cl.ok(protocol.CmdActiveTest, nil)
		}
		dialFrom(t, "127.0.0.1", s.Addr()).ok(protocol.CmdServerListAllGroups, nil)
	})
	t.Run("truncated body does not hang the server", func(t *testing.T) {
		cl := dialFrom(t, "127.0.0.1", s.Addr())
		cl.Conn.Write(append(protocol.Header{Length: 100, Cmd: protocol.CmdStorageJoin}.Bytes(), 1, 2, 3))
		cl.Conn.Close()
		dialFrom(t, "127.0.0.1", s.Addr()).ok(protocol.CmdActiveTest, nil)
	})
}

func TestMaxConnections(t *testing.T) {
	c := traceConfig(t, "ip")
	c.MaxConnections = 2
	s := startServer(t, c)
	c1 := dialFrom(t, "127.0.0.1", s.Addr())
	c1.ok(protocol.CmdActiveTest, nil)
	c2 := dialFrom(t, "127.0.0.1", s.Addr())
	c2.ok(protocol.CmdActiveTest, nil)
	c3 := dialFrom(t, "127.0.0.1", s.Addr())
	c3.Conn.Write(protocol.Header{Cmd: protocol.CmdActiveTest}.Bytes())
	if !c3.closed() {
		t.Fatal("third connection served")
	}
	c1.Conn.Close()
	for {
		c4 := dialFrom(t, "127.0.0.1", s.Addr())
		c4.Conn.Write(protocol.Header{Cmd: protocol.CmdActiveTest}.Bytes())
		if h, err := protocol.ReadHeader(c4.Conn); err == nil && h.Status == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Id mode: storages are known by their storage_ids.conf ids, may use
// different ports, and the id commands answer.
func TestIDMode(t *testing.T) {
	c := traceConfig(t, "id")
	s := startServer(t, c)
	a := activeStorage(t, s, "127.0.0.1", "group1", 23000, 1000, 900)
	activeStorage(t, s, "127.0.0.1", "group1", 23001, 1000, 800)
	ss := listStorages(t, s, "group1")
	if len(ss) != 2 || ss[0].ID != "100001" || ss[1].ID != "100002" || ss[1].StoragePort != 23001 {
		t.Fatalf("storages %+v", ss)
	}
	gs, _ := protocol.DecodeGroupStats(a.ok(protocol.CmdServerListOneGroup, protocol.EncodeGroup("group1")))
	if len(gs) != 1 || gs[0].StoragePort != -1 {
		t.Fatalf("group stat %+v", gs)
	}
	if g := a.ok(protocol.CmdStorageGetGroupName, []byte{0, 0, 0x59, 0xd9}); protocol.CString(g) != "group1" {
		t.Fatalf("group name %q", g)
	}
	if st, _ := a.call(protocol.CmdStorageGetServerID, (&protocol.GroupAndAddr{Group: "group1", Addr: "127.0.0.9:23000"}).Encode()); st != protocol.ENOENT {
		t.Fatalf("unknown server id: status %d", st)
	}
	unknown := dialFrom(t, "127.0.0.9", s.Addr())
	if st, _ := unknown.call(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")); st != protocol.ENOENT {
		t.Fatalf("join of unlisted storage: status %d", st)
	}
	ids, err := protocol.DecodeStorageIDsReply(a.ok(protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 1, 0}))
	if err != nil || ids.Total != 2 || len(ids.Lines) != 1 || ids.Lines[0] != "100002 group1 127.0.0.1:23001" {
		t.Fatalf("ids from 1: %+v %v", ids, err)
	}
	if st, _ := a.call(protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 3, 0}); st != protocol.EINVAL {
		t.Fatalf("ids from 3: status %d", st)
	}
}

func TestTrustedIDAndIPv6Width(t *testing.T) {
	c := traceConfig(t, "id")
	c.TrustStorageServerID = true
	c.ResponseIPAddrSize = "IPv6"
	s := startServer(t, c)
	cl := dialFrom(t, "127.0.0.5", s.Addr())
	cl.ok(protocol.CmdStorageJoin, joinBody("group1", 23001, 1, "100002"))
	cl.ok(protocol.CmdStorageSyncDestReq, nil)
	cl.ok(protocol.CmdStorageBeat, nil)
	if st, _ := dialFrom(t, "127.0.0.5", s.Addr()).call(protocol.CmdStorageJoin, joinBody("group1", 23001, 1, "100009")); st != protocol.ENOENT {
		t.Fatalf("join with unknown trusted id: status %d", st)
	}
	b := cl.ok(protocol.CmdQueryStoreWithoutGroupOne, nil)
	r, err := protocol.DecodeStoreReply(b)
	if len(b) != 70 || err != nil || r.IP != "127.0.0.5" || r.Port != 23001 {
		t.Fatalf("IPv6-width store reply %d bytes %+v %v", len(b), r, err)
	}
	if ss := listStorages(t, s, "group1"); len(ss) != 1 || ss[0].ID != "100002" {
		t.Fatalf("storages %+v", ss)
	}
	p, _ := protocol.DecodeParams(cl.ok(protocol.CmdStorageParameterReq, nil))
	if p.Get("response_ip_addr_size") != "46" || p.Get("trust_storage_server_id") != "1" {
		t.Fatalf("params %v", p)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(&conf.Tracker{}, nil); err == nil {
		t.Error("empty base_path accepted")
	}
	c := traceConfig(t, "ip")
	os.MkdirAll(filepath.Join(c.BasePath, "data"), 0o755)
	os.WriteFile(filepath.Join(c.BasePath, "data", groupsFile), []byte("[Group001]\ngroup_name=bad-name\n"), 0o644)
	if _, err := New(c, nil); err == nil {
		t.Error("corrupt groups file accepted")
	}
	// base_path under an /etc/fstab mount point that is not mounted: the
	// tracker would begin with an empty cluster map on the root disk.
	dir := t.TempDir()
	mounts.FstabFile, mounts.MountinfoFile = filepath.Join(dir, "fstab"), filepath.Join(dir, "mountinfo")
	t.Cleanup(func() { mounts.FstabFile, mounts.MountinfoFile = "/etc/fstab", "/proc/self/mountinfo" })
	c = traceConfig(t, "ip")
	os.WriteFile(mounts.FstabFile, []byte("/dev/sdb1 "+c.BasePath+" ext4 defaults,nofail 0 2\n"), 0o644)
	os.WriteFile(mounts.MountinfoFile, []byte("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"), 0o644)
	if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), "/dev/sdb1 on "+c.BasePath) {
		t.Errorf("base_path not mounted: %v, want an error naming the fstab entry", err)
	}
}

// TestAllowHosts: the tracker serves the peers allow_hosts names and
// drops the others (the forms are internal/allowhosts's).
func TestAllowHosts(t *testing.T) {
	c := traceConfig(t, "ip")
	c.AllowHosts = []string{"127.0.0.[5-6]", "127.0.1.0/24"}
	s := startServer(t, c)
	for _, tc := range []struct {
		ip string
		ok bool
	}{{"127.0.0.5", true}, {"127.0.0.6", true}, {"127.0.1.9", true}, {"127.0.0.7", false}} {
		cl := dialFrom(t, tc.ip, s.Addr())
		cl.Conn.Write(protocol.Header{Cmd: protocol.CmdActiveTest}.Bytes())
		h, err := protocol.ReadHeader(cl.Conn)
		if served := err == nil && h.Status == 0; served != tc.ok {
			t.Errorf("%s: served=%v, want %v", tc.ip, served, tc.ok)
		}
	}
}

// A storage that rejoins on a new connection stays up when its old
// connection closes afterwards.
func TestRejoinKeepsStorage(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	old := activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	cur := dialFrom(t, "127.0.0.3", s.Addr())
	cur.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	cur.ok(protocol.CmdStorageBeat, nil)
	s.connMu.Lock()
	n := len(s.conns)
	s.connMu.Unlock()
	old.Conn.Close()
	// Wait until the server has dropped (and cleaned up) the old connection.
	for {
		s.connMu.Lock()
		m := len(s.conns)
		s.connMu.Unlock()
		if m < n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	st := s.groups["group1"].storages["127.0.0.3"].status
	s.mu.Unlock()
	if st != protocol.StatusActive {
		t.Fatalf("status %d after the old connection closed", st)
	}
}

// Structural changes reach the data files without a Close (the saver
// goroutine writes them in the background).
func TestBackgroundSave(t *testing.T) {
	c := traceConfig(t, "ip")
	s := startServer(t, c)
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	path := filepath.Join(c.BasePath, "data", serversFile)
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte("ip_addr=127.0.0.3\nstatus=7\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed the active storage:\n%s", serversFile, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(c.BasePath, "data", ".*.tmp*")); len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
}

// answerActiveTests serves ACTIVE_TEST on addr until the test ends, as a
// live storage would; false if addr cannot be bound.
func answerActiveTests(t *testing.T, addr string) bool {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					if _, err := protocol.ReadHeader(c); err != nil {
						return
					}
					if protocol.WriteResponse(c, nil) != nil {
						return
					}
				}
			}()
		}
	}()
	return true
}

// A storage restored ACTIVE after a restart that does not answer on its
// port turns OFFLINE at once; one that answers stays ACTIVE until it joins.
func TestRestoredStorageProbed(t *testing.T) {
	c := traceConfig(t, "ip")
	s1 := startServer(t, c)
	activeStorage(t, s1, "127.0.0.33", "group1", 23033, 2000, 1500)
	activeStorage(t, s1, "127.0.0.34", "group1", 23033, 2000, 1500)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if !answerActiveTests(t, "127.0.0.34:23033") {
		t.Skip("127.0.0.34:23033 is taken")
	}
	c.Port = 0
	s2 := startServer(t, c)
	status := func(id string) byte {
		s2.mu.Lock()
		defer s2.mu.Unlock()
		return s2.groups["group1"].storages[id].status
	}
	eventually(t, "the silent storage to turn OFFLINE", func() error {
		if st := status("127.0.0.33"); st != protocol.StatusOffline {
			return fmt.Errorf("still %s", protocol.StorageStatusName(st))
		}
		return nil
	})
	if st := status("127.0.0.34"); st != protocol.StatusActive {
		t.Fatalf("the answering storage is %s", protocol.StorageStatusName(st))
	}
}
