package trackernode

import (
	"errors"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// node describes one storage of a test cluster built in memory.
type node struct {
	group, ip string
	status    byte    // 0 means ACTIVE
	rw        byte    // 0 means read+write; use rwNone for none
	prio      int64   // upload priority
	paths     []int64 // free MB per path (total 1000 each); nil = no report
	synced    int64   // last_synced_timestamp
}

const rwNone = 0xff

// now is the fixed clock of the policy tests.
var now = time.Unix(1_800_000_000, 0)

func cluster(t testing.TB, mut func(*conf.Tracker), nodes ...node) *Server {
	t.Helper()
	c := traceConfig(t, "ip")
	c.StoreLookup = 0
	if mut != nil {
		mut(c)
	}
	s, err := New(c, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	for _, n := range nodes {
		g := s.groups[n.group]
		if g == nil {
			g = newGroup(n.group)
			g.storePathCount, g.subdirCountPerPath = max(len(n.paths), 1), 256
			s.groups[n.group] = g
		}
		st := &storage{id: n.ip, ip: n.ip, group: g, status: n.status, rwMode: n.rw, port: 23000,
			uploadPriority: n.prio, storePathCount: max(len(n.paths), 1), subdirCountPerPath: 256,
			syncedFrom: map[string]int64{}}
		if st.status == 0 {
			st.status = protocol.StatusActive
		}
		switch st.rwMode {
		case 0:
			st.rwMode = protocol.RWRead | protocol.RWWrite
		case rwNone:
			st.rwMode = 0
		}
		for _, f := range n.paths {
			st.paths = append(st.paths, protocol.PathUsage{TotalMB: 1000, FreeMB: f})
			st.totalMB += 1000
			st.freeMB += f
		}
		st.stat.LastSyncedTimestamp = n.synced
		g.storages[st.id] = st
		g.resort()
	}
	return s
}

func storeOne(t *testing.T, s *Server, group string) (*protocol.StoreReply, error) {
	t.Helper()
	cmd, body := protocol.CmdQueryStoreWithoutGroupOne, []byte(nil)
	if group != "" {
		cmd, body = protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup(group)
	}
	b, err := s.queryStore(cmd, body)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeStoreReply(b)
}

func TestStoreSelection(t *testing.T) {
	type pick struct {
		group, ip string
		path      byte
	}
	tests := []struct {
		name  string
		mut   func(*conf.Tracker)
		nodes []node
		group string // 104 when set
		want  []pick
		err   error
	}{
		{"lookup round robin over groups", nil,
			[]node{{group: "g1", ip: "10.0.0.1"}, {group: "g2", ip: "10.0.0.2"}}, "",
			[]pick{{"g1", "10.0.0.1", 0}, {"g2", "10.0.0.2", 0}, {"g1", "10.0.0.1", 0}}, nil},
		{"lookup fixed group", func(c *conf.Tracker) { c.StoreLookup, c.StoreGroup = 1, "g2" },
			[]node{{group: "g1", ip: "10.0.0.1"}, {group: "g2", ip: "10.0.0.2"}}, "",
			[]pick{{"g2", "10.0.0.2", 0}, {"g2", "10.0.0.2", 0}}, nil},
		{"lookup fixed unknown group", func(c *conf.Tracker) { c.StoreLookup, c.StoreGroup = 1, "g9" },
			[]node{{group: "g1", ip: "10.0.0.1"}}, "", nil, protocol.ErrNotFound},
		{"lookup load balance", func(c *conf.Tracker) { c.StoreLookup = 2 },
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{300}}, {group: "g2", ip: "10.0.0.2", paths: []int64{900}}}, "",
			[]pick{{"g2", "10.0.0.2", 0}, {"g2", "10.0.0.2", 0}}, nil},
		{"skip group without writable storage", nil,
			[]node{{group: "g1", ip: "10.0.0.1", rw: protocol.RWRead}, {group: "g2", ip: "10.0.0.2"}}, "",
			[]pick{{"g2", "10.0.0.2", 0}, {"g2", "10.0.0.2", 0}}, nil},
		{"skip group below reserved space", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{50}}, {group: "g2", ip: "10.0.0.2", paths: []int64{500}}}, "",
			[]pick{{"g2", "10.0.0.2", 0}, {"g2", "10.0.0.2", 0}}, nil},
		{"skip group whose read-only member is below reserved space", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{500}}, {group: "g1", ip: "10.0.0.2", rw: protocol.RWRead, paths: []int64{50}},
				{group: "g2", ip: "10.0.0.3", paths: []int64{500}}}, "",
			[]pick{{"g2", "10.0.0.3", 0}, {"g2", "10.0.0.3", 0}}, nil},
		{"with group whose read-only member is below reserved", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{500}}, {group: "g1", ip: "10.0.0.2", rw: protocol.RWRead, paths: []int64{50}}},
			"g1", nil, protocol.ErrNoSpace},
		{"every group below reserved space", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{50}}}, "", nil, protocol.ErrNoSpace},
		{"absolute reserved space", func(c *conf.Tracker) { c.ReservedStorageSpace = conf.Reserved{Bytes: 600 << 20} },
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{500}}}, "", nil, protocol.ErrNoSpace},
		{"no active storage", nil,
			[]node{{group: "g1", ip: "10.0.0.1", status: protocol.StatusOffline}}, "", nil, protocol.ErrNotFound},
		{"no groups", nil, nil, "", nil, protocol.ErrNotFound},
		{"with unknown group", nil, []node{{group: "g1", ip: "10.0.0.1"}}, "nosuch", nil, protocol.ErrNotFound},
		{"with group below reserved", nil, []node{{group: "g1", ip: "10.0.0.1", paths: []int64{10}}}, "g1", nil, protocol.ErrNoSpace},
		{"server round robin", nil,
			[]node{{group: "g1", ip: "10.0.0.2"}, {group: "g1", ip: "10.0.0.1"}, {group: "g1", ip: "10.0.0.3", rw: protocol.RWRead}}, "g1",
			[]pick{{"g1", "10.0.0.1", 0}, {"g1", "10.0.0.2", 0}, {"g1", "10.0.0.1", 0}}, nil},
		{"nearly full group: one writer, the one with the least room", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{500}}, {group: "g1", ip: "10.0.0.2", paths: []int64{300}}}, "g1",
			[]pick{{"g1", "10.0.0.2", 0}, {"g1", "10.0.0.2", 0}, {"g1", "10.0.0.2", 0}}, nil},
		{"nearly full group, equal room: the first", nil,
			[]node{{group: "g1", ip: "10.0.0.2", paths: []int64{500}}, {group: "g1", ip: "10.0.0.1", paths: []int64{500}}}, "g1",
			[]pick{{"g1", "10.0.0.1", 0}, {"g1", "10.0.0.1", 0}}, nil},
		{"group with room to spare: round robin", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{1000, 1000, 1000, 1000, 1000, 1000}},
				{group: "g1", ip: "10.0.0.2", paths: []int64{1000, 1000, 1000, 1000, 1000, 900}}}, "g1",
			[]pick{{"g1", "10.0.0.1", 0}, {"g1", "10.0.0.2", 0}, {"g1", "10.0.0.1", 1}}, nil},
		{"server first", func(c *conf.Tracker) { c.StoreServer = 1 },
			[]node{{group: "g1", ip: "10.0.0.2"}, {group: "g1", ip: "10.0.0.1"}}, "g1",
			[]pick{{"g1", "10.0.0.1", 0}, {"g1", "10.0.0.1", 0}}, nil},
		{"server by priority", func(c *conf.Tracker) { c.StoreServer = 2 },
			[]node{{group: "g1", ip: "10.0.0.1", prio: 10}, {group: "g1", ip: "10.0.0.2", prio: 5}}, "g1",
			[]pick{{"g1", "10.0.0.2", 0}, {"g1", "10.0.0.2", 0}}, nil},
		{"path round robin", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{500, 500, 500}}}, "",
			[]pick{{"g1", "10.0.0.1", 0}, {"g1", "10.0.0.1", 1}, {"g1", "10.0.0.1", 2}, {"g1", "10.0.0.1", 0}}, nil},
		{"path round robin skips full path", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{500, 10, 500}}}, "",
			[]pick{{"g1", "10.0.0.1", 0}, {"g1", "10.0.0.1", 2}, {"g1", "10.0.0.1", 0}}, nil},
		{"path most free", func(c *conf.Tracker) { c.StorePath = 2 },
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{300, 800, 500}}}, "",
			[]pick{{"g1", "10.0.0.1", 1}, {"g1", "10.0.0.1", 1}}, nil},
		{"path round robin skips two full paths", nil,
			[]node{{group: "g1", ip: "10.0.0.1", paths: []int64{10, 10, 500}}}, "g1",
			[]pick{{"g1", "10.0.0.1", 2}, {"g1", "10.0.0.1", 2}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(t, tc.mut, tc.nodes...)
			if tc.err != nil {
				if _, err := storeOne(t, s, tc.group); !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			for i, w := range tc.want {
				r, err := storeOne(t, s, tc.group)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				if r.Group != w.group || r.IP != w.ip || r.StorePathIndex != w.path || r.Port != 23000 {
					t.Fatalf("query %d = %+v, want %+v", i, r, w)
				}
			}
		})
	}
}

// The ALL form lists every writable storage and does not move the round
// robin of the single form.
func TestStoreAll(t *testing.T) {
	s := cluster(t, nil, node{group: "g1", ip: "10.0.0.1"}, node{group: "g1", ip: "10.0.0.2"},
		node{group: "g1", ip: "10.0.0.3", rw: protocol.RWRead})
	b, err := s.queryStore(protocol.CmdQueryStoreWithGroupAll, protocol.EncodeGroup("g1"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := protocol.DecodeStoreAllReply(b)
	if err != nil || len(r.Servers) != 2 || r.Servers[0].IP != "10.0.0.1" || r.Servers[1].IP != "10.0.0.2" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, want := range []string{"10.0.0.1", "10.0.0.2"} {
		if _, err := s.queryStore(protocol.CmdQueryStoreWithoutGroupAll, nil); err != nil {
			t.Fatal(err)
		}
		if one, err := storeOne(t, s, ""); err != nil || one.IP != want {
			t.Fatalf("single query after ALL = %+v, %v; want %s", one, err, want)
		}
	}
}

func fileName(t *testing.T, srcIP string, ts int64, appender bool) string {
	t.Helper()
	src, err := fileid.SourceFromIP(srcIP)
	if err != nil {
		t.Fatal(err)
	}
	n, err := fileid.Generate(0, 0, 0, fileid.Fields{Source: src, Timestamp: ts, Size: 10, CRC32: 7, Appender: appender}, "txt")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReadRouting(t *testing.T) {
	const a, b = "10.0.0.1", "10.0.0.2"
	fresh := now.Unix() - 10        // younger than storage_sync_file_max_time (300 s)
	settled := now.Unix() - 600     // older than max_time, younger than max_delay
	ancient := now.Unix() - 2*86400 // older than storage_sync_file_max_delay
	slave := func(t *testing.T) string {
		n, err := fileid.SlaveName(fileName(t, a, ancient, false), "_big", "")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name  string
		mut   func(*conf.Tracker)
		nodes []node
		file  func(t *testing.T) string
		cmd   byte
		want  [][]string // per query: the storages answered
		err   error
	}{
		{"fresh file only on source", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, a, fresh, false) }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {a}, {a}}, nil},
		{"old file round robin", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, a, ancient, false) }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {b}, {a}}, nil},
		{"synced peer qualifies", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b, synced: fresh + 1}},
			func(t *testing.T) string { return fileName(t, a, fresh, false) }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {b}}, nil},
		{"synced to the second after max_time", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b, synced: settled - 1}},
			func(t *testing.T) string { return fileName(t, a, settled, false) }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {b}}, nil},
		{"not synced after max_time", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b, synced: settled - 2}},
			func(t *testing.T) string { return fileName(t, a, settled, false) }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {a}}, nil},
		{"source first", func(c *conf.Tracker) { c.DownloadServer = 1 }, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, b, ancient, false) }, protocol.CmdQueryFetchOne,
			[][]string{{b}, {b}, {b}}, nil},
		{"appender pinned to source", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, b, ancient, true) }, protocol.CmdQueryFetchOne,
			[][]string{{b}, {b}, {b}}, nil},
		{"slave pinned to source", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			slave, protocol.CmdQueryFetchOne, [][]string{{a}, {a}, {a}}, nil},
		{"source offline falls back to store server", nil,
			[]node{{group: "g1", ip: a, status: protocol.StatusOffline}, {group: "g1", ip: b}, {group: "g1", ip: "10.0.0.3"}},
			func(t *testing.T) string { return fileName(t, a, fresh, false) }, protocol.CmdQueryFetchOne,
			[][]string{{b}, {b}}, nil},
		// Decodes as an appender+slave name from a foreign source (trace
		// error_cases: upstream answered the store server twice).
		{"pinned name of unknown source goes to store server", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(*testing.T) string { return "M00/00/00/notexistnotexistnotexistnot123456.jpg" }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {a}, {a}}, nil},
		{"undecodable name goes to store server", nil, []node{{group: "g1", ip: b}, {group: "g1", ip: a}},
			func(*testing.T) string { return "M00/00/00/***************************123456.jpg" }, protocol.CmdQueryFetchOne,
			[][]string{{a}, {a}}, nil},
		{"fetch all fresh", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, b, fresh, false) }, protocol.CmdQueryFetchAll,
			[][]string{{b}}, nil},
		{"fetch all old", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}, {group: "g1", ip: "10.0.0.3", rw: protocol.RWWrite}},
			func(t *testing.T) string { return fileName(t, b, ancient, false) }, protocol.CmdQueryFetchAll,
			[][]string{{a, b}}, nil},
		{"fetch all appender", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, b, ancient, true) }, protocol.CmdQueryFetchAll,
			[][]string{{b}}, nil},
		{"update goes to source", nil, []node{{group: "g1", ip: a}, {group: "g1", ip: b}},
			func(t *testing.T) string { return fileName(t, b, ancient, false) }, protocol.CmdQueryUpdate,
			[][]string{{b}, {b}}, nil},
		{"update without active source", nil,
			[]node{{group: "g1", ip: a}, {group: "g1", ip: b, status: protocol.StatusOffline}, {group: "g1", ip: "10.0.0.3"}},
			func(t *testing.T) string { return fileName(t, b, ancient, false) }, protocol.CmdQueryUpdate,
			[][]string{{a}, {"10.0.0.3"}}, nil},
		{"no readable storage", nil, []node{{group: "g1", ip: a, rw: protocol.RWWrite}},
			func(t *testing.T) string { return fileName(t, a, ancient, false) }, protocol.CmdQueryFetchOne, nil, protocol.ErrNotFound},
		{"unknown group", nil, []node{{group: "g2", ip: a}},
			func(t *testing.T) string { return fileName(t, a, ancient, false) }, protocol.CmdQueryFetchOne, nil, protocol.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(t, tc.mut, tc.nodes...)
			body := (&protocol.FileQuery{Group: "g1", Filename: tc.file(t)}).Encode()
			if tc.err != nil {
				if _, err := s.queryFetch(tc.cmd, body); !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			for i, want := range tc.want {
				b, err := s.queryFetch(tc.cmd, body)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				var got []string
				if tc.cmd == protocol.CmdQueryFetchAll {
					r, err := protocol.DecodeFetchAllReply(b)
					if err != nil {
						t.Fatal(err)
					}
					for _, sv := range r.Servers {
						got = append(got, sv.IP)
					}
				} else {
					r, err := protocol.DecodeFetchReply(b)
					if err != nil {
						t.Fatal(err)
					}
					got = []string{r.IP}
				}
				if len(got) != len(want) {
					t.Fatalf("query %d = %v, want %v", i, got, want)
				}
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("query %d = %v, want %v", i, got, want)
					}
				}
			}
		})
	}
}

// last_synced_timestamp is the minimum over active sources with round-robin
// uploads, the maximum otherwise.
func TestSyncedTimestamp(t *testing.T) {
	for _, tc := range []struct {
		storeServer conf.StoreServerMode
		want        int64
	}{{0, 100}, {1, 300}} {
		s := cluster(t, func(c *conf.Tracker) { c.StoreServer = tc.storeServer },
			node{group: "g1", ip: "10.0.0.1"}, node{group: "g1", ip: "10.0.0.2"}, node{group: "g1", ip: "10.0.0.3"},
			node{group: "g1", ip: "10.0.0.4", status: protocol.StatusOffline})
		g := s.groups["g1"]
		dest := g.storages["10.0.0.1"]
		cs := &conn{st: dest}
		body := protocol.EncodeSyncReport([]protocol.SyncTimestamp{
			{SrcID: "10.0.0.2", Timestamp: 100}, {SrcID: "10.0.0.3", Timestamp: 300},
			{SrcID: "10.0.0.4", Timestamp: 50}, {SrcID: "10.0.0.1", Timestamp: 999}, {SrcID: "unknown", Timestamp: 1}})
		if _, err := s.syncReport(cs, body); err != nil {
			t.Fatal(err)
		}
		if got := dest.stat.LastSyncedTimestamp; got != tc.want {
			t.Errorf("store_server=%d: last_synced_timestamp = %d, want %d", tc.storeServer, got, tc.want)
		}
	}
}
