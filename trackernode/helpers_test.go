package trackernode

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// traceConfig is the tracker.conf of the reference cluster the traces were
// captured from (its PARAMETER_REQ reply shows every value).
func traceConfig(t testing.TB, mode string) *conf.Tracker {
	t.Helper()
	c := &conf.Tracker{
		BindAddr: "127.0.0.2", BasePath: t.TempDir(),
		ConnectTimeout: 5 * time.Second, NetworkTimeout: 10 * time.Second, MaxConnections: 64,
		StoreLookup: 2, ReservedStorageSpace: conf.Reserved{IsPercent: true, Percent: 10},
		CheckActiveInterval: 120 * time.Second, StorageIPChangedAutoAdjust: true,
		StorageSyncFileMaxDelay: 86400 * time.Second, StorageSyncFileMaxTime: 300 * time.Second,
		SlotMinSize: 256, SlotMaxSize: 1 << 20, TrunkAllocAlignmentSize: 256, TrunkFileSize: 64 << 20,
		TrunkCreateFileTimeBase: "02:00", TrunkCreateFileInterval: 86400 * time.Second,
		TrunkCreateFileSpaceThreshold: 20 << 30, TrunkFreeSpaceMerge: true,
		TrunkCompressBinlogMinInterval: 86400 * time.Second, TrunkCompressBinlogInterval: 86400 * time.Second,
		TrunkCompressBinlogTimeBase: "03:00", TrunkBinlogMaxBackups: 7,
		IDTypeInFilename: "ip", TrustStorageServerID: true, ResponseIPAddrSize: "auto",
	}
	if mode == "id" {
		c.UseStorageID, c.IDTypeInFilename, c.TrustStorageServerID = true, "id", false
		c.StorageIDsFilename = filepath.Join(c.BasePath, "storage_ids.conf")
		ids := "100001 group1 127.0.0.1:23000\n100002 group1 127.0.0.1:23001\n"
		if err := os.WriteFile(c.StorageIDsFilename, []byte(ids), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startServer(t *testing.T, c *conf.Tracker) *Server { return startServerAt(t, c, nil) }

// startServerAt is startServer with the tracker's clock read from clock
// (unix seconds, moved by the test) when it is not nil.
func startServerAt(t *testing.T, c *conf.Tracker, clock *atomic.Int64) *Server {
	t.Helper()
	s, err := New(c, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		s.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is the tests' raw protocol client (internal/wiretest), from a
// chosen loopback source IP, with the (status, body) answers these tests
// compare.
type client struct {
	*wiretest.Client
}

func dialFrom(t *testing.T, srcIP, addr string) *client {
	t.Helper()
	return &client{wiretest.DialFrom(t, srcIP, addr)}
}

// raw sends pkt as is and reads one response (status, body).
func (cl *client) raw(pkt []byte) (byte, []byte) {
	h, body := cl.Raw(pkt)
	return h.Status, body
}

// call sends cmd with body and returns the status and body.
func (cl *client) call(cmd byte, body []byte) (byte, []byte) { return cl.Do(cmd, body) }

// ok calls and fails the test on a non-zero status.
func (cl *client) ok(cmd byte, body []byte) []byte { return cl.OK(cmd, body) }

// closed reports whether the server closed the connection (EOF or reset)
// instead of answering.
func (cl *client) closed() bool { return cl.Closed(10 * time.Second) }

// joinBody is a JOIN request for a storage of group listening on port.
func joinBody(group string, port int, paths int, id string) []byte {
	return (&protocol.JoinRequest{
		Group: group, StoragePort: int64(port), StorePathCount: int64(paths), SubdirCountPerPath: 256,
		UploadPriority: 10, JoinTime: time.Now().Unix(), UpTime: time.Now().Unix(), Version: "6.16.1",
		StorageID: id, CurrentTrackerIP: "127.0.0.2", Trackers: []string{"127.0.0.2:22122"},
	}).Encode()
}

// activeStorage joins a storage from ip, goes through the initial sync (the
// source's REPORT_STATUS OFFLINE when there is a source), beats and reports
// disk usage (totalMB/freeMB per path) so it becomes ACTIVE. The connection
// stays open.
func activeStorage(t *testing.T, s *Server, ip, group string, port int, totalMB, freeMB int64) *client {
	t.Helper()
	cl := dialFrom(t, ip, s.Addr())
	cl.ok(protocol.CmdStorageJoin, joinBody(group, port, 1, ""))
	if src, _ := protocol.DecodeSyncSource(cl.ok(protocol.CmdStorageSyncDestReq, nil)); src != nil {
		cl.ok(protocol.CmdStorageReportStatus, (&protocol.ReportStatus{Group: group,
			Brief: protocol.Brief{Status: protocol.StatusOffline, ID: s.idOf(t, group, ip, port)}}).Encode())
	}
	cl.ok(protocol.CmdStorageBeat, (&protocol.StatBlock{}).Encode())
	cl.ok(protocol.CmdStorageReportDiskUsage, protocol.EncodeDiskUsage([]protocol.PathUsage{{TotalMB: totalMB, FreeMB: freeMB}}))
	return cl
}

func listStorages(t *testing.T, s *Server, group string) []protocol.StorageStat {
	t.Helper()
	cl := dialFrom(t, "127.0.0.1", s.Addr())
	b := cl.ok(protocol.CmdServerListStorage, protocol.EncodeGroup(group))
	ss, err := protocol.DecodeStorageStats(b)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// idOf finds the id the tracker gave the storage at ip:port.
func (s *Server) idOf(t *testing.T, group, ip string, port int) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.groups[group].sorted {
		if st.ip == ip && st.port == port {
			return st.id
		}
	}
	t.Fatalf("no storage %s:%d in %s", ip, port, group)
	return ""
}

// knowTrackers makes s know the trackers of lines, as a storage's JOIN
// listing them would, without creating a group.
func knowTrackers(t *testing.T, s *Server, lines ...string) {
	t.Helper()
	for _, l := range lines {
		p, err := parsePeer(l)
		if err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		s.addPeer(p)
		s.mu.Unlock()
	}
}
