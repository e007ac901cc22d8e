package trackernode

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Who may send the tracker-to-tracker commands (protocol.md §9). They
// elect the leader, make it step down and copy the whole cluster map, so a
// client must not reach them: they are accepted only from the trackers
// the storages list (the tracker_server lines of their JOINs, learned into
// s.rel.peers with their host names resolved; tracker.conf names no other
// tracker, here as upstream). Upstream answers them to anybody allow_hosts
// lets in.

// peerCmds lists the tracker-to-tracker commands; the value tells whether
// known storages may send the command too.
var peerCmds = map[byte]bool{
	protocol.CmdTrackerJoinLeader:       false,
	protocol.CmdTrackerGetSysFilesStart: false,
	protocol.CmdTrackerGetSysFilesEnd:   false,
	protocol.CmdTrackerGetOneSysFile:    false,
	protocol.CmdTrackerPingLeader:       false,
	protocol.CmdTrackerNotifyNextLeader: false,
	protocol.CmdTrackerCommitNextLeader: false,
	// Storages ask whether a tracker leads when two announce themselves,
	// and tell both to elect again (storagenode/tracker.go followLeader).
	protocol.CmdTrackerGetStatus:          true,
	protocol.CmdTrackerNotifyReselectLead: true,
}

// peerLearnWait bounds how long a tracker that has not handled a JOIN
// yet holds a tracker-to-tracker command from an unknown address, waiting
// for a storage's JOIN to list the sender.
const peerLearnWait = 2 * time.Second

// checkPeerCmd refuses a tracker-to-tracker command from a connection that
// is neither a known tracker nor, where storages send the command, a known
// storage: EPERM.
func (s *Server) checkPeerCmd(cs *conn, cmd byte) error {
	storagesToo, ok := peerCmds[cmd]
	if !ok {
		return nil
	}
	ip, err := netip.ParseAddr(cs.peerIP)
	if err != nil {
		return fmt.Errorf("cmd %d from %q: %w", cmd, cs.peerIP, protocol.ErrPermission)
	}
	ip = ip.Unmap()
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline := time.Now().Add(peerLearnWait)
	for {
		if s.isPeerTracker(ip) || (storagesToo && s.isKnownStorage(ip)) {
			return nil
		}
		// A tracker that has not handled a storage's JOIN since it
		// started does not know its peers yet: trackers starting together
		// receive the storages' JOINs at the same moment, and the other
		// tracker, handling its own, may ask this one first (upstream's
		// sys-file check at its first JOIN, an election). Wait a little
		// for the JOIN rather than refusing: an upstream tracker refused
		// there refuses its storage's JOIN in turn and learns nothing
		// until the storage retries, a heart-beat interval later.
		wait := time.Until(deadline)
		if s.rel.joined || wait <= 0 {
			break
		}
		if s.rel.learned == nil {
			s.rel.learned = make(chan struct{})
		}
		learned := s.rel.learned
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-learned:
		case <-t.C:
		case <-s.done:
		}
		t.Stop()
		s.mu.Lock()
		select {
		case <-s.done:
			deadline = time.Now()
		default:
		}
	}
	// Warn: a tracker missing from the storages' tracker_server lines
	// cannot take part in elections, which is worth finding in the log.
	s.log.Warn("tracker-to-tracker command from an unknown address, refused", "peer", cs.peerIP, "cmd", cmd)
	return fmt.Errorf("tracker cmd %d from %s, which is not a tracker the storages list: %w",
		cmd, ip, protocol.ErrPermission)
}

// isPeerTracker reports whether ip is an address of another tracker.
// Caller holds s.mu.
func (s *Server) isPeerTracker(ip netip.Addr) bool {
	for _, p := range s.rel.peers {
		if slices.Contains(p.ips, ip) {
			return true
		}
	}
	return false
}

// isKnownStorage reports whether a storage of the cluster map joined from
// ip. Caller holds s.mu.
func (s *Server) isKnownStorage(ip netip.Addr) bool {
	for _, g := range s.groups {
		for _, st := range g.sorted {
			if a, err := netip.ParseAddr(st.ip); err == nil && !st.tombstone() && a.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
