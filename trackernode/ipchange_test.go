package trackernode

import (
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

func ipChanged(group, old, new string) []byte {
	return (&protocol.IPChangedReport{Group: group, OldIP: old, NewIP: new}).Encode()
}

// updateTarget asks QUERY_UPDATE for name: the storage that must take a
// change of the file (its source when that is active).
func updateTarget(t *testing.T, s *Server, name string) string {
	t.Helper()
	cl := dialFrom(t, "127.0.0.1", s.Addr())
	r, err := protocol.DecodeFetchReply(cl.ok(protocol.CmdQueryUpdate, (&protocol.FileQuery{Group: "group1", Filename: name}).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	return r.IP
}

// A storage whose address changed (IP mode) reports it before joining:
// its record moves to the new address with its state, files named after
// the old address keep it as their source, the other storages read the
// change from the changelog, and a restarted tracker still knows it.
func TestReportIPChanged(t *testing.T) {
	c := traceConfig(t, "ip")
	s := startServer(t, c)
	a := activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	b := activeStorage(t, s, "127.0.0.4", "group1", 23000, 1000, 900)
	old := fileName(t, "127.0.0.4", time.Now().Unix()-2*86400, false)
	if got := updateTarget(t, s, old); got != "127.0.0.4" {
		t.Fatalf("update of a file of 127.0.0.4 goes to %s", got)
	}

	rep := dialFrom(t, "127.0.0.5", s.Addr())
	refused := []struct {
		name string
		body []byte
		want byte
	}{
		{"short body", ipChanged("group1", "127.0.0.4", "127.0.0.5")[:60], protocol.EINVAL},
		{"new address not the reporter's", ipChanged("group1", "127.0.0.4", "127.0.0.6"), protocol.EINVAL},
		{"unknown group", ipChanged("group9", "127.0.0.4", "127.0.0.5"), protocol.ENOENT},
		{"unknown old address", ipChanged("group1", "127.0.0.9", "127.0.0.5"), protocol.ENOENT},
		{"old address still active", ipChanged("group1", "127.0.0.4", "127.0.0.5"), protocol.EBUSY},
	}
	for _, tc := range refused {
		if st, _ := rep.call(protocol.CmdStorageReportIPChanged, tc.body); st != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, st, tc.want)
		}
	}
	b.Conn.Close()
	testwait.Until(t, 10*time.Second, "127.0.0.4 OFFLINE", func() bool {
		return statusOf(t, s, "group1", "127.0.0.4") == protocol.StatusOffline
	})
	taken := dialFrom(t, "127.0.0.3", s.Addr())
	if st, _ := taken.call(protocol.CmdStorageReportIPChanged, ipChanged("group1", "127.0.0.4", "127.0.0.3")); st != protocol.EEXIST {
		t.Errorf("new address taken: status %d, want EEXIST", st)
	}

	rep.ok(protocol.CmdStorageReportIPChanged, ipChanged("group1", "127.0.0.4", "127.0.0.5"))
	if st, _ := rep.call(protocol.CmdStorageReportIPChanged, ipChanged("group1", "127.0.0.4", "127.0.0.5")); st != protocol.EALREADY {
		t.Errorf("second report: status %d, want EALREADY", st)
	}
	var ids []string
	for _, st := range listStorages(t, s, "group1") {
		ids = append(ids, st.ID+":"+protocol.StorageStatusName(st.Status))
	}
	if strings.Join(ids, " ") != "127.0.0.3:ACTIVE 127.0.0.4:IP_CHANGED 127.0.0.5:OFFLINE" {
		t.Fatalf("storages after the change: %v, want the old address kept as IP_CHANGED", ids)
	}
	if st := statusOf(t, s, "group1", "127.0.0.5"); st != protocol.StatusOffline {
		t.Fatalf("renamed storage is %s, want its old status OFFLINE", protocol.StorageStatusName(st))
	}
	a.ok(protocol.CmdStorageBeat, nil)
	chg := strings.Fields(string(a.ok(protocol.CmdStorageChangelogReq, nil)))
	if len(chg) != 5 || chg[1] != "group1" || chg[2] != "127.0.0.4" || chg[3] != "3" || chg[4] != "127.0.0.5" {
		t.Fatalf("changelog %q, want the address change", chg)
	}

	// The storage joins from its new address as the known storage.
	activeStorage(t, s, "127.0.0.5", "group1", 23000, 1000, 900)
	if got := updateTarget(t, s, old); got != "127.0.0.5" {
		t.Fatalf("update of a file named after the old address goes to %s, want the renamed storage", got)
	}
	s.Close()
	s2 := startServer(t, c)
	activeStorage(t, s2, "127.0.0.3", "group1", 23000, 1000, 900)
	activeStorage(t, s2, "127.0.0.5", "group1", 23000, 1000, 900)
	if got := updateTarget(t, s2, old); got != "127.0.0.5" {
		t.Fatalf("after a restart, update of a file named after the old address goes to %s", got)
	}
}

func TestReportIPChangedWithIDs(t *testing.T) {
	s := startServer(t, traceConfig(t, "id"))
	cl := dialFrom(t, "127.0.0.1", s.Addr())
	if st, _ := cl.call(protocol.CmdStorageReportIPChanged, ipChanged("group1", "127.0.0.4", "127.0.0.1")); st != protocol.EOPNOTSUPP {
		t.Fatalf("status %d, want EOPNOTSUPP (storages are known by id)", st)
	}
}

// rename moves every reference to a storage, and current finds it by any
// of its earlier addresses.
func TestGroupRename(t *testing.T) {
	g := newGroup("group1")
	a := &storage{id: "10.0.0.1", ip: "10.0.0.1", group: g, syncedFrom: map[string]int64{"10.0.0.2": 100}}
	b := &storage{id: "10.0.0.2", ip: "10.0.0.2", group: g, syncedFrom: map[string]int64{"10.0.0.1": 200}, syncSrcID: "10.0.0.1"}
	g.storages = map[string]*storage{a.id: a, b.id: b}
	g.trunkServer, g.lastTrunkServer = a.id, a.id
	g.resort()
	chg, trunkChg := g.chgCount, g.trunkChg

	g.rename(a, "10.0.0.7")
	switch {
	case g.storages["10.0.0.7"] != a || a.id != "10.0.0.7" || a.ip != "10.0.0.7":
		t.Fatalf("storages after the rename: %v", g.storages)
	case g.storages["10.0.0.1"] == nil || g.storages["10.0.0.1"].status != protocol.StatusIPChanged || g.member("10.0.0.1") != nil:
		t.Fatalf("no IP_CHANGED tombstone at the old address: %+v", g.storages["10.0.0.1"])
	case b.syncSrcID != "10.0.0.7" || b.syncedFrom["10.0.0.7"] != 200 || len(b.syncedFrom) != 1:
		t.Fatalf("the other storage's references: source %q, synced %v", b.syncSrcID, b.syncedFrom)
	case a.syncedFrom["10.0.0.2"] != 100:
		t.Fatalf("the renamed storage lost its own sync timestamps: %v", a.syncedFrom)
	case g.trunkServer != "10.0.0.7" || g.lastTrunkServer != "10.0.0.7" || g.trunkChg == trunkChg:
		t.Fatalf("trunk server %q (last %q), change count %d", g.trunkServer, g.lastTrunkServer, g.trunkChg)
	case g.chgCount == chg || len(g.sorted) != 3 || g.sorted[2] != a:
		t.Fatalf("membership change not announced or not re-sorted: %d, %v", g.chgCount, g.sorted)
	}

	g.rename(a, "10.0.0.9") // moved again
	for _, old := range []string{"10.0.0.1", "10.0.0.7", "10.0.0.9"} {
		if g.current(old) != a {
			t.Errorf("current(%s) does not find the storage moved twice", old)
		}
	}
	g.rename(a, "10.0.0.1") // and back to its first address
	if g.current("10.0.0.1") != a || g.current("10.0.0.9") != a || g.renamed.Current("10.0.0.1") != "10.0.0.1" {
		t.Errorf("back at its first address: renamed %v", g.renamed.Pairs())
	}
	if g.current("10.0.0.5") != nil {
		t.Error("current found a storage that never had the address")
	}
}

// In IP mode a storage's address is its id, which travels in 16-byte
// fields: an IPv6 address too long for one is refused (EINVAL, as a
// JOIN from it is) instead of being cut short in the group lists and
// refused in the data files at the next start.
func TestIPModeIDFitsItsField(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	cl := dialFrom(t, "127.0.0.5", s.Addr())
	for _, tc := range []struct {
		addr string
		id   string // "": refused with EINVAL
	}{
		{"192.168.100.200:23000", "192.168.100.200"},
		{"[::1]:23000", "::1"},
		{"[fd00::12:3456]:23000", "fd00::12:3456"},
		{"[2001:db8::1234:5678]:23000", ""},
		{"[2001:db8:85a3::8a2e:370:7334]:23000", ""},
	} {
		st, b := cl.call(protocol.CmdStorageGetServerID, (&protocol.GroupAndAddr{Group: "group1", Addr: tc.addr}).Encode())
		switch {
		case tc.id == "" && st != protocol.EINVAL:
			t.Errorf("%s: status %d, want EINVAL", tc.addr, st)
		case tc.id != "" && (st != 0 || string(b) != tc.id):
			t.Errorf("%s: status %d id %q, want %q", tc.addr, st, b, tc.id)
		}
	}
}
