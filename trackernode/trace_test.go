package trackernode

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// timedExchange is one tracker-directed exchange with its capture time.
type timedExchange struct {
	ts float64
	ex *tracefile.Exchange
}

// trackerExchanges returns the tracker-directed exchanges of <mode>/all in
// capture order (INDEX.txt timestamps; file numbers group by connection).
func trackerExchanges(t *testing.T, mode string) []timedExchange {
	t.Helper()
	dir, err := tracefile.Dir()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, mode, "INDEX.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []timedExchange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || !strings.HasSuffix(cols[3], ":22122") {
			continue
		}
		ts, err := strconv.ParseFloat(cols[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := tracefile.Load(filepath.Join(dir, mode, "all", cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, timedExchange{ts, ex})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ts < out[j].ts })
	if len(out) < 50 {
		t.Fatalf("only %d tracker exchanges in %s", len(out), mode)
	}
	return out
}

// Replays every tracker-directed request of the captured cluster runs, in
// capture order and on one connection per captured connection (same source
// IP), against a fresh tracker configured like the reference one. Every
// answer must have the captured status and layout; bodies that do not depend
// on time or on upstream's leader-election timing must be byte-identical.
func TestTraceReplay(t *testing.T) {
	for _, mode := range []string{"ip", "id"} {
		t.Run(mode, func(t *testing.T) {
			// The tracker's clock follows the capture so that read routing
			// sees the files as fresh as upstream did.
			var clock atomic.Int64
			s := startServerAt(t, traceConfig(t, mode), &clock)
			_, port, _ := net.SplitHostPort(s.Addr())
			conns := map[string]*client{}
			checked := map[byte]int{}
			// Upstream became leader only after the first storage's first
			// beat, so its first two beat replies differ from ours (ours
			// announce the leader at once).
			leaderTiming := 0
			for _, te := range trackerExchanges(t, mode) {
				ex := te.ex
				clock.Store(int64(te.ts))
				cl := conns[ex.From]
				if cl == nil {
					host, _, _ := net.SplitHostPort(ex.From)
					cl = dialFrom(t, host, s.Addr())
					conns[ex.From] = cl
				}
				if ex.Cmd == protocol.CmdQuit {
					cl.Conn.Write(ex.Request)
					if !cl.closed() {
						t.Errorf("%s: connection still open after QUIT", ex.Path)
					}
					delete(conns, ex.From)
					continue
				}
				status, body := cl.raw(ex.Request)
				wh, _ := protocol.DecodeHeader(ex.Response)
				want := ex.Response[protocol.HeaderSize:]
				if status != wh.Status {
					t.Errorf("%s: status %d, captured %d", ex.Path, status, wh.Status)
					continue
				}
				if status != 0 {
					continue
				}
				checked[ex.Cmd]++
				if !checkReplayBody(t, ex, body, want, port) {
					leaderTiming++
				}
			}
			if leaderTiming > 2 {
				t.Errorf("%d change notices differ by their leader flag, want at most 2", leaderTiming)
			}
			for _, c := range []byte{protocol.CmdStorageJoin, protocol.CmdStorageBeat, protocol.CmdQueryFetchOne,
				protocol.CmdServerListStorage, protocol.CmdStorageSyncSrcReq, protocol.CmdStorageParameterReq} {
				if checked[c] == 0 {
					t.Errorf("cmd %d never answered successfully", c)
				}
			}
		})
	}
}

// checkReplayBody compares one answer with the captured one. It returns
// false (without failing) only for a change notice whose sole difference is
// the leader announcement.
func checkReplayBody(t *testing.T, ex *tracefile.Exchange, got, want []byte, port string) bool {
	t.Helper()
	switch ex.Cmd {
	case protocol.CmdStorageGetMyIP, protocol.CmdStorageParameterReq, protocol.CmdStorageGetServerID,
		protocol.CmdStorageFetchStorageIDs, protocol.CmdActiveTest, protocol.CmdStorageReportStatus,
		protocol.CmdStorageReplicaChg, protocol.CmdStorageSyncNotify, protocol.CmdStorageChangelogReq,
		protocol.CmdStorageJoin, protocol.CmdServerListOneGroup, protocol.CmdServerListAllGroups,
		protocol.CmdQueryStoreWithoutGroupOne, protocol.CmdQueryStoreWithGroupOne,
		protocol.CmdQueryStoreWithoutGroupAll, protocol.CmdQueryStoreWithGroupAll,
		protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate, protocol.CmdQueryFetchAll:
		if !bytes.Equal(got, want) {
			t.Errorf("%s: body\n got %x\nwant %x", ex.Path, got, want)
		}
	case protocol.CmdStorageSyncSrcReq, protocol.CmdStorageSyncDestReq:
		// The until timestamp is upstream's cached clock (up to 1 s behind).
		g, err1 := protocol.DecodeSyncSource(got)
		w, err2 := protocol.DecodeSyncSource(want)
		if err1 != nil || err2 != nil || (g == nil) != (w == nil) || (g != nil && (g.SrcID != w.SrcID || g.Until-w.Until > 1)) {
			t.Errorf("%s: sync source %+v, captured %+v", ex.Path, g, w)
		}
	case protocol.CmdServerGetLeader:
		if string(got) != "127.0.0.2:"+port {
			t.Errorf("%s: leader %q", ex.Path, got)
		}
	case protocol.CmdStorageBeat, protocol.CmdStorageReportDiskUsage, protocol.CmdStorageSyncReport:
		g, err := protocol.DecodeChangeNotice(got)
		if err != nil {
			t.Errorf("%s: %v", ex.Path, err)
			return true
		}
		w, _ := protocol.DecodeChangeNotice(want)
		if (g.Flags == 0 && w.Flags&protocol.ChangeLeader != 0) || (w.Flags == 0 && g.Flags&protocol.ChangeLeader != 0) {
			return false // upstream announced everything one beat later
		}
		if g.Flags&^protocol.ChangeLeader != w.Flags&^protocol.ChangeLeader || !reflect.DeepEqual(g.Storages, w.Storages) {
			t.Errorf("%s: notice %+v, captured %+v", ex.Path, g, w)
		}
		if g.Flags&protocol.ChangeLeader != 0 && g.Leader.ID != "127.0.0.2" {
			t.Errorf("%s: leader brief %+v", ex.Path, g.Leader)
		}
		return true
	case protocol.CmdServerListStorage:
		// Identical except last_heart_beat_time, upstream's cached clock.
		g, err1 := protocol.DecodeStorageStats(got)
		w, err2 := protocol.DecodeStorageStats(want)
		if err1 != nil || err2 != nil || len(g) != len(w) {
			t.Errorf("%s: %v %v %d/%d records", ex.Path, err1, err2, len(g), len(w))
			return true
		}
		for i := range g {
			if d := g[i].Stat.LastHeartBeatTime - w[i].Stat.LastHeartBeatTime; d >= 0 && d <= 1 {
				g[i].Stat.LastHeartBeatTime = w[i].Stat.LastHeartBeatTime
			}
			if !reflect.DeepEqual(g[i], w[i]) {
				t.Errorf("%s: record %d\n got %+v\nwant %+v", ex.Path, i, g[i], w[i])
			}
		}
	case protocol.CmdServerTrackerClusterStat:
		ts, err := protocol.DecodeTrackerClusterStat(got)
		// The tracker names itself as the storages' JOIN lines do (the
		// captured 127.0.0.2:22122), or by its bound address.
		if err != nil || len(got) != len(want) || (ts[0].Host != "127.0.0.2:"+port && ts[0].Host != "127.0.0.2:22122") || !ts[0].IsLeader {
			t.Errorf("%s: %+v %v", ex.Path, ts, err)
		}
	case protocol.CmdServerStorageClusterStat:
		g, err1 := protocol.DecodeStorageClusterStat(got)
		w, err2 := protocol.DecodeStorageClusterStat(want)
		if err1 != nil || err2 != nil || len(g.Storages) != len(w.Storages) {
			t.Errorf("%s: %v %v", ex.Path, err1, err2)
			return true
		}
		for i := range g.Storages {
			a, b := g.Storages[i], w.Storages[i]
			if a.ID != b.ID || a.Host != b.Host || a.Status != b.Status || a.Version != b.Version || a.UpTime != b.UpTime {
				t.Errorf("%s: record %d\n got %+v\nwant %+v", ex.Path, i, a, b)
			}
		}
	case protocol.CmdServerStorageVolumeStat:
		g, err1 := protocol.DecodeVolumeStat(got)
		w, err2 := protocol.DecodeVolumeStat(want)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %+v, captured %+v (%v %v)", ex.Path, g, w, err1, err2)
		}
	default:
		t.Errorf("%s: unexpected command %d", ex.Path, ex.Cmd)
	}
	return true
}
