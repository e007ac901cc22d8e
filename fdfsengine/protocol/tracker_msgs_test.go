package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// codec decodes a body and re-encodes the result.
type codec func(body []byte) (v any, reencoded []byte, err error)

func groupOnly(b []byte) (any, []byte, error) {
	g, err := protocol.DecodeGroup(b)
	return g, protocol.EncodeGroup(g), err
}

func empty(b []byte) (any, []byte, error) {
	if len(b) != 0 {
		return nil, nil, errors.New("body not empty")
	}
	return nil, []byte{}, nil
}

func text(b []byte) (any, []byte, error) { return string(b), []byte(string(b)), nil }

func changeNotice(b []byte) (any, []byte, error) {
	c, err := protocol.DecodeChangeNotice(b)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Encode(), nil
}

// Request and response codecs of every tracker-directed command, keyed by
// command code. ipSize is IPv4 in every trace.
var (
	ipSize      = protocol.IPv4AddrSize
	reqCodecs   = map[byte]codec{}
	respCodecs  = map[byte]codec{}
	cStringOnly = map[byte]bool{ // replies with non-zeroed padding after string NULs
		protocol.CmdServerTrackerClusterStat: true,
		protocol.CmdServerStorageClusterStat: true,
		protocol.CmdServerStorageVolumeStat:  true,
	}
)

func init() {
	for _, c := range []byte{protocol.CmdQueryStoreWithoutGroupOne, protocol.CmdQueryStoreWithoutGroupAll,
		protocol.CmdServerListAllGroups, protocol.CmdServerGetLeader, protocol.CmdActiveTest,
		protocol.CmdStorageParameterReq, protocol.CmdStorageSyncDestReq, protocol.CmdQuit} {
		reqCodecs[c] = empty
	}
	for _, c := range []byte{protocol.CmdQueryStoreWithGroupOne, protocol.CmdQueryStoreWithGroupAll,
		protocol.CmdServerListOneGroup} {
		reqCodecs[c] = groupOnly
	}
	for _, c := range []byte{protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate, protocol.CmdQueryFetchAll} {
		reqCodecs[c] = func(b []byte) (any, []byte, error) {
			q, err := protocol.DecodeFileQuery(b)
			if err != nil {
				return nil, nil, err
			}
			return q, q.Encode(), nil
		}
	}
	reqCodecs[protocol.CmdServerListStorage] = func(b []byte) (any, []byte, error) {
		g, err := protocol.DecodeGroupAndID(b, false)
		if err != nil {
			return nil, nil, err
		}
		return g, g.Encode(), nil
	}
	reqCodecs[protocol.CmdServerTrackerClusterStat] = func(b []byte) (any, []byte, error) {
		f, err := protocol.DecodeTrackerClusterFilter(b)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Encode(), nil
	}
	reqCodecs[protocol.CmdServerStorageClusterStat] = func(b []byte) (any, []byte, error) {
		f, err := protocol.DecodeStorageClusterFilter(b)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Encode(), nil
	}
	reqCodecs[protocol.CmdServerStorageVolumeStat] = func(b []byte) (any, []byte, error) {
		f, err := protocol.DecodeVolumeFilter(b)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageGetMyIP] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeGetMyIPRequest(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageFetchStorageIDs] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeFetchStorageIDsRequest(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageGetServerID] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeGroupAndAddr(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageJoin] = func(b []byte) (any, []byte, error) {
		j, err := protocol.DecodeJoinRequest(b)
		if err != nil {
			return nil, nil, err
		}
		return j, j.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageBeat] = func(b []byte) (any, []byte, error) {
		if len(b) == 0 {
			return nil, []byte{}, nil
		}
		s, err := protocol.DecodeStatBlock(b)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageReportDiskUsage] = func(b []byte) (any, []byte, error) {
		u, err := protocol.DecodeDiskUsage(b)
		return u, protocol.EncodeDiskUsage(u), err
	}
	reqCodecs[protocol.CmdStorageSyncReport] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeSyncReport(b)
		return r, protocol.EncodeSyncReport(r), err
	}
	reqCodecs[protocol.CmdStorageSyncNotify] = func(b []byte) (any, []byte, error) {
		s, err := protocol.DecodeSyncSource(b)
		return s, protocol.EncodeSyncSource(s), err
	}
	reqCodecs[protocol.CmdStorageSyncSrcReq] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeSyncSrcRequest(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageReportStatus] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeReportStatus(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageReplicaChg] = func(b []byte) (any, []byte, error) {
		bs, err := protocol.DecodeBriefs(b)
		return bs, protocol.EncodeBriefs(bs), err
	}
	reqCodecs[protocol.CmdStorageReportIPChanged] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeIPChangedReport(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	reqCodecs[protocol.CmdStorageChangelogReq] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeChangelogRequest(b)
		if err != nil || r == nil {
			return r, []byte{}, err
		}
		return r, r.Encode(), nil
	}

	storeOne := func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeStoreReply(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(ipSize), nil
	}
	storeAll := func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeStoreAllReply(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(ipSize), nil
	}
	fetchOne := func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeFetchReply(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(ipSize), nil
	}
	respCodecs[protocol.CmdQueryStoreWithoutGroupOne] = storeOne
	respCodecs[protocol.CmdQueryStoreWithGroupOne] = storeOne
	respCodecs[protocol.CmdQueryStoreWithoutGroupAll] = storeAll
	respCodecs[protocol.CmdQueryStoreWithGroupAll] = storeAll
	respCodecs[protocol.CmdQueryFetchOne] = fetchOne
	respCodecs[protocol.CmdQueryUpdate] = fetchOne
	respCodecs[protocol.CmdQueryFetchAll] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeFetchAllReply(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(ipSize), nil
	}
	groups := func(b []byte) (any, []byte, error) {
		g, err := protocol.DecodeGroupStats(b)
		return g, protocol.EncodeGroupStats(g), err
	}
	respCodecs[protocol.CmdServerListOneGroup] = groups
	respCodecs[protocol.CmdServerListAllGroups] = groups
	respCodecs[protocol.CmdServerListStorage] = func(b []byte) (any, []byte, error) {
		s, err := protocol.DecodeStorageStats(b)
		return s, protocol.EncodeStorageStats(s, ipSize), err
	}
	respCodecs[protocol.CmdServerGetLeader] = func(b []byte) (any, []byte, error) {
		ip, port, err := protocol.ParseHostPort(string(b))
		return ip, []byte(protocol.FormatHostPort(ip, port)), err
	}
	respCodecs[protocol.CmdServerTrackerClusterStat] = func(b []byte) (any, []byte, error) {
		t, err := protocol.DecodeTrackerClusterStat(b)
		return t, protocol.EncodeTrackerClusterStat(t), err
	}
	respCodecs[protocol.CmdServerStorageClusterStat] = func(b []byte) (any, []byte, error) {
		s, err := protocol.DecodeStorageClusterStat(b)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Encode(), nil
	}
	respCodecs[protocol.CmdServerStorageVolumeStat] = func(b []byte) (any, []byte, error) {
		v, err := protocol.DecodeVolumeStat(b)
		if err != nil {
			return nil, nil, err
		}
		return v, v.Encode(), nil
	}
	for _, c := range []byte{protocol.CmdActiveTest, protocol.CmdStorageSyncNotify, protocol.CmdStorageReportStatus,
		protocol.CmdStorageReplicaChg, protocol.CmdStorageChangelogReq} {
		respCodecs[c] = empty
	}
	respCodecs[protocol.CmdStorageGetMyIP] = text
	respCodecs[protocol.CmdStorageGetServerID] = text
	respCodecs[protocol.CmdStorageParameterReq] = func(b []byte) (any, []byte, error) {
		p, err := protocol.DecodeParams(b)
		return p, p.Encode(), err
	}
	respCodecs[protocol.CmdStorageFetchStorageIDs] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeStorageIDsReply(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	respCodecs[protocol.CmdStorageJoin] = func(b []byte) (any, []byte, error) {
		r, err := protocol.DecodeJoinResponse(b)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Encode(), nil
	}
	for _, c := range []byte{protocol.CmdStorageBeat, protocol.CmdStorageReportDiskUsage, protocol.CmdStorageSyncReport} {
		respCodecs[c] = changeNotice
	}
	syncSrc := func(b []byte) (any, []byte, error) {
		s, err := protocol.DecodeSyncSource(b)
		return s, protocol.EncodeSyncSource(s), err
	}
	respCodecs[protocol.CmdStorageSyncDestReq] = syncSrc
	respCodecs[protocol.CmdStorageSyncSrcReq] = syncSrc
}

// Every tracker-directed exchange of the traces decodes with the codecs and
// re-encodes byte-identically, except the 96/97/98 replies whose string
// padding is garbage: those must survive decode → encode → decode.
func TestTrackerTraces(t *testing.T) {
	all, err := tracefile.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[byte]int{}
	for _, ex := range all {
		if !strings.HasSuffix(ex.To, ":22122") {
			continue
		}
		seen[ex.Cmd]++
		check := func(what string, c codec, pkt []byte, garbage bool) {
			if c == nil {
				t.Errorf("%s: no %s codec for cmd %d", ex.Path, what, ex.Cmd)
				return
			}
			body := pkt[protocol.HeaderSize:]
			v, re, err := c(body)
			if err != nil {
				t.Errorf("%s: %s: %v", ex.Path, what, err)
				return
			}
			if bytes.Equal(re, body) {
				return
			}
			if !garbage {
				t.Errorf("%s: %s re-encodes differently:\n got %x\nwant %x", ex.Path, what, re, body)
				return
			}
			v2, _, err := c(re)
			if err != nil || !reflect.DeepEqual(v, v2) {
				t.Errorf("%s: %s does not survive a round trip: %v", ex.Path, what, err)
			}
		}
		check("request", reqCodecs[ex.Cmd], ex.Request, false)
		if ex.Response == nil {
			continue
		}
		h, _ := protocol.DecodeHeader(ex.Response)
		if h.Status != 0 {
			continue
		}
		check("response", respCodecs[ex.Cmd], ex.Response, cStringOnly[ex.Cmd])
	}
	for _, c := range []byte{protocol.CmdStorageJoin, protocol.CmdStorageBeat, protocol.CmdServerListStorage,
		protocol.CmdServerStorageVolumeStat, protocol.CmdStorageSyncSrcReq, protocol.CmdStorageGetServerID} {
		if seen[c] == 0 {
			t.Errorf("no trace of cmd %d checked", c)
		}
	}
}

// Field-level checks of a few trace records, so a codec with consistently
// wrong offsets cannot pass the round trip alone.
func TestTrackerTraceFields(t *testing.T) {
	body := func(mode, name string, resp bool) []byte {
		t.Helper()
		ex, err := tracefile.Named(mode, name)
		if err != nil {
			t.Fatal(err)
		}
		if resp {
			return ex.Response[protocol.HeaderSize:]
		}
		return ex.Request[protocol.HeaderSize:]
	}
	j, err := protocol.DecodeJoinRequest(body("id", "STORAGE_JOIN", false))
	if err != nil {
		t.Fatal(err)
	}
	if j.Group != "group1" || j.StoragePort != 23000 || j.StorePathCount != 1 || j.SubdirCountPerPath != 256 ||
		j.UploadPriority != 10 || j.Version != "6.16.1" || !j.InitFlag || j.StorageID != "100001" ||
		j.CurrentTrackerIP != "127.0.0.2" || len(j.Trackers) != 1 || j.Trackers[0] != "127.0.0.2:22122" {
		t.Errorf("join = %+v", j)
	}
	gs, err := protocol.DecodeGroupStats(body("id", "SERVER_LIST_ONE_GROUP", true))
	if err != nil || len(gs) != 1 {
		t.Fatal(err, gs)
	}
	if g := gs[0]; g.Name != "group1" || g.StoragePort != -1 || g.StorageCount != 2 || g.ReadableCount != 2 ||
		g.WritableCount != 2 || g.SubdirCountPerPath != 256 || g.CurrentTrunkFileID != -1 {
		t.Errorf("group stat = %+v", g)
	}
	ss, err := protocol.DecodeStorageStats(body("ip", "SERVER_LIST_STORAGE", true))
	if err != nil || len(ss) != 2 {
		t.Fatal(err, len(ss))
	}
	if s := ss[0]; s.Status != protocol.StatusActive || s.RWMode != 6 || s.IP != "127.0.0.3" ||
		s.StoragePort != 23000 || s.Version != "6.16.1" || s.Stat.LastHeartBeatTime == 0 {
		t.Errorf("storage stat = %+v", s)
	}
	if ss[1].SrcID != "127.0.0.3" {
		t.Errorf("second storage src = %q", ss[1].SrcID)
	}
	c, err := protocol.DecodeChangeNotice(body("ip", "all/0051_start_storage1_STORAGE_BEAT", true))
	if err != nil {
		t.Fatal(err)
	}
	if c.Flags != protocol.ChangeLeader|protocol.ChangeGroup || c.Leader.ID != "127.0.0.2" || c.Leader.Port != 22122 ||
		len(c.Storages) != 2 || c.Storages[1].IP != "127.0.0.4" || c.Storages[1].Status != protocol.StatusWaitSync {
		t.Errorf("change notice = %+v", c)
	}
	ts, err := protocol.DecodeTrackerClusterStat(body("ip", "SERVER_TRACKER_CLUSTER_STAT", true))
	if err != nil || len(ts) != 1 || ts[0].Host != "127.0.0.2:22122" || !ts[0].IsLeader || ts[0].Version != "6.16.1" {
		t.Errorf("tracker cluster = %+v, %v", ts, err)
	}
	sc, err := protocol.DecodeStorageClusterStat(body("ip", "SERVER_STORAGE_CLUSTER_STAT", true))
	if err != nil || len(sc.Storages) != 2 || sc.Storages[0].ID != "127.0.0.3" || sc.Storages[1].Host != "127.0.0.4:23000" {
		t.Errorf("storage cluster = %+v, %v", sc, err)
	}
	vs, err := protocol.DecodeVolumeStat(body("ip", "SERVER_STORAGE_VOLUMN_STAT", true))
	if err != nil || len(vs.Groups) != 1 || vs.Groups[0].Group != "group1" ||
		vs.Groups[0].AvailMB != vs.Groups[0].FreeMB-vs.Groups[0].ReservedMB {
		t.Errorf("volume stat = %+v, %v", vs, err)
	}
	p, err := protocol.DecodeParams(body("ip", "STORAGE_PARAMETER_REQ", true))
	if err != nil || p[0].Key != "use_storage_id" || p.Get("reserved_storage_space") != "10.00%" || len(p) != 26 {
		t.Errorf("params = %v, %v", p, err)
	}
}

// IPv6-width replies decode by length and round-trip.
func TestQueryRepliesIPv6(t *testing.T) {
	v6 := protocol.IPv6AddrSize
	sr := &protocol.StoreReply{Group: "g", IP: "fe80::1", Port: 23000, StorePathIndex: 3}
	b := sr.Encode(v6)
	if len(b) != 70 {
		t.Fatalf("store reply %d bytes", len(b))
	}
	if got, err := protocol.DecodeStoreReply(b); err != nil || *got != *sr {
		t.Errorf("got %+v, %v", got, err)
	}
	fa := &protocol.FetchAllReply{Group: "g", Servers: []protocol.StorageAddr{{IP: "::1", Port: 1}, {IP: "::2", Port: 2}}}
	b = fa.Encode(v6)
	if len(b) != 16+2*53 {
		t.Fatalf("fetch all %d bytes", len(b))
	}
	if got, err := protocol.DecodeFetchAllReply(b); err != nil || !reflect.DeepEqual(got, fa) {
		t.Errorf("got %+v, %v", got, err)
	}
	ss := []protocol.StorageStat{{Status: 7, ID: "1", IP: "::1", StoragePort: 23000}}
	b = protocol.EncodeStorageStats(ss, v6)
	if len(b) != protocol.StorageStatSizeV6 || protocol.StorageStatSizeV6 != 517 {
		t.Fatalf("storage stat %d bytes", len(b))
	}
	if got, err := protocol.DecodeStorageStats(b); err != nil || !reflect.DeepEqual(got, ss) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestTrackerMsgErrors(t *testing.T) {
	tests := []struct {
		name string
		f    func() error
	}{
		{"file query short", func() error { _, err := protocol.DecodeFileQuery(make([]byte, 37)); return err }},
		{"file query long", func() error { _, err := protocol.DecodeFileQuery(make([]byte, 144)); return err }},
		{"group wrong size", func() error { _, err := protocol.DecodeGroup(make([]byte, 15)); return err }},
		{"join short", func() error { _, err := protocol.DecodeJoinRequest(make([]byte, 100)); return err }},
		{"join zero trackers", func() error {
			j := (&protocol.JoinRequest{Group: "g", Trackers: []string{"a:1"}}).Encode()
			j[protocol.JoinFixedSize-1] = 0
			_, err := protocol.DecodeJoinRequest(j)
			return err
		}},
		{"join line mismatch", func() error {
			j := (&protocol.JoinRequest{Group: "g", Trackers: []string{"a:1"}}).Encode()
			_, err := protocol.DecodeJoinRequest(append(j, "b:2\n"...))
			return err
		}},
		{"stat block size", func() error { _, err := protocol.DecodeStatBlock(make([]byte, 347)); return err }},
		{"briefs size", func() error { _, err := protocol.DecodeBriefs(make([]byte, 66)); return err }},
		{"notice empty", func() error { _, err := protocol.DecodeChangeNotice(nil); return err }},
		{"notice short", func() error { _, err := protocol.DecodeChangeNotice([]byte{1, 0}); return err }},
		{"disk usage empty", func() error { _, err := protocol.DecodeDiskUsage(nil); return err }},
		{"sync source size", func() error { _, err := protocol.DecodeSyncSource(make([]byte, 23)); return err }},
		{"storage stats size", func() error { _, err := protocol.DecodeStorageStats(make([]byte, 488)); return err }},
		{"group and id long", func() error { _, err := protocol.DecodeGroupAndID(make([]byte, 33), false); return err }},
		{"group and id missing", func() error { _, err := protocol.DecodeGroupAndID(make([]byte, 16), true); return err }},
		{"cluster stat count", func() error { _, err := protocol.DecodeTrackerClusterStat([]byte{2}); return err }},
		{"storage cluster negative", func() error {
			_, err := protocol.DecodeStorageClusterStat([]byte{0, 0, 0xff, 0xff, 0xff, 0xff})
			return err
		}},
		{"volume negative", func() error { _, err := protocol.DecodeVolumeStat([]byte{0, 0x80, 0, 0, 0}); return err }},
		{"ids reply count", func() error {
			_, err := protocol.DecodeStorageIDsReply([]byte{0, 0, 0, 1, 0, 0, 0, 2, 'a', '\n'})
			return err
		}},
		{"params no =", func() error { _, err := protocol.DecodeParams([]byte("abc\n")); return err }},
		{"store reply size", func() error { _, err := protocol.DecodeStoreReply(make([]byte, 41)); return err }},
		{"store all size", func() error { _, err := protocol.DecodeStoreAllReply(make([]byte, 16)); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f(); !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("err = %v, want EINVAL", err)
			}
		})
	}
}

func TestIPChangedReport(t *testing.T) {
	want := protocol.IPChangedReport{Group: "group1", OldIP: "10.0.0.7", NewIP: "10.0.0.9"}
	b := want.Encode()
	if len(b) != 108 {
		t.Fatalf("body of %d bytes, upstream sends 108 (group16 + two 46-byte addresses)", len(b))
	}
	if string(b[16:24]) != "10.0.0.7" || string(b[62:70]) != "10.0.0.9" {
		t.Fatalf("addresses not at upstream's offsets 16 and 62: %q", b)
	}
	got, err := protocol.DecodeIPChangedReport(b)
	if err != nil || *got != want {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	for _, n := range []int{0, 16 + 2*16, 107, 109} {
		if _, err := protocol.DecodeIPChangedReport(make([]byte, n)); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%d bytes: %v, want ErrInvalid", n, err)
		}
	}
}
