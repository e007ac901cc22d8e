package trackernode

import (
	"encoding/binary"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// trunkWait bounds the waits for an election (the check loop runs every
// second).
const trunkWait = 30 * time.Second

// fakeTrunkStorage answers TRUNK_GET_BINLOG_SIZE on ip:port with size.
func fakeTrunkStorage(t *testing.T, ip string, port int, size int64) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
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
				if h, err := protocol.ReadHeader(c); err == nil && h.Cmd == protocol.CmdTrunkGetBinlogSize {
					protocol.WritePacket(c, protocol.CmdResp, 0, binary.BigEndian.AppendUint64(nil, uint64(size)))
				}
			}()
		}
	}()
}

// TestTrunkServerElection: with use_trunk_file, the leader elects the
// storage with the largest trunk binlog, announces it in beat replies and
// storage lists, takes trunk fid and free space reports from it only, and
// elects another when it goes OFFLINE.
func TestTrunkServerElection(t *testing.T) {
	c := traceConfig(t, "ip")
	c.UseTrunkFile = true
	s := startServer(t, c)
	const port = 23077
	fakeTrunkStorage(t, "127.0.0.31", port, 100)
	fakeTrunkStorage(t, "127.0.0.32", port, 500) // the most complete trunk binlog
	a := activeStorage(t, s, "127.0.0.31", "group1", port, 1000, 900)
	b := activeStorage(t, s, "127.0.0.32", "group1", port, 1000, 900)
	var notice *protocol.ChangeNotice
	testwait.Until(t, trunkWait, "a trunk server in the beat reply", func() bool {
		n, err := protocol.DecodeChangeNotice(a.ok(protocol.CmdStorageBeat, nil))
		if err == nil && n.Flags&protocol.ChangeTrunk != 0 && n.TrunkServer.IP != "" {
			notice = n
		}
		return notice != nil
	})
	if notice.TrunkServer.IP != "127.0.0.32" || notice.TrunkServer.Port != port {
		t.Fatalf("trunk server %+v, want 127.0.0.32 (largest trunk binlog)", notice.TrunkServer)
	}
	for _, st := range listStorages(t, s, "group1") {
		if st.IfTrunkServer != (st.IP == "127.0.0.32") {
			t.Errorf("storage %s listed with trunk server %v", st.IP, st.IfTrunkServer)
		}
	}
	fid := binary.BigEndian.AppendUint32(nil, 5)
	if st, _ := a.call(protocol.CmdStorageReportTrunkFID, fid); st != protocol.EINVAL {
		t.Errorf("trunk fid from a storage that is not the trunk server: status %d", st)
	}
	b.ok(protocol.CmdStorageReportTrunkFID, fid)
	b.ok(protocol.CmdStorageReportTrunkFree, binary.BigEndian.AppendUint64(nil, 77))
	if got := a.ok(protocol.CmdStorageFetchTrunkFID, nil); binary.BigEndian.Uint32(got) != 5 {
		t.Errorf("FETCH_TRUNK_FID: % x", got)
	}
	if st, _ := b.call(protocol.CmdStorageReportTrunkFree, []byte{1}); st != protocol.EINVAL {
		t.Errorf("short trunk free report: status %d", st)
	}
	gs, err := protocol.DecodeGroupStats(a.ok(protocol.CmdServerListOneGroup, protocol.EncodeGroup("group1")))
	if err != nil || len(gs) != 1 || gs[0].TrunkFreeMB != 77 || gs[0].CurrentTrunkFileID != 5 {
		t.Errorf("group stat: %+v %v", gs, err)
	}

	// A follower gets the trunk servers in its ping reply, once per change.
	ping := (&protocol.PingLeaderRequest{}).Encode()
	follower := &conn{}
	want := append(append([]byte("group1"), make([]byte, 10)...), append([]byte("127.0.0.32"), make([]byte, 6)...)...)
	for i, w := range [][]byte{want, nil} {
		if got, err := s.followerCheckIn(follower, protocol.CmdTrackerPingLeader, ping); err != nil || string(got) != string(w) {
			t.Errorf("ping reply %d: %q %v, want %q", i+1, got, err, w)
		}
	}

	// SET_TRUNK_SERVER (94), as fdfs_monitor sends it.
	set := func(id string) (byte, []byte) {
		return a.call(protocol.CmdServerSetTrunkServer, append(protocol.EncodeGroup("group1"), id...))
	}
	for _, c := range []struct {
		id   string
		want byte
	}{{"", 0}, {"127.0.0.32", protocol.EALREADY}, {"127.0.0.31", protocol.EEXIST}} {
		if st, body := set(c.id); st != c.want || st == 0 && string(body) != "127.0.0.32\x00" {
			t.Errorf("set trunk server %q: status %d %q, want %d", c.id, st, body, c.want)
		}
	}
	if st, _ := a.call(protocol.CmdServerSetTrunkServer, []byte("short")); st != protocol.EINVAL {
		t.Errorf("short set trunk server: status %d", st)
	}

	// The trunk server leaves: the other storage is elected.
	b.Conn.Close()
	s.mu.Lock()
	s.setStatus(s.groups["group1"].storages["127.0.0.32"], protocol.StatusOffline)
	s.mu.Unlock()
	testwait.Until(t, trunkWait, "the other storage elected", func() bool {
		n, err := protocol.DecodeChangeNotice(a.ok(protocol.CmdStorageBeat, nil))
		return err == nil && n.Flags&protocol.ChangeTrunk != 0 && n.TrunkServer.IP == "127.0.0.31"
	})
	if st, _ := a.call(protocol.CmdServerSetTrunkServer, append(protocol.EncodeGroup("group1"), "127.0.0.32"...)); st != protocol.EEXIST {
		t.Errorf("set an OFFLINE storage while another is trunk server: status %d", st)
	}
}

// TestTrunkServersLearned: a follower takes the trunk servers of the
// leader's ping reply (and ignores groups it does not know).
func TestTrunkServersLearned(t *testing.T) {
	c := traceConfig(t, "ip")
	c.UseTrunkFile = true
	s := startServer(t, c)
	activeStorage(t, s, "127.0.0.41", "group1", 23078, 1000, 900)
	s.mu.Lock()
	s.rel.leader = "127.0.0.9:22122" // another tracker leads
	s.mu.Unlock()
	reply := append(append(protocol.EncodeGroup("group1"), append([]byte("127.0.0.41"), make([]byte, 6)...)...),
		append(protocol.EncodeGroup("nosuch"), make([]byte, 16)...)...)
	s.learnTrunkServers(reply)
	for _, st := range listStorages(t, s, "group1") {
		if !st.IfTrunkServer {
			t.Errorf("storage %s not listed as the trunk server the leader named", st.IP)
		}
	}
}
