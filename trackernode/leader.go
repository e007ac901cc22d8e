package trackernode

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Tracker cluster membership and leader state (protocol.md §9). Trackers
// learn each other from the tracker_server lines of the storages' JOIN
// bodies; the leader is elected by the relationship loop
// (relationship.go). Everything here is guarded by Server.mu.

// statusFileInterval is upstream's TRACKER_SYNC_STATUS_FILE_INTERVAL in
// seconds: running times and restart intervals are reported rounded down
// to it, so trackers started within the same 5 minutes rank by address.
const statusFileInterval = 300

// peer is one tracker as the storages list it: "host:port" with dual-IP
// entries "ip1,ip2:port" (dialed in order).
type peer struct {
	line  string
	hosts []string
	port  int
	// ips are the hosts' addresses (names resolved when a JOIN listed the
	// peer): connections from them may send tracker-to-tracker commands.
	ips []netip.Addr
}

// id is the "ip:port" by which trackers name each other in 66/67 bodies
// and GET_LEADER replies.
func (p peer) id() string { return protocol.FormatHostPort(p.hosts[0], p.port) }

func (p peer) is(ip string, port int) bool {
	return port == p.port && slices.Contains(p.hosts, ip)
}

// parsePeer splits a tracker_server line.
func parsePeer(line string) (peer, error) {
	line = strings.TrimSpace(line)
	i := strings.LastIndexByte(line, ':')
	if i <= 0 {
		return peer{}, fmt.Errorf("tracker %q has no port: %w", line, protocol.ErrInvalid)
	}
	port, err := strconv.Atoi(line[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return peer{}, fmt.Errorf("tracker %q: bad port: %w", line, protocol.ErrInvalid)
	}
	p := peer{line: line, port: port}
	for h := range strings.SplitSeq(line[:i], ",") {
		h = strings.Trim(strings.TrimSpace(h), "[]")
		if h == "" {
			return peer{}, fmt.Errorf("tracker %q: empty host: %w", line, protocol.ErrInvalid)
		}
		p.hosts = append(p.hosts, h)
		if a, err := netip.ParseAddr(h); err == nil {
			p.ips = append(p.ips, a.Unmap())
		}
	}
	return p, nil
}

// resolveNames adds the addresses of the hosts of p that are names. It may
// block on DNS: call it without s.mu.
func (s *Server) resolveNames(p *peer) {
	for _, h := range p.hosts {
		if _, err := netip.ParseAddr(h); err == nil {
			continue
		}
		addrs, err := net.LookupHost(h)
		if err != nil {
			s.log.Warn("cannot resolve tracker", "tracker", p.line, "err", err)
			continue
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil && !slices.Contains(p.ips, ip.Unmap()) {
				p.ips = append(p.ips, ip.Unmap())
			}
		}
	}
}

// relation is this tracker's view of the tracker cluster.
type relation struct {
	self       peer     // how the storages list this tracker (zero until a JOIN named it)
	peers      []peer   // the other trackers, at most protocol.MaxTrackers-1
	leader     string   // id of the leader, "" while unknown
	nextLeader string   // id announced by NOTIFY_NEXT_LEADER, awaiting COMMIT
	aliases    []string // tracker lines found to name this tracker
	kick       chan struct{}
	sysLock    *conn         // connection holding the sys-file lock (61..62)
	learned    chan struct{} // closed when a JOIN was handled; nil until waited on
	joined     bool          // a storage's JOIN was handled since the start
}

// selfID is this tracker's id: the JOIN line that named it, else the bound
// address. Caller holds s.mu.
func (s *Server) selfID() string {
	if len(s.rel.self.hosts) > 0 {
		return s.rel.self.id()
	}
	return s.leaderAddr
}

// isSelf reports whether a tracker_server line names this tracker: its
// bound IP (with a wildcard bind: the address the storage reached, or any
// interface address) and its port. Host names must have been resolved
// (resolveNames). A tracker configured with port 0 (ephemeral, tests)
// cannot know which port the storages were told, so any port on its IP
// matches.
func (s *Server) isSelf(p peer, local net.Addr) bool {
	ta, ok := s.ln.Addr().(*net.TCPAddr)
	if !ok {
		return false
	}
	if p.port != ta.Port && s.cfg.Port != 0 {
		return false
	}
	mine := []net.IP{ta.IP}
	if ta.IP.IsUnspecified() {
		if la, ok := local.(*net.TCPAddr); ok {
			mine = append(mine, la.IP)
		}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					mine = append(mine, n.IP)
				}
			}
		}
	}
	for _, ip := range p.ips {
		for _, m := range mine {
			if net.IP(ip.AsSlice()).Equal(m) {
				return true
			}
		}
	}
	return false
}

// trackerList is the tracker list of a JOIN, split into this tracker and
// the others.
type trackerList struct {
	self   []peer
	others []peer
	local  net.Addr // where the JOIN reached this tracker
}

// classifyTrackers parses the tracker lines of a JOIN that reached this
// tracker at local. It may resolve host names: call it without s.mu.
func (s *Server) classifyTrackers(lines []string, local net.Addr) trackerList {
	tl := trackerList{local: local}
	for _, l := range lines {
		p, err := parsePeer(l)
		if err == nil {
			s.resolveNames(&p)
		}
		switch {
		case err != nil:
			s.log.Warn("ignoring tracker line of a JOIN", "line", l, "err", err)
		case s.isSelf(p, local):
			tl.self = append(tl.self, p)
		default:
			tl.others = append(tl.others, p)
		}
	}
	return tl
}

// learnTrackers records the tracker list of a JOIN. A tracker that knows no
// other tracker leads alone; new peers wake the relationship loop, which
// elects or verifies the leader. Caller holds s.mu.
func (s *Server) learnTrackers(tl trackerList) {
	if len(tl.self) > 0 && len(s.rel.self.hosts) == 0 {
		s.rel.self = tl.self[0]
	}
	if s.selfID() == "" {
		// Wildcard bind and no line names us: we are where the storage
		// reached us.
		if la, ok := tl.local.(*net.TCPAddr); ok {
			s.rel.self = peer{line: protocol.FormatHostPort(la.IP.String(), la.Port), hosts: []string{la.IP.String()}, port: la.Port}
		}
	}
	added := false
	for _, p := range tl.others {
		added = s.addPeer(p) || added
	}
	if len(s.rel.peers) == 0 && s.rel.leader == "" {
		s.setLeader(s.selfID())
	}
	if added {
		s.kickRelationship()
	}
	// Wake the tracker-to-tracker requests held until this tracker knew
	// its peers (peerauth.go).
	s.rel.joined = true
	if s.rel.learned != nil {
		close(s.rel.learned)
		s.rel.learned = nil
	}
}

// addPeer adds p unless known or the list is full. A known peer takes the
// addresses p was resolved to now. Caller holds s.mu.
func (s *Server) addPeer(p peer) bool {
	if slices.Contains(s.rel.aliases, p.line) {
		return false
	}
	for i, o := range s.rel.peers {
		switch {
		case o.line == p.line:
			if len(p.ips) > 0 {
				s.rel.peers[i].ips = p.ips
			}
			return false
		case o.id() == p.id():
			for _, ip := range p.ips {
				if !slices.Contains(o.ips, ip) {
					s.rel.peers[i].ips = append(s.rel.peers[i].ips, ip)
				}
			}
			return false
		}
	}
	if len(s.rel.peers) >= protocol.MaxTrackers-1 {
		s.log.Warn("too many trackers, ignoring", "tracker", p.line)
		return false
	}
	s.rel.peers = append(s.rel.peers, p)
	s.log.Info("learned tracker", "tracker", p.line)
	return true
}

func (s *Server) kickRelationship() {
	select {
	case s.rel.kick <- struct{}{}:
	default:
	}
}

// setLeader records a new leader and makes beat replies announce it. A
// tracker that becomes leader sends every storage the full group list on
// its next beat: what the storages got from the previous leader may differ
// from this tracker's view. Caller holds s.mu.
func (s *Server) setLeader(id string) {
	if s.rel.leader == id {
		return
	}
	old := s.rel.leader
	s.rel.leader = id
	s.rel.nextLeader = ""
	s.leaderChg++
	if id != "" && id == s.selfID() {
		for _, g := range s.groups {
			for _, st := range g.sorted {
				st.chgSeen = g.chgCount - 1
			}
		}
		s.log.Info("I am the tracker leader", "self", id, "previous", old)
	} else {
		s.log.Info("tracker leader changed", "leader", id, "previous", old)
	}
}

// amLeader reports whether this tracker leads: it was elected, or the first
// JOIN named no other tracker. Before any JOIN a tracker does not know its
// cluster and leads nobody. Caller holds s.mu.
func (s *Server) amLeader() bool { return s.rel.leader != "" && s.rel.leader == s.selfID() }

// myStatus is this tracker's TRACKER_GET_STATUS answer. Caller holds s.mu.
func (s *Server) myStatus() protocol.TrackerStatus {
	run := int64(s.now().Sub(s.startTime).Seconds())
	return protocol.TrackerStatus{
		IsLeader:        s.amLeader(),
		RunningTime:     run / statusFileInterval * statusFileInterval,
		RestartInterval: s.restartInterval / statusFileInterval * statusFileInterval,
	}
}

// findTracker maps an "ip:port" to a known tracker id (self included).
// Caller holds s.mu.
func (s *Server) findTracker(addr string) (string, bool) {
	ip, port, err := protocol.ParseHostPort(addr)
	if err != nil {
		return "", false
	}
	if s.rel.self.is(ip, port) || addr == s.leaderAddr {
		return s.selfID(), true
	}
	for _, p := range s.rel.peers {
		if p.is(ip, port) {
			return p.id(), true
		}
	}
	return "", false
}

// TRACKER_GET_STATUS (64): ENOENT while the tracker has no groups (it has
// nothing to offer as leader or sys-file source).
func (s *Server) trackerGetStatus(body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("tracker status with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.groups) == 0 {
		return nil, fmt.Errorf("no groups yet: %w", protocol.ErrNotFound)
	}
	st := s.myStatus()
	return st.Encode(), nil
}

// SERVER_GET_LEADER (95): the leader's "ip:port"; ENOENT during an
// election.
func (s *Server) serverGetLeader(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("get leader with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.amLeader():
		return []byte(cs.self), nil
	case s.rel.leader == "":
		return nil, fmt.Errorf("no tracker leader known: %w", protocol.ErrNotFound)
	}
	return []byte(s.rel.leader), nil
}

// knownTracker resolves the tracker named by a 66/67 body. A tracker not
// yet learned from a JOIN is added: the sender, a known tracker
// (checkPeerCmd), learned it from the same storages.
func (s *Server) knownTracker(addr string) (string, error) {
	if id, ok := s.findTracker(addr); ok {
		return id, nil
	}
	p, err := parsePeer(addr)
	if err != nil {
		return "", err
	}
	if !s.addPeer(p) {
		return "", fmt.Errorf("tracker %s: %w", addr, protocol.ErrNotFound)
	}
	return p.id(), nil
}

// TRACKER_NOTIFY_NEXT_LEADER (66): phase one of an election. A leader told
// of another leader steps down and refuses (split brain: re-elect).
func (s *Server) notifyNextLeader(body []byte) ([]byte, error) {
	addr, err := protocol.DecodeLeaderAddr(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.knownTracker(addr)
	if err != nil {
		return nil, err
	}
	if s.amLeader() && id != s.selfID() {
		s.setLeader("")
		s.kickRelationship()
		return nil, fmt.Errorf("two leaders, next is %s: %w", id, protocol.ErrInvalid)
	}
	s.rel.nextLeader = id
	return nil, nil
}

// TRACKER_COMMIT_NEXT_LEADER (67): phase two; only the announced tracker
// can be committed.
func (s *Server) commitNextLeader(body []byte) ([]byte, error) {
	addr, err := protocol.DecodeLeaderAddr(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.knownTracker(addr)
	if err != nil {
		return nil, err
	}
	if id != s.rel.nextLeader {
		return nil, fmt.Errorf("commit of %s, announced %q: %w", id, s.rel.nextLeader, protocol.ErrInvalid)
	}
	s.setLeader(id)
	return nil, nil
}

// TRACKER_NOTIFY_RESELECT_LEADER (68): a storage saw two leaders; the
// leader steps down and the trackers elect again.
func (s *Server) reselectLeader(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("reselect leader with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.amLeader() {
		return nil, fmt.Errorf("not the leader: %w", protocol.ErrNotSupported)
	}
	s.log.Warn("told of two leaders, stepping down", "peer", cs.peerIP)
	s.setLeader("")
	s.kickRelationship()
	return nil, nil
}

// TRACKER_JOIN_LEADER (58) and TRACKER_PING_LEADER (65): a follower checks
// in. Only the leader answers; a ping reply lists the trunk server of
// every group (trunkServers) when they changed since this connection last
// heard, else it is empty.
// The bodies are checked but not used: the leader keeps no state per
// follower (it finds followers from the storages' JOINs), so a check-in is
// only the follower's way of learning that the leader still leads.
func (s *Server) followerCheckIn(cs *conn, cmd byte, body []byte) ([]byte, error) {
	var err error
	if cmd == protocol.CmdTrackerJoinLeader {
		_, err = protocol.DecodeJoinLeaderRequest(body)
	} else {
		_, err = protocol.DecodePingLeaderRequest(body)
	}
	if err != nil {
		return nil, fmt.Errorf("cmd %d: %w", cmd, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.amLeader() {
		return nil, fmt.Errorf("cmd %d: not the leader: %w", cmd, protocol.ErrNotSupported)
	}
	if cmd == protocol.CmdTrackerPingLeader && cs.trunkSent != s.trunkChgAll {
		cs.trunkSent = s.trunkChgAll
		return s.trunkServers(), nil
	}
	return nil, nil
}
