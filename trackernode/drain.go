package trackernode

import (
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Draining a storage (an extension of ours: command SERVER_DRAIN_STORAGE,
// `fdfs drain`) takes it out of service without a failed client request,
// before it is stopped for an upgrade or replaced (docs/migration.md):
//   - it gets no more uploads (it is not writable for placement);
//   - reads and changes of its files go to another member once that one
//     has received the file (its SYNC_REPORT from the drained storage has
//     passed the file's creation time), to it until then;
//   - it is drained once every other ACTIVE member has received all it
//     wrote: their timestamps from it have reached its last source update,
//     as reported by a beat that came after the drain began, and that
//     update is drainSettle old (timestamps are whole seconds).
//
// The state lives in this tracker's memory only: `fdfs drain` sets it on
// every tracker of client.conf, and a restarted tracker forgets it.

// drainSettle is how old a drained storage's last update must be before
// the records of that second count as replicated (seconds).
const drainSettle = 3

// serverDrainStorage serves SERVER_DRAIN_STORAGE: body group (16), storage
// id or IP (16), op (1: 0 query, 1 drain, 2 undrain); the reply is the
// drain state (1 byte).
func (s *Server) serverDrainStorage(body []byte) ([]byte, error) {
	req, err := protocol.DecodeDrainRequest(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.findMember(req.Group, req.Storage)
	if err != nil {
		st, err = s.findStorageByIP(req.Group, req.Storage, err)
	}
	if err != nil {
		return nil, err
	}
	g := st.group
	switch req.Op {
	case protocol.DrainStart:
		if st.drainSince == 0 {
			st.drainSince = s.now().Unix()
			g.changed()
			s.log.Info("draining storage", "group", g.name, "id", st.id)
		}
	case protocol.DrainStop:
		if st.drainSince != 0 {
			st.drainSince = 0
			g.changed()
			s.log.Info("storage back in service", "group", g.name, "id", st.id)
		}
	}
	return []byte{s.drainState(st)}, nil
}

// findStorageByIP looks a member of group up by IP, returning notFound
// when none has it.
func (s *Server) findStorageByIP(group, ip string, notFound error) (*storage, error) {
	if g := s.groups[group]; g != nil {
		for _, st := range g.sorted {
			if st.ip == ip && !st.tombstone() {
				return st, nil
			}
		}
	}
	return nil, notFound
}

// drainState says where st stands; the caller holds s.mu.
func (s *Server) drainState(st *storage) byte {
	if !st.draining() {
		return protocol.DrainNone
	}
	last := st.stat.LastSourceUpdate
	if st.stat.LastHeartBeatTime <= st.drainSince || s.now().Unix()-last < drainSettle {
		return protocol.DrainOngoing
	}
	for _, p := range st.group.sorted {
		if p != st && p.active() && last > 0 && p.syncedFrom[st.id] < last {
			return protocol.DrainOngoing
		}
	}
	return protocol.DrainComplete
}

// holders returns the ACTIVE, readable members other than fs's source
// that have received fs's file (their timestamp from the source has passed
// the file's creation), when that source is draining; nil otherwise, or
// when none has it yet. Appender and slave files stay with their source.
// The caller holds s.mu.
func (s *Server) holders(g *group, fs fileSource) []*storage {
	if fs.src == nil || !fs.src.draining() || fs.pinned {
		return nil
	}
	var out []*storage
	for _, st := range g.sorted {
		if st != fs.src && st.readable() && !st.draining() && st.syncedFrom[fs.src.id] > fs.timestamp {
			out = append(out, st)
		}
	}
	return out
}

// draining reports whether st is being drained (or is drained).
func (st *storage) draining() bool { return st.drainSince != 0 }
