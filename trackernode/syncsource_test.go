package trackernode

import (
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// syncSrcOf asks SYNC_SRC_REQ for dest: the reply status and source ("" for
// none).
func syncSrcOf(t *testing.T, s *Server, dest string) (byte, string) {
	t.Helper()
	cl := dialFrom(t, "127.0.0.3", s.Addr())
	defer cl.Conn.Close()
	st, b := cl.call(protocol.CmdStorageSyncSrcReq, (&protocol.SyncSrcRequest{Group: "group1", DestID: dest}).Encode())
	if st != 0 {
		return st, ""
	}
	src, err := protocol.DecodeSyncSource(b)
	if err != nil {
		t.Fatal(err)
	}
	if src == nil {
		return 0, ""
	}
	return 0, src.SrcID
}

// A storage asking for its initial-sync source while the only other member
// has joined but is not ACTIVE yet (it has not beaten) gets ENOENT and asks
// again, as from upstream: "no source" would make it ONLINE without the
// files that member holds, and another tracker, asked at the same time by
// the storage's other session, may well name that member.
func TestSyncDestReqWaitsForAnActiveSource(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	a := dialFrom(t, "127.0.0.3", s.Addr())
	a.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	if b := a.ok(protocol.CmdStorageSyncDestReq, nil); len(b) != 0 {
		t.Fatalf("first storage got a source: %x", b)
	}
	if st := statusOf(t, s, "group1", "127.0.0.3"); st != protocol.StatusOnline {
		t.Fatalf("first storage %s, want ONLINE", protocol.StorageStatusName(st))
	}

	b := dialFrom(t, "127.0.0.4", s.Addr())
	b.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	if st, body := b.call(protocol.CmdStorageSyncDestReq, nil); st != protocol.ENOENT {
		t.Fatalf("source asked while the other member is ONLINE: status %d body %x, want ENOENT", st, body)
	}
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusInit {
		t.Fatalf("storage after the refused request: %s, want INIT", protocol.StorageStatusName(st))
	}
	if st, _ := syncSrcOf(t, s, "127.0.0.4"); st != protocol.ENOENT {
		t.Fatalf("SYNC_SRC_REQ for an INIT storage: status %d, want ENOENT (not decided yet)", st)
	}

	a.ok(protocol.CmdStorageBeat, nil) // ACTIVE now
	src, err := protocol.DecodeSyncSource(b.ok(protocol.CmdStorageSyncDestReq, nil))
	if err != nil || src == nil || src.SrcID != "127.0.0.3" {
		t.Fatalf("source once the member is ACTIVE: %+v %v", src, err)
	}
	if st, got := syncSrcOf(t, s, "127.0.0.4"); st != 0 || got != "127.0.0.3" {
		t.Fatalf("SYNC_SRC_REQ: status %d source %q", st, got)
	}
}

// A storage whose source another tracker chose joins this one with that
// status (WAIT_SYNC) and then notifies the source: this tracker records it
// although the storage is past INIT here, so that the source's
// SYNC_SRC_REQ here names it (before, the answer was "no source" and the
// source never synced the storage, which stayed WAIT_SYNC). A source this
// tracker does not know is refused with ENOENT (the storage notifies again
// later), as upstream.
func TestSyncNotifyRecordsTheSource(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	b := dialFrom(t, "127.0.0.4", s.Addr())
	now := time.Now().Unix()
	b.ok(protocol.CmdStorageJoin, (&protocol.JoinRequest{
		Group: "group1", StoragePort: 23000, StorePathCount: 1, SubdirCountPerPath: 256,
		UploadPriority: 10, JoinTime: now, UpTime: now, Version: "6.16.1", InitFlag: true,
		Status: protocol.StatusWaitSync, CurrentTrackerIP: "127.0.0.2", Trackers: []string{"127.0.0.2:22122"},
	}).Encode())
	if st, _ := b.call(protocol.CmdStorageSyncNotify, protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: "127.0.0.99", Until: now})); st != protocol.ENOENT {
		t.Fatalf("notify naming an unknown source: status %d, want ENOENT", st)
	}
	b.ok(protocol.CmdStorageSyncNotify, protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: "127.0.0.3", Until: now}))
	if st, got := syncSrcOf(t, s, "127.0.0.4"); st != 0 || got != "127.0.0.3" {
		t.Fatalf("SYNC_SRC_REQ after the notify: status %d source %q, want 127.0.0.3", st, got)
	}
	if st := statusOf(t, s, "group1", "127.0.0.4"); st != protocol.StatusWaitSync {
		t.Fatalf("status %s, want WAIT_SYNC", protocol.StorageStatusName(st))
	}
	// A second notification does not move the recorded source.
	b.ok(protocol.CmdStorageSyncNotify, protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: "127.0.0.4", Until: now}))
	if _, got := syncSrcOf(t, s, "127.0.0.4"); got != "127.0.0.3" {
		t.Fatalf("source after a second notify: %q", got)
	}
}
