package trackernode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// fakePeer is a scripted tracker: it answers TRACKER_GET_STATUS with
// status (ENOENT, "no groups", when noGroups is set), serves empty sys
// files and takes the leader commands as upstream 6.16.1's tracker_service.c
// does: JOIN_LEADER with exactly a 24-byte body and once per connection
// (EEXIST), PING_LEADER with exactly 12 bytes and only on a connection that
// joined (EINVAL), NOTIFY/COMMIT_NEXT_LEADER with at most
// FDFS_MAX_IP_PORT_SIZE (52) bytes. It counts what it accepted.
type fakePeer struct {
	ln       net.Listener
	status   atomic.Pointer[protocol.TrackerStatus]
	noGroups atomic.Bool
	stranger atomic.Bool // refuse every command with EPERM (has not learned us yet)
	pings    atomic.Int32
	joins    atomic.Int32
	refused  atomic.Int32 // JOIN_LEADER and PING_LEADER refused
	next     atomic.Int32 // NOTIFY_NEXT_LEADER received (refused ones too)
	busy     atomic.Bool  // refuse TRACKER_GET_SYS_FILES_START with EBUSY

	mu     sync.Mutex
	bodies map[byte][][]byte // 66 and 67 bodies as received
}

func startFakePeer(t *testing.T, ip string, st protocol.TrackerStatus) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{ln: ln, bodies: map[byte][][]byte{}}
	p.status.Store(&st)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *fakePeer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	joined := false
	for {
		h, err := protocol.ReadHeader(r)
		if err != nil {
			return
		}
		in, err := protocol.ReadBody(r, h, 1<<16)
		if err != nil {
			return
		}
		var body []byte
		var fail error
		switch {
		case h.Cmd == protocol.CmdQuit:
			return
		case p.stranger.Load():
			if h.Cmd == protocol.CmdTrackerNotifyNextLeader {
				p.next.Add(1) // counted although refused
			}
			if protocol.WriteError(c, protocol.ErrPermission) != nil {
				return
			}
			continue
		}
		switch h.Cmd {
		case protocol.CmdTrackerGetSysFilesStart:
			if p.busy.Load() {
				fail = protocol.ErrBusy
			}
		case protocol.CmdTrackerGetStatus:
			if p.noGroups.Load() {
				fail = protocol.ErrNotFound
			} else {
				body = p.status.Load().Encode()
			}
		case protocol.CmdTrackerJoinLeader:
			switch {
			case len(in) != 24:
				fail = protocol.ErrInvalid
			case joined:
				fail = protocol.ErrExists
			default:
				joined = true
				p.joins.Add(1)
			}
		case protocol.CmdTrackerPingLeader:
			if len(in) != 12 || !joined {
				fail = protocol.ErrInvalid
			} else {
				p.pings.Add(1)
			}
		case protocol.CmdTrackerNotifyNextLeader, protocol.CmdTrackerCommitNextLeader:
			if len(in) > 52 {
				fail = protocol.ErrInvalid
				break
			}
			if h.Cmd == protocol.CmdTrackerNotifyNextLeader {
				p.next.Add(1)
			}
			p.mu.Lock()
			p.bodies[h.Cmd] = append(p.bodies[h.Cmd], in)
			p.mu.Unlock()
		case protocol.CmdTrackerGetOneSysFile:
			body = make([]byte, 8) // every sys file is empty
		}
		if fail != nil {
			if h.Cmd == protocol.CmdTrackerJoinLeader || h.Cmd == protocol.CmdTrackerPingLeader {
				p.refused.Add(1)
			}
			if protocol.WriteError(c, fail) != nil {
				return
			}
			continue
		}
		if protocol.WriteResponse(c, body) != nil {
			return
		}
	}
}

// received returns the bodies of cmd received so far.
func (p *fakePeer) received(cmd byte) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.bodies[cmd])
}

func (p *fakePeer) addr() string { return p.ln.Addr().String() }

// joinListing is a JOIN body whose tracker list is trackers.
func joinListing(group string, port int, trackers ...string) []byte {
	return (&protocol.JoinRequest{
		Group: group, StoragePort: int64(port), StorePathCount: 1, SubdirCountPerPath: 256,
		UploadPriority: 10, JoinTime: time.Now().Unix(), UpTime: time.Now().Unix(), Version: "6.16.1",
		CurrentTrackerIP: "127.0.0.2", Trackers: trackers,
	}).Encode()
}

// eventually polls f until it returns nil, for up to 10 s.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	testwait.For(t, 10*time.Second, what, f)
}

// ask sends one request from srcIP on its own connection and closes it
// (polls must not pile up connections against max_connections).
func ask(t *testing.T, s *Server, srcIP string, cmd byte) (byte, []byte) {
	t.Helper()
	cl := dialFrom(t, srcIP, s.Addr())
	defer cl.Conn.Close()
	return cl.call(cmd, nil)
}

func leaderOf(t *testing.T, s *Server) (string, byte) {
	t.Helper()
	st, b := ask(t, s, "127.0.0.1", protocol.CmdServerGetLeader)
	return string(b), st
}

// isLeader asks TRACKER_GET_STATUS as the storage at 127.0.0.3 (only
// trackers and storages may), which every caller has joined.
func isLeader(t *testing.T, s *Server) bool {
	t.Helper()
	st, b := ask(t, s, "127.0.0.3", protocol.CmdTrackerGetStatus)
	ts, err := protocol.DecodeTrackerStatus(b)
	if st != 0 || err != nil {
		t.Fatalf("tracker status: %d %v", st, err)
	}
	return ts.IsLeader
}

// A tracker that is alone in its storages' tracker lists leads at once,
// as the single-tracker traces show (leader announced on the first beat).
func TestAloneTrackerLeads(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	if _, st := leaderOf(t, s); st != protocol.ENOENT {
		t.Fatalf("leader before any JOIN: status %d, want ENOENT", st)
	}
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	if l, st := leaderOf(t, s); st != 0 || l != s.Addr() {
		t.Fatalf("leader %q status %d, want %s", l, st, s.Addr())
	}
	if !isLeader(t, s) {
		t.Fatal("alone tracker does not report itself leader")
	}
}

// A tracker whose storages list a peer that already leads follows it as
// upstream's relationship thread does: JOIN_LEADER once on a connection,
// then PING_LEADER on that same connection (an upstream leader refuses a
// ping on a connection that did not join, and a second join on one); it
// answers beats with a single zero byte, names the peer in GET_LEADER, and
// refuses 58/65 itself.
func TestFollowerOfExistingLeader(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{IsLeader: true, RunningTime: 600})
	s := startServer(t, traceConfig(t, "ip"))
	st := dialFrom(t, "127.0.0.3", s.Addr())
	st.ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", peer.addr()))
	eventually(t, "following the peer", func() error {
		if l, _ := leaderOf(t, s); l != peer.addr() {
			return errors.New("leader is " + l)
		}
		if n := peer.pings.Load(); n < 3 {
			return fmt.Errorf("%d pings taken (%d join/ping refused)", n, peer.refused.Load())
		}
		return nil
	})
	if peer.joins.Load() != 1 || peer.refused.Load() != 0 {
		t.Fatalf("%d JOIN_LEADER taken and %d join/ping refused, want 1 and 0", peer.joins.Load(), peer.refused.Load())
	}
	if b := st.ok(protocol.CmdStorageBeat, nil); len(b) != 1 || b[0] != 0 {
		t.Fatalf("follower beat reply %x, want 00", b)
	}
	if isLeader(t, s) {
		t.Fatal("follower reports itself leader")
	}
	cl := dialFrom(t, "127.0.0.9", s.Addr())
	for _, c := range []struct {
		cmd  byte
		body []byte
	}{
		{protocol.CmdTrackerJoinLeader, make([]byte, protocol.JoinLeaderLen)},
		{protocol.CmdTrackerPingLeader, make([]byte, protocol.PingLeaderLen)},
		{protocol.CmdTrackerNotifyReselectLead, nil},
	} {
		if got, _ := cl.call(c.cmd, c.body); got != protocol.EOPNOTSUPP {
			t.Errorf("follower answers cmd %d with %d, want EOPNOTSUPP", c.cmd, got)
		}
	}
}

// The two-phase handover: NOTIFY then COMMIT of the same tracker. A leader
// told of another next leader steps down with EINVAL; RESELECT makes the
// leader step down; malformed bodies are EINVAL.
func TestNotifyCommitReselect(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{IsLeader: true, RunningTime: 600})
	s := startServer(t, traceConfig(t, "ip"))
	st := dialFrom(t, "127.0.0.3", s.Addr())
	st.ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", peer.addr()))
	eventually(t, "following the peer", func() error {
		if l, _ := leaderOf(t, s); l != peer.addr() {
			return errors.New("leader is " + l)
		}
		return nil
	})
	cl := dialFrom(t, "127.0.0.9", s.Addr())
	self := protocol.EncodeLeaderAddr(s.Addr())
	for _, c := range []struct {
		name string
		cmd  byte
		body []byte
		want byte
	}{
		{"commit without notify", protocol.CmdTrackerCommitNextLeader, self, protocol.EINVAL},
		{"empty body", protocol.CmdTrackerNotifyNextLeader, nil, protocol.EINVAL},
		{"body over 52 bytes", protocol.CmdTrackerNotifyNextLeader, append(padded(s.Addr()), 0), protocol.EINVAL},
		{"unparsable", protocol.CmdTrackerNotifyNextLeader, protocol.EncodeLeaderAddr("nonsense"), protocol.EINVAL},
		{"ping with odd body", protocol.CmdTrackerPingLeader, []byte{1}, protocol.EINVAL},
		// Upstream 6.16.1 sends strlen("ip:port") bytes; the padded
		// 52-byte form is accepted too (upstream's own limit).
		{"notify self, padded", protocol.CmdTrackerNotifyNextLeader, padded(s.Addr()), 0},
		{"notify self", protocol.CmdTrackerNotifyNextLeader, []byte(s.Addr()), 0},
		{"commit self", protocol.CmdTrackerCommitNextLeader, []byte(s.Addr()), 0},
		{"join leader", protocol.CmdTrackerJoinLeader, make([]byte, protocol.JoinLeaderLen), 0},
		{"ping leader", protocol.CmdTrackerPingLeader, make([]byte, protocol.PingLeaderLen), 0},
		{"old ping", protocol.CmdTrackerPingLeader, nil, 0},
	} {
		if got, _ := cl.call(c.cmd, c.body); got != c.want {
			t.Fatalf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if !isLeader(t, s) {
		t.Fatal("committed tracker does not lead")
	}
	n, err := protocol.DecodeChangeNotice(st.ok(protocol.CmdStorageBeat, nil))
	if err != nil || n.Flags != protocol.ChangeLeader|protocol.ChangeGroup || n.Leader.ID != "127.0.0.2" || len(n.Storages) != 1 {
		t.Fatalf("new leader's first beat reply %+v, %v", n, err)
	}

	// Split brain: told that the peer is next, the leader steps down.
	if got, _ := cl.call(protocol.CmdTrackerNotifyNextLeader, protocol.EncodeLeaderAddr(peer.addr())); got != protocol.EINVAL {
		t.Fatalf("leader told of another next leader: status %d, want EINVAL", got)
	}
	eventually(t, "following the peer again", func() error {
		if l, _ := leaderOf(t, s); l != peer.addr() {
			return errors.New("leader is " + l)
		}
		return nil
	})

	cl.ok(protocol.CmdTrackerNotifyNextLeader, self)
	cl.ok(protocol.CmdTrackerCommitNextLeader, self)
	cl.ok(protocol.CmdTrackerNotifyReselectLead, nil)
	if isLeader(t, s) {
		t.Fatal("leader did not step down on RESELECT")
	}
}

// padded is addr NUL-padded to 52 bytes, the largest 66/67 body upstream
// takes.
func padded(addr string) []byte {
	b := make([]byte, protocol.HostPortTextSize)
	copy(b, addr)
	return b
}

// The leader sent by an upstream tracker (strlen("ip:port") bytes, as
// do_notify_leader_changed sends it) is taken: a tracker told by an
// upstream candidate follows it. Elected itself, a tracker announces itself
// with the same body, which an upstream tracker (at most 52 bytes) takes.
func TestLeaderAnnouncementBodies(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{RunningTime: 600})
	s := startServer(t, traceConfig(t, "ip"))
	st := dialFrom(t, "127.0.0.3", s.Addr())
	st.ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", peer.addr()))
	cl := dialFrom(t, "127.0.0.9", s.Addr())
	for _, cmd := range []byte{protocol.CmdTrackerNotifyNextLeader, protocol.CmdTrackerCommitNextLeader} {
		if got, _ := cl.call(cmd, []byte(peer.addr())); got != 0 {
			t.Fatalf("cmd %d with the upstream body %q: status %d, want 0", cmd, peer.addr(), got)
		}
	}
	if l, _ := leaderOf(t, s); l != peer.addr() {
		t.Fatalf("leader %q after the upstream announcement, want %s", l, peer.addr())
	}

	// The peer loses its groups and its leadership: this tracker is the
	// only candidate and announces itself to it.
	peer.noGroups.Store(true)
	s.mu.Lock()
	s.setLeader("")
	s.mu.Unlock()
	s.kickRelationship()
	eventually(t, "self election", func() error {
		if l, st := leaderOf(t, s); l != s.Addr() {
			return fmt.Errorf("leader %q, status %d", l, st)
		}
		return nil
	})
	// Trackers name each other as the storages list them.
	const self = "127.0.0.2:22122"
	for _, cmd := range []byte{protocol.CmdTrackerNotifyNextLeader, protocol.CmdTrackerCommitNextLeader} {
		got := peer.received(cmd)
		if len(got) == 0 || !bytes.Equal(got[len(got)-1], []byte(self)) {
			t.Errorf("cmd %d bodies sent to the peer %q, want %q", cmd, got, self)
		}
	}
}

// A peer that refuses this tracker (EPERM: no storage has listed this
// tracker to it yet, the trackers are starting) is waited for: the tracker
// does not elect itself without the peer's status, which may outrank it or
// already lead. Once the peer answers, the election goes on (here: the
// peer leads, the tracker follows).
func TestElectionWaitsForAPeerThatDoesNotKnowUs(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{IsLeader: true, RunningTime: 600})
	peer.stranger.Store(true)
	s := startServer(t, traceConfig(t, "ip"))
	st := dialFrom(t, "127.0.0.3", s.Addr())
	// A JOIN needs the peer's sys files (or its ENOENT) first: let the
	// copy through, then refuse again.
	peer.stranger.Store(false)
	peer.noGroups.Store(true)
	st.ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", peer.addr()))
	peer.noGroups.Store(false)
	peer.stranger.Store(true)
	s.kickRelationship()
	time.Sleep(3 * relationshipTick)
	if l, st := leaderOf(t, s); st != protocol.ENOENT || peer.next.Load() != 0 {
		t.Fatalf("leader %q (status %d) and %d NOTIFY_NEXT_LEADER sent while the peer refuses us, want none",
			l, st, peer.next.Load())
	}
	peer.stranger.Store(false)
	eventually(t, "following the peer", func() error {
		if l, _ := leaderOf(t, s); l != peer.addr() {
			return errors.New("leader is " + l)
		}
		return nil
	})
}

// A tracker whose peer is down and which has groups elects itself: it
// notifies and commits (skipping the unreachable peer) and leads.
func TestElectSelfWhenPeerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.9:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	s := startServer(t, traceConfig(t, "ip"))
	dialFrom(t, "127.0.0.3", s.Addr()).ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", dead))
	eventually(t, "self election", func() error {
		if l, st := leaderOf(t, s); l != s.Addr() {
			return fmt.Errorf("leader %q, status %d", l, st)
		}
		return nil
	})
}

// A peer that ranks higher but does not lead yet is waited for; when it
// announces itself (NOTIFY + COMMIT) the tracker follows.
func TestWaitForCandidate(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{RunningTime: 600})
	s := startServer(t, traceConfig(t, "ip"))
	dialFrom(t, "127.0.0.3", s.Addr()).ok(protocol.CmdStorageJoin, joinListing("group1", 23000, "127.0.0.2:22122", peer.addr()))
	// Whenever the loop looks, the candidate outranks this tracker and does
	// not lead yet: no leader.
	if _, st := leaderOf(t, s); st != protocol.ENOENT {
		t.Fatalf("leader while the candidate has not announced: status %d", st)
	}
	cl := dialFrom(t, "127.0.0.9", s.Addr())
	cl.ok(protocol.CmdTrackerNotifyNextLeader, protocol.EncodeLeaderAddr(peer.addr()))
	cl.ok(protocol.CmdTrackerCommitNextLeader, protocol.EncodeLeaderAddr(peer.addr()))
	if l, _ := leaderOf(t, s); l != peer.addr() {
		t.Fatalf("leader %q after the commit, want %s", l, peer.addr())
	}
}

func TestRankAbove(t *testing.T) {
	base := peerStatus{host: "127.0.0.2", port: 22122}
	for _, c := range []struct {
		name string
		a, b func(*peerStatus)
	}{
		{"leader first", func(p *peerStatus) { p.IsLeader = true }, func(p *peerStatus) { p.RunningTime = 900 }},
		{"longer running", func(p *peerStatus) { p.RunningTime = 600 }, func(p *peerStatus) { p.host = "127.0.0.9" }},
		{"shorter restart", func(p *peerStatus) { p.RestartInterval = 0 }, func(p *peerStatus) { p.RestartInterval = 300 }},
		{"larger ip", func(p *peerStatus) { p.host = "127.0.0.3" }, func(p *peerStatus) { p.port = 22123 }},
		{"larger port", func(p *peerStatus) { p.port = 22123 }, func(p *peerStatus) {}},
	} {
		a, b := base, base
		c.a(&a)
		c.b(&b)
		if !rankAbove(&a, &b) || rankAbove(&b, &a) {
			t.Errorf("%s: order wrong", c.name)
		}
	}
}

// Tracker lines name this tracker by its address; a tracker bound to port
// 0 cannot know its announced port and matches any port on its IP.
func TestParsePeerAndSelf(t *testing.T) {
	p, err := parsePeer(" 127.0.0.5,10.0.0.5:22122 ")
	if err != nil || p.id() != "127.0.0.5:22122" || !p.is("10.0.0.5", 22122) || p.is("10.0.0.5", 1) {
		t.Fatalf("dual-IP line: %+v %v", p, err)
	}
	for _, bad := range []string{"", "127.0.0.5", "127.0.0.5:0", "127.0.0.5:x", ":22122", ",:22122"} {
		if _, err := parsePeer(bad); err == nil {
			t.Errorf("parsePeer(%q) accepted", bad)
		}
	}
	s := startServer(t, traceConfig(t, "ip"))
	for line, want := range map[string]bool{"127.0.0.2:22122": true, "127.0.0.2:1": true, "127.0.0.3:22122": false} {
		p, _ := parsePeer(line)
		if got := s.isSelf(p, nil); got != want {
			t.Errorf("isSelf(%s) = %v", line, got)
		}
	}
}

// A tracker line that names this tracker by an address it cannot recognise
// (wildcard bind, storages told another address) is found out when the
// election reaches the tracker itself; the tracker then leads alone.
func TestSelfAliasDetected(t *testing.T) {
	// The tracker binds the wildcard address, on a port that must be free
	// on every address: ask for one the same way, and try again if another
	// socket took it between the probe and the tracker's bind.
	var s *Server
	var port int
	for attempt := 0; s == nil; attempt++ {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfg := traceConfig(t, "ip")
		cfg.BindAddr, cfg.Port = "", port
		if s, err = New(cfg, testLogger(t)); err != nil {
			t.Fatal(err)
		}
		if err = s.Start(); err != nil {
			s.Close()
			if !errors.Is(err, syscall.EADDRINUSE) || attempt == 9 {
				t.Fatal(err)
			}
			s = nil
			continue
		}
		t.Cleanup(func() { s.Close() })
	}
	local := fmt.Sprintf("127.0.0.2:%d", port)
	st := dialFrom(t, "127.0.0.3", local)
	st.ok(protocol.CmdStorageJoin, joinListing("group1", 23000, fmt.Sprintf("127.0.0.7:%d", port)))
	eventually(t, "leading alone", func() error {
		cl := dialFrom(t, "127.0.0.3", local)
		defer cl.Conn.Close()
		if got, b := cl.call(protocol.CmdTrackerGetStatus, nil); got != 0 || b[0] != 1 {
			return fmt.Errorf("status %d, reply %x", got, b)
		}
		return nil
	})
	n, err := protocol.DecodeChangeNotice(st.ok(protocol.CmdStorageBeat, nil))
	if err != nil || n.Flags&protocol.ChangeLeader == 0 {
		t.Fatalf("beat reply %+v %v: want the leader announced", n, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rel.peers) != 0 {
		t.Fatalf("peers %v, want none", s.rel.peers)
	}
}
