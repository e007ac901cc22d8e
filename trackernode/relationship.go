package trackernode

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The relationship loop (upstream tracker_relationship.c): without a leader
// it elects one; a follower pings the leader and re-elects after
// maxPingFailures failed pings in a row.
const (
	relationshipTick = time.Second // as upstream's relationship thread
	maxPingFailures  = 3
	// maxPeerReply bounds tracker-to-tracker replies (a ping reply lists at
	// most one trunk server per group).
	maxPeerReply = protocol.MaxGroups * (protocol.GroupNameLen + protocol.StorageIDSize)
)

func (s *Server) relationshipLoop() {
	defer s.wg.Done()
	t := time.NewTicker(relationshipTick)
	defer t.Stop()
	var (
		fails   int
		unknown int        // elections in a row failed with errUnknownToPeer
		link    leaderLink // connection to the leader this tracker follows
		retryAt time.Time  // no election before this (waiting for a candidate)
	)
	defer link.close()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		case <-s.rel.kick:
		}
		s.mu.Lock()
		peers := len(s.rel.peers)
		leader, self := s.rel.leader, s.selfID()
		s.mu.Unlock()
		switch {
		case peers == 0 || leader == self:
			fails, unknown = 0, 0
			link.close()
		case leader == "":
			fails = 0
			link.close()
			if time.Now().Before(retryAt) {
				continue
			}
			err := s.elect()
			switch {
			case err == nil:
				unknown = 0
			case (errors.Is(err, errUnknownToPeer) || errors.Is(err, errNoGroupsYet)) && unknown < maxPeerRetries:
				// A peer has not learned this tracker yet, or no tracker
				// has a group yet: the storages' JOINs being handled now
				// change that. Asking again soon lets this tracker win
				// before an upstream peer finds no leader, which sends its
				// relationship thread to sleep 1..10 s and then doubles
				// the sleep per failed ping: it would be that slow to
				// notice a failure of ours.
				unknown++
				retryAt = time.Now().Add(peerRetry)
				time.AfterFunc(peerRetry, s.kickRelationship)
			default:
				// Upstream sleeps 1..10 s; a shorter random pause still
				// keeps two candidates from colliding forever.
				retryAt = time.Now().Add(relationshipTick/2 + rand.N(relationshipTick))
			}
			if err != nil {
				s.log.Debug("leader election", "err", err)
			}
		default:
			unknown = 0
			if err := s.checkInWithLeader(&link, leader); err != nil {
				fails++
				s.log.Warn("leader check-in failed", "leader", leader, "failures", fails, "err", err)
				if fails >= maxPingFailures {
					s.mu.Lock()
					if s.rel.leader == leader {
						s.setLeader("")
					}
					s.mu.Unlock()
					fails = 0
					s.kickRelationship()
				}
				continue
			}
			fails = 0
		}
	}
}

// peerStatus is one tracker's TRACKER_GET_STATUS answer with its address.
type peerStatus struct {
	id   string
	host string
	port int
	protocol.TrackerStatus
}

// rankAbove orders election candidates as upstream: already leader, longer
// running time, smaller restart interval, larger IP string, larger port.
func rankAbove(a, b *peerStatus) bool {
	switch {
	case a.IsLeader != b.IsLeader:
		return a.IsLeader
	case a.RunningTime != b.RunningTime:
		return a.RunningTime > b.RunningTime
	case a.RestartInterval != b.RestartInterval:
		return a.RestartInterval < b.RestartInterval
	case a.host != b.host:
		return a.host > b.host
	}
	return a.port > b.port
}

// errWaiting means another tracker should win and has not taken over yet.
var errWaiting = errors.New("waiting for the candidate leader")

// errNoGroupsYet means no reachable tracker has a group (no storage has
// joined yet): nobody is a candidate.
var errNoGroupsYet = fmt.Errorf("no tracker has groups yet: %w", errWaiting)

// errUnknownToPeer means a peer refused this tracker as unknown (EPERM from
// ours, ENOENT from upstream's NOTIFY/COMMIT_NEXT_LEADER): it has not seen a
// storage's JOIN listing this tracker yet.
var errUnknownToPeer = errors.New("a tracker has not learned this one yet")

// peerRetry is the pause before electing again after errUnknownToPeer or
// errNoGroupsYet, for maxPeerRetries elections in a row; then the usual
// pause (a peer that never learns this tracker is misconfigured, and logs
// every refusal; a cluster without storages has time).
const (
	peerRetry      = 200 * time.Millisecond
	maxPeerRetries = 15
)

// elect collects every reachable tracker's status and picks the best. This
// tracker then runs the two-phase handover if it won, follows the winner
// if that already leads, or waits for the winner to announce itself.
func (s *Server) elect() error {
	s.mu.Lock()
	peers := append([]peer(nil), s.rel.peers...)
	self := s.selfID()
	var best *peerStatus
	if len(s.groups) > 0 {
		host, port, _ := splitID(self)
		best = &peerStatus{id: self, host: host, port: port, TrackerStatus: s.myStatus()}
	}
	s.mu.Unlock()
	for _, p := range peers {
		b, me, err := s.peerStatusCall(p)
		if me {
			s.forgetSelfAlias(p)
			return fmt.Errorf("%s is this tracker, electing again: %w", p.line, errWaiting)
		}
		if errors.Is(err, protocol.ErrPermission) {
			// The peer has not learned this tracker from a storage's JOIN
			// yet (trackers starting together, a tracker just added to the
			// storages' lists): it would refuse the announcement too, and
			// it may outrank us. Ask again shortly instead of electing
			// without it.
			return fmt.Errorf("%s: %w", p.line, errUnknownToPeer)
		}
		if err != nil {
			continue // down, or without groups (ENOENT): not a candidate
		}
		st, err := protocol.DecodeTrackerStatus(b)
		if err != nil {
			continue
		}
		c := &peerStatus{id: p.id(), host: p.hosts[0], port: p.port, TrackerStatus: *st}
		if best == nil || rankAbove(c, best) {
			best = c
		}
	}
	switch {
	case best == nil:
		return errNoGroupsYet
	case best.id == self:
		return s.announceSelf(peers, self)
	case best.IsLeader:
		s.mu.Lock()
		if s.rel.leader == "" {
			s.setLeader(best.id)
		}
		s.mu.Unlock()
		return nil
	}
	return fmt.Errorf("%s: %w", best.id, errWaiting)
}

// announceSelf runs NOTIFY_NEXT_LEADER then COMMIT_NEXT_LEADER over every
// tracker, this one included. Unreachable trackers are skipped; a refusal
// aborts the election (another tracker leads: it stepped down on our
// notification and the next round sorts it out).
func (s *Server) announceSelf(peers []peer, self string) error {
	body := protocol.EncodeLeaderAddr(self)
	for _, phase := range []struct {
		cmd   byte
		local func([]byte) ([]byte, error)
	}{
		{protocol.CmdTrackerNotifyNextLeader, s.notifyNextLeader},
		{protocol.CmdTrackerCommitNextLeader, s.commitNextLeader},
	} {
		for _, p := range peers {
			if _, err := s.peerCall(p, phase.cmd, body); err != nil {
				var se *protocol.StatusError
				if !errors.As(err, &se) {
					continue // unreachable
				}
				if errors.Is(err, protocol.ErrPermission) || errors.Is(err, protocol.ErrNotFound) {
					err = fmt.Errorf("%w (%w)", errUnknownToPeer, err)
				}
				return fmt.Errorf("tracker %s refused cmd %d: %w", p.line, phase.cmd, err)
			}
		}
		if _, err := phase.local(body); err != nil {
			return err
		}
	}
	return nil
}

// peerStatusCall asks p for TRACKER_GET_STATUS and reports whether p is
// in fact this tracker (an address of ours the storages list but that we
// could not recognise, e.g. behind NAT): our own listener then holds the
// other end of the connection.
func (s *Server) peerStatusCall(p peer) (body []byte, me bool, err error) {
	c, release, err := s.dialPeer(p)
	if err != nil {
		return nil, false, err
	}
	defer release()
	c.SetDeadline(time.Now().Add(s.peerTimeout()))
	if err := protocol.WritePacket(c, protocol.CmdTrackerGetStatus, 0, nil); err != nil {
		return nil, false, err
	}
	body, err = protocol.ReadResponse(c, maxPeerReply)
	var se *protocol.StatusError
	if err != nil && !errors.As(err, &se) {
		return nil, false, err
	}
	// The reply came after our listener accepted and registered the
	// connection, so the lookup cannot miss it.
	s.connMu.Lock()
	for sc := range s.conns {
		if sc.RemoteAddr().String() == c.LocalAddr().String() {
			me = true
		}
	}
	s.connMu.Unlock()
	protocol.WritePacket(c, protocol.CmdQuit, 0, nil)
	return body, me, err
}

// forgetSelfAlias drops a peer that turned out to be this tracker.
func (s *Server) forgetSelfAlias(p peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rel.peers = slices.DeleteFunc(s.rel.peers, func(o peer) bool { return o.line == p.line })
	if len(s.rel.self.hosts) == 0 {
		s.rel.self = p
	}
	s.rel.aliases = append(s.rel.aliases, p.line)
	s.log.Info("tracker line names this tracker", "tracker", p.line)
	if len(s.rel.peers) == 0 && s.rel.leader == "" {
		s.setLeader(s.selfID())
	}
}

// leaderLink is a follower's connection to its leader. As upstream's
// relationship thread (conn_for_ping), a follower sends TRACKER_JOIN_LEADER
// once on a new connection and then TRACKER_PING_LEADER on the same
// connection: an upstream leader refuses a ping on a connection that did
// not join (EINVAL, "please join leader first") and a second join on one
// (EEXIST).
type leaderLink struct {
	leader  string // id of the leader c joined
	c       net.Conn
	release func()
}

func (l *leaderLink) close() {
	if l.c != nil {
		l.release()
	}
	*l = leaderLink{}
}

// checkInWithLeader pings the leader on link, connecting and sending
// TRACKER_JOIN_LEADER first when link is not joined to this leader. A
// failed exchange drops the connection: the next check-in joins again.
func (s *Server) checkInWithLeader(link *leaderLink, leader string) error {
	if link.c != nil && link.leader != leader {
		link.close()
	}
	if link.c == nil {
		if err := s.joinLeader(link, leader); err != nil {
			return err
		}
	}
	ping := protocol.PingLeaderRequest{MaxConnections: int32(cap(s.sem)), CurrentConnections: int32(len(s.sem)), PeakConnections: s.peak.Load()}
	// The reply lists the trunk servers of the leader's groups (group +
	// storage id per group) when they changed.
	b, err := s.exchange(link.c, protocol.CmdTrackerPingLeader, ping.Encode())
	if err != nil {
		link.close()
		return fmt.Errorf("ping: %w", err)
	}
	s.learnTrunkServers(b)
	return nil
}

// joinLeader connects link to the leader and sends TRACKER_JOIN_LEADER:
// start time, version and the port this tracker listens on (the leader
// looks the follower up by the connection's source IP and that port).
func (s *Server) joinLeader(link *leaderLink, leader string) error {
	s.mu.Lock()
	var p peer
	for _, o := range s.rel.peers {
		if o.id() == leader {
			p = o
		}
	}
	port := 0
	if ta, ok := s.ln.Addr().(*net.TCPAddr); ok {
		port = ta.Port
	}
	s.mu.Unlock()
	if len(p.hosts) == 0 {
		return fmt.Errorf("leader %s is not a known tracker: %w", leader, protocol.ErrNotFound)
	}
	c, release, err := s.dialPeer(p)
	if err != nil {
		return err
	}
	*link = leaderLink{leader: leader, c: c, release: release}
	join := protocol.JoinLeaderRequest{StartTime: s.startTime.Unix(), Version: Version, Port: int64(port)}
	if _, err := s.exchange(c, protocol.CmdTrackerJoinLeader, join.Encode()); err != nil {
		link.close()
		return fmt.Errorf("join leader: %w", err)
	}
	return nil
}

// dialPeer connects to a tracker (dual-IP entries in order). Closing the
// server aborts the dial and any I/O on the connection, so Close never
// waits for a slow peer. The caller must call release.
func (s *Server) dialPeer(p peer) (c net.Conn, release func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-stop:
		}
	}()
	d := net.Dialer{Timeout: s.cfg.ConnectTimeout, LocalAddr: s.clientBindAddr()}
	if d.Timeout <= 0 {
		d.Timeout = 5 * time.Second
	}
	for _, h := range p.hosts {
		if c, err = d.DialContext(ctx, "tcp", net.JoinHostPort(h, strconv.Itoa(p.port))); err == nil {
			break
		}
	}
	if err != nil {
		close(stop)
		cancel()
		return nil, nil, err
	}
	unblock := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return c, func() {
		unblock()
		close(stop)
		cancel()
		c.Close()
	}, nil
}

// clientBindAddr is the source address of connections to other trackers:
// the bound IP when bind_addr is set, so the peers, which accept
// tracker-to-tracker commands only from the addresses the storages list,
// see this tracker's listed address (upstream's storages do the same with
// client_bind). nil with a wildcard bind: the kernel picks.
func (s *Server) clientBindAddr() net.Addr {
	ta, ok := s.ln.Addr().(*net.TCPAddr)
	if !ok || ta.IP.IsUnspecified() {
		return nil
	}
	return &net.TCPAddr{IP: ta.IP}
}

// peerTimeout is network_timeout, bounding each tracker-to-tracker exchange.
func (s *Server) peerTimeout() time.Duration {
	if s.cfg.NetworkTimeout > 0 {
		return s.cfg.NetworkTimeout
	}
	return 30 * time.Second
}

// exchange sends one request on c and reads the reply within
// network_timeout.
func (s *Server) exchange(c net.Conn, cmd byte, body []byte) ([]byte, error) {
	c.SetDeadline(time.Now().Add(s.peerTimeout()))
	if err := protocol.WritePacket(c, cmd, 0, body); err != nil {
		return nil, err
	}
	return protocol.ReadResponse(c, maxPeerReply)
}

// peerCall sends one request to a tracker on a short-lived connection.
func (s *Server) peerCall(p peer, cmd byte, body []byte) ([]byte, error) {
	c, release, err := s.dialPeer(p)
	if err != nil {
		return nil, err
	}
	defer release()
	b, err := s.exchange(c, cmd, body)
	if err == nil {
		protocol.WritePacket(c, protocol.CmdQuit, 0, nil)
	}
	return b, err
}

// splitID splits a tracker id "ip:port" ("[ipv6]:port").
func splitID(id string) (string, int, error) {
	host, port, err := protocol.ParseHostPort(id)
	return strings.Trim(host, "[]"), port, err
}
