package trackernode

import (
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// detached is how many connections serveConn holds (those the event loop
// handed over).
func (s *Server) detached() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.conns)
}

// TestLoopKeepsClients: the commands clients send outside file queries
// (fastdfs-client-java fetches the storage ids first on every tracker
// connection; tools list groups and storages, read the parameters) are
// answered on the event loop, so that the connection stays there for the
// queries that follow; the first command that needs the connection's
// state (a JOIN) moves it to serveConn, where the same commands still
// answer.
func TestLoopKeepsClients(t *testing.T) {
	s := startServer(t, traceConfig(t, "id"))
	activeStorage(t, s, "127.0.0.1", "group1", 23000, 1000, 900)
	base := s.detached() // the storage's joined connection

	c := dialFrom(t, "127.0.0.1", s.Addr())
	stateless := []struct {
		cmd  byte
		body []byte
	}{
		{protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 0, 1}},
		{protocol.CmdServerListAllGroups, nil},
		{protocol.CmdServerListOneGroup, protocol.EncodeGroup("group1")},
		{protocol.CmdServerListStorage, protocol.EncodeGroup("group1")},
		{protocol.CmdStorageParameterReq, nil},
		{protocol.CmdStorageGetServerID, (&protocol.GroupAndAddr{Group: "group1", Addr: "127.0.0.1:23000"}).Encode()},
		{protocol.CmdServerStorageClusterStat, []byte{0, 0, 0, 0}}, // no filter
		{protocol.CmdQueryStoreWithoutGroupOne, nil},
		{protocol.CmdActiveTest, nil},
	}
	for _, r := range stateless {
		c.ok(r.cmd, r.body)
		if n := s.detached(); n != base {
			t.Fatalf("after cmd %d the connection left the loop (%d connections in serveConn, want %d)", r.cmd, n, base)
		}
	}
	// Bad bodies get EINVAL on the loop, and the connection goes on there.
	for _, r := range []struct {
		cmd  byte
		body []byte
	}{
		{protocol.CmdStorageFetchStorageIDs, []byte{1}},
		{protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 9, 0}}, // start past the end
		{protocol.CmdServerListStorage, []byte("g")},
		{protocol.CmdServerStorageClusterStat, nil},
		{protocol.CmdStorageGetServerID, []byte("group1")},
	} {
		if st, _ := c.call(r.cmd, r.body); st != protocol.EINVAL {
			t.Fatalf("cmd %d with body %q: status %d, want EINVAL", r.cmd, r.body, st)
		}
	}
	if n := s.detached(); n != base {
		t.Fatalf("after bad bodies the connection left the loop (%d connections in serveConn, want %d)", n, base)
	}
	ids, err := protocol.DecodeStorageIDsReply(c.ok(protocol.CmdStorageFetchStorageIDs, []byte{0, 0, 0, 0, 1}))
	if err != nil || ids.Total != 2 || len(ids.Lines) != 2 {
		t.Fatalf("storage ids from the loop: %+v %v", ids, err)
	}

	// A JOIN needs the connection's state: serveConn takes it over, and
	// answers the stateless commands there as well.
	if st, _ := c.call(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, "")); st != 0 {
		t.Fatalf("JOIN: status %d", st)
	}
	if n := s.detached(); n != base+1 {
		t.Fatalf("after JOIN %d connections in serveConn, want %d", n, base+1)
	}
	for _, r := range stateless {
		c.ok(r.cmd, r.body)
	}
}

// TestStorageClusterFilter: SERVER_STORAGE_CLUSTER_STAT's filter as
// upstream's tracker applies it (fdfs_storage_stat -A, -N, -T, -t): the
// bit values of FDFS_STORAGE_STAT_FILTER_BY_*, '=' and '!' on the status
// (any other operator lists nothing), and the trunk filter ignored while
// trunk files are off.
func TestStorageClusterFilter(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	activeStorage(t, s, "127.0.0.1", "group1", 23000, 1000, 900)
	dialFrom(t, "127.0.0.3", s.Addr()).ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	c := dialFrom(t, "127.0.0.1", s.Addr())
	const active, trunk, status = protocol.StatusActive, protocol.StorageFilterTrunkServer, protocol.StorageFilterStatus
	for _, tc := range []struct {
		name   string
		filter protocol.StorageClusterFilter
		want   []string
	}{
		{"none", protocol.StorageClusterFilter{}, []string{"127.0.0.1:23000", "127.0.0.3:23000"}},
		{"active (-A)", protocol.StorageClusterFilter{FilterBy: status, OpType: '=', Status: active}, []string{"127.0.0.1:23000"}},
		{"not active (-N)", protocol.StorageClusterFilter{FilterBy: status, OpType: '!', Status: active}, []string{"127.0.0.3:23000"}},
		{"unknown operator", protocol.StorageClusterFilter{FilterBy: status, OpType: '<', Status: active}, nil},
		{"trunk servers (-T), trunk off", protocol.StorageClusterFilter{FilterBy: trunk, IsTrunkServer: 1}, []string{"127.0.0.1:23000", "127.0.0.3:23000"}},
		{"-A and -t", protocol.StorageClusterFilter{FilterBy: status | trunk, OpType: '=', Status: active}, []string{"127.0.0.1:23000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := protocol.DecodeStorageClusterStat(c.ok(protocol.CmdServerStorageClusterStat, tc.filter.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range r.Storages {
				got = append(got, st.Host)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
		})
	}
}
