package trackernode

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// FuzzDataFiles: whatever the data files hold (written by upstream's
// tracker, by ours, or damaged), loading them refuses them with an error
// or gives a map every query can be answered from: no panic in the load,
// in the queries a client or a storage sends next, nor in the next save.
func FuzzDataFiles(f *testing.F) {
	seed := cluster(f, nil,
		node{group: "group1", ip: "127.0.0.1", paths: []int64{500, 600}},
		node{group: "group1", ip: "127.0.0.2", status: protocol.StatusWaitSync},
		node{group: "group2", ip: "127.0.0.3", paths: []int64{0}})
	for _, st := range seed.groups["group1"].storages {
		st.stat.LastHeartBeatTime = now.Unix() - 1
	}
	files := seed.render()
	f.Add(files[0].data, files[1].data, files[2].data)
	f.Add([]byte("[Group001]\ngroup_name=g\nstore_path_count=0\nsubdir_count_per_path=0\n"),
		[]byte("[Storage001]\ngroup_name=g\nip_addr=1.2.3.4\nstatus=7\nstore_path_count=-1\nstorage_port=-5\nlast_heart_beat_time=1799999999\n"),
		[]byte("g,1.2.3.4,x,5\n"))
	fid := protocol.EncodeGroup("group1")
	fid = append(fid, "M00/00/00/fwAAAWsVfRKAUTOCAAAUACD2_hw5833449.jpg"...)
	queries := []struct {
		cmd  byte
		body []byte
	}{
		{protocol.CmdQueryStoreWithoutGroupOne, nil},
		{protocol.CmdQueryStoreWithoutGroupAll, nil},
		{protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup("group1")},
		{protocol.CmdQueryStoreWithGroupAll, protocol.EncodeGroup("g")},
		{protocol.CmdQueryFetchOne, fid},
		{protocol.CmdQueryFetchAll, fid},
		{protocol.CmdQueryUpdate, fid},
		{protocol.CmdServerListAllGroups, nil},
		{protocol.CmdServerListOneGroup, protocol.EncodeGroup("group1")},
		{protocol.CmdServerListStorage, protocol.EncodeGroup("group1")},
		{protocol.CmdServerStorageClusterStat, nil},
		{protocol.CmdServerStorageVolumeStat, nil},
	}
	f.Fuzz(func(t *testing.T, groups, servers, sync []byte) {
		s := cluster(t, nil)
		s.now = func() time.Time { return now }
		s.mu.Lock()
		err := s.loadGroups(groups)
		if err == nil {
			err = s.loadStorages(servers)
		}
		if err == nil {
			for _, g := range s.groups {
				g.resort()
				g.changed()
			}
			s.loadSyncTimestamps(sync)
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
		for _, q := range queries {
			s.answer(q.cmd, q.body)
		}
		s.mu.Lock()
		s.render()
		s.mu.Unlock()
	})
}

// FuzzRequests sends one request of any command and body to a running
// tracker, on a connection that first joined as a storage of group1 when
// joined is odd, and checks that no request panics (a panic is recovered
// per connection, but one under the tracker's lock would leave it stuck)
// and that the tracker still answers a query on a new connection.
func FuzzRequests(f *testing.F) {
	var logs syncbuf.Buffer
	s, err := New(traceConfig(f, "ip"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	join := joinBody("group1", 23000, 2, "")
	usage := protocol.EncodeDiskUsage([]protocol.PathUsage{{TotalMB: 100, FreeMB: 50}, {TotalMB: 100, FreeMB: 60}})
	for _, seed := range []struct {
		joined byte
		cmd    byte
		body   []byte
	}{
		{0, protocol.CmdStorageJoin, join},
		{1, protocol.CmdStorageBeat, nil},
		{1, protocol.CmdStorageReportDiskUsage, usage},
		{1, protocol.CmdStorageSyncDestReq, nil},
		{1, protocol.CmdStorageSyncReport, protocol.EncodeSyncReport([]protocol.SyncTimestamp{{SrcID: "127.0.0.4", Timestamp: 5}})},
		{1, protocol.CmdStorageReportStatus, (&protocol.ReportStatus{Group: "group1", Brief: protocol.Brief{Status: protocol.StatusOffline, ID: "127.0.0.3"}}).Encode()},
		{1, protocol.CmdStorageChangeStatus, []byte{protocol.StatusActive}},
		{1, protocol.CmdStorageReportIPChanged, append(protocol.EncodeGroup("group1"), make([]byte, 32)...)},
		{0, protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup("group1")},
		{0, protocol.CmdQueryFetchAll, append(protocol.EncodeGroup("group1"), "M00/00/00/fwAAA2sVfRKAUTOCAAAUACD2_hw5833449.jpg"...)},
		{0, protocol.CmdServerDeleteStorage, append(protocol.EncodeGroup("group1"), "127.0.0.3\x00\x00\x00\x00\x00\x00\x00"...)},
		{0, protocol.CmdTrackerJoinLeader, nil},
	} {
		f.Add(seed.joined, seed.cmd, seed.body)
	}
	f.Fuzz(func(t *testing.T, joined, cmd byte, body []byte) {
		pkts := [][]byte{wiretest.Packet(cmd, 0, body)}
		if joined%2 == 1 {
			pkts = append([][]byte{wiretest.Packet(protocol.CmdStorageJoin, 0, join)}, pkts...)
		}
		wiretest.Shot(t, "127.0.0.3", s.Addr(), 2*time.Second, pkts...)
		if l := logs.String(); strings.Contains(l, `msg="panic serving`) {
			t.Fatalf("cmd %d, body %q: the tracker logged a panic:\n%s", cmd, body, l)
		}
		wiretest.Answers(t, s.Addr(), protocol.CmdServerListAllGroups)
	})
}
