package storagenode

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The storage-to-storage commands (REPORT_SERVER_ID, the SYNC_* commands,
// FETCH_ONE_PATH_BINLOG) write or reveal stored files without any token,
// so they are taken only from the storages the trackers list as members of
// our group: the connection must come from one of their addresses (the
// address the trackers see, or one that storage_ids.conf gives the
// member's id). A peer dials from the address it reports to the trackers
// (client_bind), upstream storages included, so mixed groups keep working.
// Everyone else gets EPERM.

// members is the set of addresses allowed to send sync commands.
type members map[netip.Addr]bool

// setMembers replaces the allowed addresses with those of the storages in
// briefs (a group list from the trackers), minus the deleted ones; ids
// maps a storage id to its configured IPs (id mode).
func (r *replicator) setMembers(briefs []protocol.Brief, ids map[string][]string) {
	m := members{}
	for _, b := range briefs {
		if b.Status == protocol.StatusDeleted || b.Status == protocol.StatusIPChanged {
			continue
		}
		m.add(strings.Split(b.IP, ","))
		if b.ID != "" {
			m.add(ids[b.ID])
		}
	}
	r.members.Store(&m)
}

func (m members) add(ips []string) {
	for _, ip := range ips {
		if a, err := netip.ParseAddr(strings.TrimSpace(ip)); err == nil {
			m[a.Unmap()] = true
		}
	}
}

// syncAllowed refuses with EPERM a storage-to-storage command from an
// address that is not a member of our group (or before the trackers told
// us the members).
func (s *Server) syncAllowed(cc *conn, cmd byte) error {
	if m := s.repl.members.Load(); m != nil && isMember(*m, cc.c.RemoteAddr()) {
		return nil
	}
	return fmt.Errorf("storage command %d from %s, not a storage of group %s: %w", cmd, remoteHost(cc.c.RemoteAddr()), s.cfg.GroupName, protocol.ErrPermission)
}

// isMember reports whether remote's IP is one of m's.
func isMember(m members, remote net.Addr) bool {
	ap, err := netip.ParseAddrPort(remote.String())
	return err == nil && m[ap.Addr().Unmap()]
}

// isMemberIP reports whether the trackers list ip as an address of a
// storage of our group (false before their first group list).
func (s *Server) isMemberIP(ip string) bool {
	m := s.repl.members.Load()
	a, err := netip.ParseAddr(ip)
	return m != nil && err == nil && (*m)[a.Unmap()]
}

// remoteHost is the host part of a peer's address (the client IP the
// access log and the refusals name).
func remoteHost(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
