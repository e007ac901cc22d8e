package trackernode

import (
	"net"
	"strconv"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A restarted tracker takes the storages it saw ACTIVE just before it
// stopped as ACTIVE (restoredStatus) so that it places and routes at once.
// Until such a storage joins again, the tracker checks every probeInterval
// that it still answers (a connection and an ACTIVE_TEST on its port):
// one that does not is OFFLINE at once, instead of at the end of
// check_active_interval, so that a storage that stopped while the tracker
// was down, or before it rejoined, gets no requests.

const (
	probeInterval = time.Second
	probeTimeout  = time.Second // connect, then the ACTIVE_TEST round trip
)

// probeRestored checks, in the background, the ACTIVE storages that have
// not joined this tracker since it started; the caller holds s.mu.
func (s *Server) probeRestored() {
	for _, g := range s.groups {
		for _, st := range g.sorted {
			if st.active() && st.owner == nil && !st.probing {
				st.probing = true
				addr := net.JoinHostPort(st.ip, strconv.Itoa(st.port))
				s.wg.Add(1)
				go s.probe(st, addr)
			}
		}
	}
}

// probe runs one check of st at addr and turns it OFFLINE when it does not
// answer and has not joined meanwhile.
func (s *Server) probe(st *storage, addr string) {
	defer s.wg.Done()
	err := activeTest(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.probing = false
	if err == nil || !st.active() || st.owner != nil || st.group.storages[st.id] != st {
		return
	}
	s.log.Warn("storage restored from the saved state does not answer, now OFFLINE", "group", st.group.name, "id", st.id, "err", err)
	s.setStatus(st, protocol.StatusOffline)
	s.saveLogged()
}

// activeTest connects to a storage and runs ACTIVE_TEST.
func activeTest(addr string) error {
	c, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(probeTimeout))
	if err := protocol.WritePacket(c, protocol.CmdActiveTest, 0, nil); err != nil {
		return err
	}
	_, err = protocol.ReadResponse(c, 0)
	return err
}
