package trackernode

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// A deleted storage's tombstone is no member: reports about it change
// nothing, it is no sync source and cannot be drained; the storage joining
// again at its address is a new storage (INIT), as a replacement machine
// with an empty disk is.
func TestDeletedStorageTombstone(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	a := activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	b := activeStorage(t, s, "127.0.0.4", "group1", 23000, 1000, 900)
	admin := dialFrom(t, "127.0.0.1", s.Addr())
	b.Conn.Close()
	testwait.Until(t, 10*time.Second, "127.0.0.4 OFFLINE", func() bool {
		return statusOf(t, s, "group1", "127.0.0.4") == protocol.StatusOffline
	})
	admin.ok(protocol.CmdServerDeleteStorage, (&protocol.GroupAndID{Group: "group1", ID: "127.0.0.4"}).Encode())
	// The replacement is held off until the other storage has been sent a
	// list saying DELETED.
	c := dialFrom(t, "127.0.0.4", s.Addr())
	if st, _ := c.call(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")); st != protocol.EAGAIN {
		t.Fatalf("join before the group heard of the delete: status %d, want EAGAIN", st)
	}

	// An upstream storage that has not read the list yet reports the
	// peer it still knows: the tombstone stays.
	a.ok(protocol.CmdStorageReportStatus, (&protocol.ReportStatus{Group: "group1",
		Brief: protocol.Brief{Status: protocol.StatusOffline, ID: "127.0.0.4", IP: "127.0.0.4", Port: 23000}}).Encode())
	a.ok(protocol.CmdStorageSyncReport, protocol.EncodeSyncReport([]protocol.SyncTimestamp{{SrcID: "127.0.0.4", Timestamp: 100}}))
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusDeleted {
		t.Fatalf("after a report: %s, want DELETED", protocol.StorageStatusName(st))
	}
	s.mu.Lock()
	_, synced := s.groups["group1"].storages["127.0.0.3"].syncedFrom["127.0.0.4"]
	s.mu.Unlock()
	if synced {
		t.Error("a sync timestamp from the deleted storage was recorded")
	}
	drain := (&protocol.DrainRequest{Group: "group1", Op: protocol.DrainStart, Storage: "127.0.0.4"}).Encode()
	if st, _ := admin.call(protocol.CmdServerDrainStorage, drain); st != protocol.ENOENT {
		t.Errorf("drain the deleted storage: status %d, want ENOENT", st)
	}

	// The replacement joins at the same address, once the other storage
	// heard (its SYNC_REPORT above was answered with the list): a new
	// storage, whose initial sync comes from the one left.
	jr, err := protocol.DecodeJoinResponse(c.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")))
	if err != nil || jr.Status != protocol.StatusInit || jr.SrcID != "" {
		t.Fatalf("join of the replacement: %+v, %v; want INIT without source", jr, err)
	}
	src, err := protocol.DecodeSyncSource(c.ok(protocol.CmdStorageSyncDestReq, nil))
	if err != nil || src == nil || src.SrcID != "127.0.0.3" {
		t.Fatalf("sync source of the replacement: %+v, %v", src, err)
	}
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusWaitSync {
		t.Fatalf("replacement listed %s, want WAIT_SYNC", protocol.StorageStatusName(st))
	}
}

// roomFor lets a tombstone give its place when the group's records are at
// the limit a group list can carry, never a member.
func TestRoomFor(t *testing.T) {
	for _, c := range []struct {
		name       string
		members    int
		tombstones int
		id         string // the record to make room for
		ok         bool
		left       int // records after
	}{
		{"room left", 30, 1, "new", true, 31},
		{"full, a tombstone goes", 30, 2, "new", true, 31},
		{"full of members", 32, 0, "new", false, 32},
		{"full, the id's own tombstone", 31, 1, "t0", true, 32},
		{"full, a member's id", 32, 0, "m0", true, 32},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGroup("group1")
			for i := range c.members {
				id := fmt.Sprintf("m%d", i)
				g.storages[id] = &storage{id: id, group: g, status: protocol.StatusActive}
			}
			for i := range c.tombstones {
				id := fmt.Sprintf("t%d", i)
				g.storages[id] = &storage{id: id, group: g, status: protocol.StatusDeleted}
			}
			g.resort()
			if ok := g.roomFor(c.id); ok != c.ok || len(g.storages) != c.left || g.members() != c.members {
				t.Fatalf("roomFor(%s) = %v with %d records (%d members), want %v with %d", c.id, ok, len(g.storages), g.members(), c.ok, c.left)
			}
		})
	}
}

// A storage left in WAIT_SYNC (its source started no copy: an upstream
// source that took it for the deleted storage it replaced) makes the
// leader announce the group's list again, every waitSyncNudge seconds,
// until the copy starts.
func TestWaitSyncNudge(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	s := startServerAt(t, traceConfig(t, "ip"), &clock)
	src := activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	dst := dialFrom(t, "127.0.0.4", s.Addr())
	dst.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	dst.ok(protocol.CmdStorageSyncDestReq, nil)
	listed := func() bool {
		n, err := protocol.DecodeChangeNotice(src.ok(protocol.CmdStorageBeat, nil))
		if err != nil {
			t.Fatal(err)
		}
		return n.Flags&protocol.ChangeGroup != 0
	}
	if !listed() {
		t.Fatal("the source did not get the list naming the new storage")
	}
	clock.Add(waitSyncNudge - 1)
	time.Sleep(1500 * time.Millisecond) // a pass of the check loop
	if listed() {
		t.Fatal("list announced again before the storage waited waitSyncNudge seconds")
	}
	clock.Add(1)
	testwait.Until(t, 10*time.Second, "the list announced again", listed)
	// The copy starts: nothing more to announce.
	src.ok(protocol.CmdStorageReportStatus, (&protocol.ReportStatus{Group: "group1",
		Brief: protocol.Brief{Status: protocol.StatusSyncing, ID: "127.0.0.4", IP: "127.0.0.4", Port: 23000}}).Encode())
	listed()
	clock.Add(3 * waitSyncNudge)
	time.Sleep(1500 * time.Millisecond)
	if listed() {
		t.Fatal("list announced again while the storage is SYNCING")
	}
}
