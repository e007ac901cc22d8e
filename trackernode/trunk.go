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
	if ts := g.storages[g.trunkServer]; ts != nil {
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
