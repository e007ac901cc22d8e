package trackernode

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The tracker-to-tracker commands are answered only to the trackers the
// storages list (every address of a dual-IP line, host names resolved);
// storages may also ask for the status and call for a new election;
// anybody else gets EPERM and changes nothing.
func TestPeerCommandsOnlyFromTrackers(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{IsLeader: true, RunningTime: 600})
	s := startServer(t, traceConfig(t, "ip"))
	dual := fmt.Sprintf("127.0.0.9,127.0.0.10:%d", peer.ln.Addr().(*net.TCPAddr).Port)
	st := dialFrom(t, "127.0.0.3", s.Addr())
	st.ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", dual, "localhost:1"))
	eventually(t, "following the peer", func() error {
		if l, _ := leaderOf(t, s); l != peer.addr() {
			return errors.New("leader is " + l)
		}
		return nil
	})
	sysFile := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0} // index 0, offset 0
	cmds := []struct {
		cmd         byte
		body        []byte
		storagesToo bool
	}{
		{protocol.CmdTrackerJoinLeader, make([]byte, joinLeaderFixedSize), false},
		{protocol.CmdTrackerGetSysFilesStart, nil, false},
		{protocol.CmdTrackerGetSysFilesEnd, nil, false},
		{protocol.CmdTrackerGetOneSysFile, sysFile, false},
		{protocol.CmdTrackerGetStatus, nil, true},
		{protocol.CmdTrackerPingLeader, make([]byte, pingBodySize), false},
		{protocol.CmdTrackerNotifyNextLeader, encodeLeaderAddr(peer.addr()), false},
		{protocol.CmdTrackerCommitNextLeader, encodeLeaderAddr(peer.addr()), false},
		{protocol.CmdTrackerNotifyReselectLead, nil, true},
	}
	for _, src := range []struct {
		name, ip         string
		tracker, storage bool
	}{
		{"stranger", "127.0.0.20", false, false},
		{"storage", "127.0.0.3", false, true},
		{"tracker", "127.0.0.9", true, false},
		{"tracker's second IP", "127.0.0.10", true, false},
		{"tracker by host name", "127.0.0.1", true, false},
	} {
		for _, c := range cmds {
			// A connection per command: the sys-file lock dies with it.
			cl := dialFrom(t, src.ip, s.Addr())
			got, _ := cl.call(c.cmd, c.body)
			cl.c.Close()
			allowed := src.tracker || (src.storage && c.storagesToo)
			if (got == protocol.EPERM) == allowed {
				t.Errorf("%s: cmd %d answered %d, allowed %v", src.name, c.cmd, got, allowed)
			}
		}
	}

	// A stranger can neither make this tracker leader nor hold the
	// sys-file lock.
	cl := dialFrom(t, "127.0.0.20", s.Addr())
	for _, cmd := range []byte{protocol.CmdTrackerNotifyNextLeader, protocol.CmdTrackerCommitNextLeader} {
		if got, _ := cl.call(cmd, encodeLeaderAddr(s.Addr())); got != protocol.EPERM {
			t.Fatalf("stranger's cmd %d naming this tracker: %d, want EPERM", cmd, got)
		}
	}
	cl.call(protocol.CmdTrackerGetSysFilesStart, nil)
	if l, _ := leaderOf(t, s); l != peer.addr() {
		t.Fatalf("leader %q after the stranger's commit, want %s", l, peer.addr())
	}
	// The trackers' locks above are released as their connections end;
	// the stranger's connection stays open.
	eventually(t, "sys-file lock for the tracker", func() error {
		tr := dialFrom(t, "127.0.0.9", s.Addr())
		defer tr.c.Close()
		if got, _ := tr.call(protocol.CmdTrackerGetSysFilesStart, nil); got != 0 {
			return fmt.Errorf("status %d", got)
		}
		return nil
	})
}
