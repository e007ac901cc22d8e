package trackernode

// Trunk storage (use_trunk_file): the leader elects one trunk server per
// group, the storage that allocates the group's trunk space, and tells
// the group's storages in the beat replies (FDFS_CHANGE_FLAG_TRUNK_SERVER).
// As upstream's tracker_mem_find_trunk_server, the candidate with the
// largest trunk binlog wins (it has seen the most of the group's trunk
// space), asked with TRUNK_GET_BINLOG_SIZE (31); the last trunk server
// wins ties. A trunk server that is no longer ACTIVE is replaced.

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// trunkQueryTimeout bounds the connect and the round trip of one
// TRUNK_GET_BINLOG_SIZE.
const trunkQueryTimeout = 2 * time.Second

// checkTrunkServers starts an election for every group without an ACTIVE
// trunk server; the caller holds s.mu.
func (s *Server) checkTrunkServers() {
	if !s.cfg.UseTrunkFile || !s.amLeader() {
		return
	}
	for _, g := range s.groups {
		if g.electing {
			continue
		}
		if ts := g.storages[g.trunkServer]; ts != nil && ts.active() {
			continue
		}
		var cands []*storage
		for _, st := range g.sorted {
			if st.writable() {
				cands = append(cands, st)
			}
		}
		if len(cands) == 0 {
			if g.trunkServer != "" {
				s.setTrunkServer(g, "")
			}
			continue
		}
		type cand struct{ id, addr string }
		cs := make([]cand, len(cands))
		for i, st := range cands {
			cs[i] = cand{st.id, net.JoinHostPort(st.ip, strconv.Itoa(st.port))}
		}
		g.electing = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			best, bestSize := "", int64(-1)
			for _, c := range cs {
				size, err := trunkBinlogSize(c.addr)
				if err != nil {
					s.log.Info("trunk binlog size query failed", "group", g.name, "id", c.id, "err", err)
					continue
				}
				if size > bestSize || size == bestSize && c.id == g.lastTrunkServer {
					best, bestSize = c.id, size
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			g.electing = false
			if st := g.storages[best]; best != "" && st != nil && st.writable() && s.amLeader() {
				s.log.Info("trunk server elected", "group", g.name, "id", best, "trunk_binlog_bytes", bestSize)
				s.setTrunkServer(g, best)
			}
		}()
	}
}

// setTrunkServer records g's trunk server (id, "" for none) and has the
// beat replies announce it; the caller holds s.mu.
func (s *Server) setTrunkServer(g *group, id string) {
	if g.trunkServer != "" && g.trunkServer != id {
		g.lastTrunkServer = g.trunkServer
	}
	g.trunkServer = id
	g.trunkChg++
	s.trunkChgAll++
	s.dirty = true
	s.saveLogged()
}

// trunkBinlogSize asks the storage at addr for its trunk binlog size.
func trunkBinlogSize(addr string) (int64, error) {
	c, err := net.DialTimeout("tcp", addr, trunkQueryTimeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(trunkQueryTimeout))
	if err := protocol.WritePacket(c, protocol.CmdTrunkGetBinlogSize, 0, nil); err != nil {
		return 0, err
	}
	b, err := protocol.ReadResponse(c, 8)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("trunk binlog size reply of %d bytes: %w", len(b), protocol.ErrInvalid)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// trunkNotice adds the trunk server to a storage's change notice when it
// changed since the storage last heard; the caller holds s.mu.
func (s *Server) trunkNotice(st *storage, c *protocol.ChangeNotice) {
	g := st.group
	if !s.cfg.UseTrunkFile || st.trunkSeen == g.trunkChg {
		return
	}
	c.Flags |= protocol.ChangeTrunk
	if ts := g.member(g.trunkServer); ts != nil {
		c.TrunkServer = protocol.Brief{Status: ts.status, Port: int32(ts.port), ID: ts.id, IP: ts.ip}
	}
	st.trunkSeen = g.trunkChg
}

// fetchTrunkFID: STORAGE_FETCH_TRUNK_FID (72), the group's current trunk
// file id, which a new trunk server continues from.
func (s *Server) fetchTrunkFID(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("fetch trunk fid with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := binary.BigEndian.AppendUint32(nil, uint32(cs.st.group.currentTrunkFileID))
	return b, nil
}

// reportTrunkFID: STORAGE_REPORT_TRUNK_FID (73), from the trunk server
// only: the largest id it created.
func (s *Server) reportTrunkFID(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 4 {
		return nil, fmt.Errorf("trunk fid report of %d bytes: %w", len(body), protocol.ErrInvalid)
	}
	id := int64(int32(binary.BigEndian.Uint32(body)))
	s.mu.Lock()
	defer s.mu.Unlock()
	g := cs.st.group
	if id < 0 || g.trunkServer != cs.st.id {
		return nil, fmt.Errorf("trunk fid %d from %s, trunk server %q: %w", id, cs.st.id, g.trunkServer, protocol.ErrInvalid)
	}
	if id > g.currentTrunkFileID {
		g.currentTrunkFileID = id
		s.dirty = true
		s.saveLogged()
	}
	return nil, nil
}

// reportTrunkFree: STORAGE_REPORT_TRUNK_FREE (74), from the trunk server
// only: the group's free trunk space in MB.
func (s *Server) reportTrunkFree(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 8 {
		return nil, fmt.Errorf("trunk free report of %d bytes: %w", len(body), protocol.ErrInvalid)
	}
	mb := int64(binary.BigEndian.Uint64(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	g := cs.st.group
	if mb < 0 || g.trunkServer != cs.st.id {
		return nil, fmt.Errorf("trunk free %d MB from %s, trunk server %q: %w", mb, cs.st.id, g.trunkServer, protocol.ErrInvalid)
	}
	g.trunkFreeMB = mb
	return nil, nil
}

// trunkServers renders the trunk server of every group for a follower's
// ping reply: group (16) + storage id (16, zeros for none) per group.
// The caller holds s.mu.
func (s *Server) trunkServers() []byte {
	e := protocol.NewEncoder(0)
	for _, g := range s.sortedGroups() {
		e.Fixed(g.name, protocol.GroupNameLen)
		e.Fixed(g.trunkServer, protocol.StorageIDSize)
	}
	return e.B
}

// learnTrunkServers applies the leader's ping reply on a follower, as
// upstream's tracker does: the followers list the same trunk servers, and
// one that becomes leader keeps them.
func (s *Server) learnTrunkServers(b []byte) {
	const entry = protocol.GroupNameLen + protocol.StorageIDSize
	if len(b) == 0 || len(b)%entry != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for ; len(b) > 0; b = b[entry:] {
		g := s.groups[protocol.CString(b[:protocol.GroupNameLen])]
		if g == nil || s.amLeader() {
			continue
		}
		if id := protocol.CString(b[protocol.GroupNameLen:entry]); id != g.trunkServer {
			if g.trunkServer != "" {
				g.lastTrunkServer = g.trunkServer
			}
			g.trunkServer = id
			changed = true
		}
	}
	if changed {
		s.dirty = true
		s.saveLogged()
	}
}

// setTrunkServerCmd: SERVER_SET_TRUNK_SERVER (94), an administrator's
// choice (fdfs_monitor set_trunk_server): group (16) + storage id (may
// be empty: keep an ACTIVE one or elect now). As upstream: EALREADY when
// it already is, EEXIST when another ACTIVE one is, ENOENT for an unknown
// storage, ENONET when it is not ACTIVE, EACCES when it takes no writes.
// The reply is the trunk server's id with its NUL.
func (s *Server) setTrunkServerCmd(body []byte) ([]byte, error) {
	if len(body) < protocol.GroupNameLen || len(body) >= protocol.GroupNameLen+protocol.StorageIDSize {
		return nil, fmt.Errorf("set trunk server body of %d bytes: %w", len(body), protocol.ErrInvalid)
	}
	name, id := protocol.CString(body[:protocol.GroupNameLen]), protocol.CString(body[protocol.GroupNameLen:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.UseTrunkFile || !s.amLeader() {
		return nil, fmt.Errorf("set trunk server: trunks off or not the leader: %w", protocol.ErrNotSupported)
	}
	g := s.groups[name]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", name, protocol.ErrNotFound)
	}
	cur := g.storages[g.trunkServer]
	reply := func(id string) []byte { return append([]byte(id), 0) }
	switch {
	case id == "" && cur != nil && cur.active():
		return reply(cur.id), nil
	case id == "":
		s.checkTrunkServers() // elects in the background
		return nil, fmt.Errorf("group %s: no trunk server yet, electing: %w", name, protocol.ErrAgain)
	case cur != nil && cur.active() && cur.id == id:
		return nil, fmt.Errorf("group %s: %s is the trunk server already: %w", name, id, protocol.ErrAlready)
	case cur != nil && cur.active():
		return nil, fmt.Errorf("group %s: trunk server %s is ACTIVE: %w", name, cur.id, protocol.ErrExists)
	}
	st := g.member(id)
	switch {
	case st == nil:
		return nil, fmt.Errorf("storage %q of group %s: %w", id, name, protocol.ErrNotFound)
	case !st.active():
		return nil, fmt.Errorf("storage %s is not ACTIVE: %w", id, protocol.StatusErr(protocol.ENONET))
	case st.rwMode&protocol.RWWrite == 0:
		return nil, fmt.Errorf("storage %s takes no writes: %w", id, protocol.ErrAccess)
	}
	s.setTrunkServer(g, id)
	return reply(id), nil
}
