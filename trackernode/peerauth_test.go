package trackernode

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

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
		{protocol.CmdTrackerJoinLeader, make([]byte, protocol.JoinLeaderLen), false},
		{protocol.CmdTrackerGetSysFilesStart, nil, false},
		{protocol.CmdTrackerGetSysFilesEnd, nil, false},
		{protocol.CmdTrackerGetOneSysFile, sysFile, false},
		{protocol.CmdTrackerGetStatus, nil, true},
		{protocol.CmdTrackerPingLeader, make([]byte, protocol.PingLeaderLen), false},
		{protocol.CmdTrackerNotifyNextLeader, protocol.EncodeLeaderAddr(peer.addr()), false},
		{protocol.CmdTrackerCommitNextLeader, protocol.EncodeLeaderAddr(peer.addr()), false},
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
			cl.Conn.Close()
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
		if got, _ := cl.call(cmd, protocol.EncodeLeaderAddr(s.Addr())); got != protocol.EPERM {
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
		defer tr.Conn.Close()
		if got, _ := tr.call(protocol.CmdTrackerGetSysFilesStart, nil); got != 0 {
			return fmt.Errorf("status %d", got)
		}
		return nil
	})
}

// Trackers starting together get the storages' JOINs at the same moment,
// and the other tracker may ask this one before this one handled the JOIN
// that lists it (upstream checks its peers' sys files at its first JOIN):
// until its first JOIN a tracker holds such a request for a while instead
// of refusing it, and answers it once the JOIN taught it the sender. After
// that, an unknown sender is refused at once.
func TestPeerCommandWaitsForTheFirstJoin(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	type answer struct {
		status byte
		took   time.Duration
	}
	asked := make(chan answer, 1)
	go func() {
		start := time.Now()
		c, err := net.DialTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s.Addr())))
		if err != nil {
			asked <- answer{status: 255}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		protocol.WritePacket(c, protocol.CmdTrackerGetStatus, 0, nil)
		_, err = protocol.ReadResponse(c, 1<<10)
		st := byte(0)
		if se := (*protocol.StatusError)(nil); errors.As(err, &se) {
			st = se.Code
		} else if err != nil {
			st = 255
		}
		asked <- answer{st, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	dialFrom(t, "127.0.0.3", s.Addr()).ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", "127.0.0.9:22122"))
	// Answered (ENOENT: the JOIN's group is not created yet when the
	// request goes on, or 0), not refused.
	if a := <-asked; a.status != 0 && a.status != protocol.ENOENT {
		t.Fatalf("GET_STATUS from the tracker the first JOIN lists, sent before it: status %d after %v, want 0 or ENOENT", a.status, a.took)
	}
	start := time.Now()
	cl := dialFrom(t, "127.0.0.20", s.Addr())
	if got, _ := cl.call(protocol.CmdTrackerGetStatus, nil); got != protocol.EPERM || time.Since(start) > time.Second {
		t.Fatalf("stranger after the first JOIN: status %d after %v, want EPERM at once", got, time.Since(start))
	}
}
