package multitracker

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode"
	"github.com/fdfsgo/fdfs/trackernode"
)

// scriptedTracker is a tracker that answers a storage's session with fixed
// replies: the storage is INIT, SYNC_DEST_REQ names source (none if "")
// after destDelay, beats get the follower's single zero byte. It records
// the SYNC_DEST_REQ and SYNC_NOTIFY it receives.
type scriptedTracker struct {
	ln        net.Listener
	source    string
	destDelay time.Duration
	ipDelay   time.Duration // before answering GET_MY_IP, the session's first request
	destErr   error         // SYNC_DEST_REQ's answer when set (as a status)

	mu       sync.Mutex
	destReqs int
	notified []string // source ids of the SYNC_NOTIFYs
	joins    []*protocol.JoinRequest
	// ipChanged are the statuses REPORT_IP_CHANGED gets, in turn (0 once
	// used up); events logs the reports and joins in order.
	ipChanged []byte
	events    []string
}

func startScriptedTracker(t *testing.T, source string, destDelay time.Duration) *scriptedTracker {
	t.Helper()
	ip, err := devcluster.FreeIP(devcluster.DefaultTrackerPort)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(devcluster.DefaultTrackerPort)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &scriptedTracker{ln: ln, source: source, destDelay: destDelay}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go tr.serve(c)
		}
	}()
	return tr
}

func (tr *scriptedTracker) addr() string { return tr.ln.Addr().String() }

func (tr *scriptedTracker) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	peerIP := c.RemoteAddr().(*net.TCPAddr).IP.String()
	for {
		h, err := protocol.ReadHeader(r)
		if err != nil {
			return
		}
		in, err := protocol.ReadBody(r, h, 1<<20)
		if err != nil {
			return
		}
		var body []byte
		switch h.Cmd {
		case protocol.CmdQuit:
			return
		case protocol.CmdStorageGetMyIP:
			time.Sleep(tr.ipDelay)
			body = []byte(peerIP)
		case protocol.CmdStorageParameterReq:
			body = protocol.Params{
				{Key: "use_storage_id", Value: "0"}, {Key: "id_type_in_filename", Value: "ip"},
				{Key: "store_path", Value: "0"}, {Key: "reserved_storage_space", Value: "1M"},
				{Key: "storage_ip_changed_auto_adjust", Value: "1"},
			}.Encode()
		case protocol.CmdStorageReportIPChanged:
			r, err := protocol.DecodeIPChangedReport(in)
			if err != nil {
				return
			}
			tr.mu.Lock()
			var st byte
			if len(tr.ipChanged) > 0 {
				st, tr.ipChanged = tr.ipChanged[0], tr.ipChanged[1:]
			}
			tr.events = append(tr.events, fmt.Sprintf("report %s->%s: %d", r.OldIP, r.NewIP, st))
			tr.mu.Unlock()
			if st != 0 {
				protocol.WritePacket(c, protocol.CmdResp, st, nil)
				continue
			}
		case protocol.CmdStorageJoin:
			j, err := protocol.DecodeJoinRequest(in)
			if err != nil {
				return
			}
			tr.mu.Lock()
			tr.joins = append(tr.joins, j)
			tr.events = append(tr.events, "join from "+peerIP)
			tr.mu.Unlock()
			body = (&protocol.JoinResponse{Status: protocol.StatusInit}).Encode()
		case protocol.CmdStorageSyncDestReq:
			tr.mu.Lock()
			tr.destReqs++
			tr.mu.Unlock()
			time.Sleep(tr.destDelay)
			if tr.destErr != nil {
				protocol.WriteError(c, tr.destErr)
				continue
			}
			if tr.source != "" {
				body = protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: tr.source, Until: 1700000000})
			}
		case protocol.CmdStorageSyncNotify:
			src, err := protocol.DecodeSyncSource(in)
			if err != nil || src == nil {
				return
			}
			tr.mu.Lock()
			tr.notified = append(tr.notified, src.SrcID)
			tr.mu.Unlock()
		case protocol.CmdStorageBeat, protocol.CmdStorageReportDiskUsage, protocol.CmdStorageSyncReport:
			body = []byte{0} // a follower's change notice: nothing changed
		case protocol.CmdStorageChangelogReq, protocol.CmdActiveTest:
		default:
			protocol.WriteError(c, protocol.ErrNotSupported)
			continue
		}
		if protocol.WriteResponse(c, body) != nil {
			return
		}
	}
}

func (tr *scriptedTracker) record() (int, []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.destReqs, append([]string(nil), tr.notified...)
}

// startStorage runs a storage of group1 reporting to trackers.
func startStorage(t *testing.T, trackers ...string) *storagenode.Server {
	t.Helper()
	return startStorageAt(t, t.TempDir(), freeStorageIP(t), trackers...)
}

func freeStorageIP(t *testing.T) string {
	t.Helper()
	ip, err := devcluster.FreeIP(devcluster.DefaultStoragePort)
	if err != nil {
		t.Fatal(err)
	}
	return ip
}

// startStorageAt runs a storage of group1 with its files in dir, bound to
// ip, reporting to trackers.
func startStorageAt(t *testing.T, dir, ip string, trackers ...string) *storagenode.Server {
	t.Helper()
	return startStorageWith(t, dir, ip, 1, trackers...)
}

// startStorageWith is startStorageAt with subdirs as subdir_count_per_path.
func startStorageWith(t *testing.T, dir, ip string, subdirs int, trackers ...string) *storagenode.Server {
	t.Helper()
	lines := []string{
		"group_name = group1",
		"bind_addr = " + ip,
		"client_bind = true",
		fmt.Sprintf("port = %d", devcluster.DefaultStoragePort),
		"connect_timeout = 2",
		"network_timeout = 10",
		"heart_beat_interval = 1",
		"stat_report_interval = 1",
		"base_path = " + dir,
		"store_path_count = 1",
		"store_path0 = " + filepath.Join(dir, "store0"),
		fmt.Sprintf("subdir_count_per_path = %d", subdirs),
		"sync_wait_msec = 10",
	}
	for _, tr := range trackers {
		lines = append(lines, "tracker_server = "+tr)
	}
	path := filepath.Join(dir, "storage.conf")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.LoadStorage(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storagenode.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A new storage's sessions with its trackers start together. Only one
// tracker is asked for the initial-sync source (SYNC_DEST_REQ), and the
// others are told that tracker's answer (SYNC_NOTIFY), as upstream's
// storage does: two trackers asked at once may answer differently (one
// already sees the other storages ACTIVE, the other not yet), and a
// tracker left with a source the storage does not follow keeps it
// WAIT_SYNC forever. The trackers here take a while to answer
// SYNC_DEST_REQ and disagree on purpose, so concurrent requests would
// show.
func TestOneSyncSourceDecisionForAllTrackers(t *testing.T) {
	const delay = 700 * time.Millisecond
	withSource := startScriptedTracker(t, "127.9.9.9", delay)
	without := startScriptedTracker(t, "", delay)
	startStorage(t, withSource.addr(), without.addr())
	trackers := map[string]*scriptedTracker{"the tracker naming a source": withSource, "the tracker naming none": without}
	poll(t, "SYNC_NOTIFY to both trackers", func() error {
		for name, tr := range trackers {
			if _, n := tr.record(); len(n) == 0 {
				return fmt.Errorf("%s got no SYNC_NOTIFY", name)
			}
		}
		return nil
	})
	// Let a second SYNC_DEST_REQ, if one is on its way, arrive.
	time.Sleep(2 * delay)
	total := 0
	decided := ""
	for _, tr := range trackers {
		n, _ := tr.record()
		total += n
		if n > 0 {
			decided = tr.source
		}
	}
	if total != 1 {
		t.Fatalf("%d SYNC_DEST_REQ sent to the trackers, want 1", total)
	}
	for name, tr := range trackers {
		if _, notified := tr.record(); notified[0] != decided {
			t.Errorf("%s was notified of source %q, the decision was %q", name, notified[0], decided)
		}
	}
}

// A tracker the storage reaches only after another one answered that there
// is nothing to copy (the initial sync is done) learns it: the storage
// joins it past INIT (the last status it was told, INIT, predates the
// answer), or tells it it has no source. A tracker left with the storage
// INIT would never route to it nor have it synced.
func TestLateTrackerToldTheInitialSyncIsDone(t *testing.T) {
	first := startScriptedTracker(t, "", 0)
	late := startScriptedTracker(t, "127.9.9.9", 0)
	late.ipDelay = time.Second
	startStorage(t, first.addr(), late.addr())
	told := func() error {
		late.mu.Lock()
		defer late.mu.Unlock()
		if late.destReqs != 0 {
			return fmt.Errorf("%d SYNC_DEST_REQ, want none", late.destReqs)
		}
		if len(late.notified) > 0 && late.notified[0] == "" {
			return nil
		}
		for _, j := range late.joins {
			switch j.Status {
			case protocol.StatusInit, protocol.StatusWaitSync, protocol.StatusSyncing:
			default:
				if !j.InitFlag {
					return nil
				}
			}
		}
		var js []string
		for _, j := range late.joins {
			js = append(js, fmt.Sprintf("JOIN init_flag=%v status=%s", j.InitFlag, protocol.StorageStatusName(j.Status)))
		}
		return fmt.Errorf("%v, notified of %q", js, late.notified)
	}
	poll(t, "the late tracker told the initial sync is over", told)
}

// A tracker that could not name a source yet (ENOENT: no ACTIVE storage
// in its view) while another tracker found there was nothing to copy
// still hears the decision when the storage joins it again (SYNC_NOTIFY
// with no source, upstream's notify after every JOIN): a JOIN alone does
// not move a storage that tracker holds INIT, which kept it INIT there
// for good.
func TestRefusingTrackerHearsTheDecision(t *testing.T) {
	refusing := startScriptedTracker(t, "", 0)
	refusing.destErr = protocol.ErrNotFound
	deciding := startScriptedTracker(t, "", 0)
	deciding.ipDelay = 300 * time.Millisecond // the refusing tracker is asked first
	startStorage(t, refusing.addr(), deciding.addr())
	poll(t, "SYNC_NOTIFY to the tracker that refused", func() error {
		reqs, n := refusing.record()
		if reqs == 0 {
			return fmt.Errorf("the refusing tracker was never asked")
		}
		if _, dn := deciding.record(); len(dn) == 0 {
			return fmt.Errorf("the deciding tracker got no SYNC_NOTIFY")
		}
		if len(n) == 0 || n[len(n)-1] != "" {
			return fmt.Errorf("SYNC_NOTIFYs to the refusing tracker: %q", n)
		}
		return nil
	})
}

// Two trackers and two storages that join before the trackers elected a
// leader: every storage ends ACTIVE on both trackers, and both trackers
// give the same sync source for each storage (the one that started second
// copies from the first, or, if it asked before the first one was ACTIVE,
// asked again).
func TestStoragesJoinBeforeElection(t *testing.T) {
	var ips, lines []string
	for range 2 {
		ip, err := devcluster.FreeIP(devcluster.DefaultTrackerPort)
		if err != nil {
			t.Fatal(err)
		}
		ips = append(ips, ip)
		lines = append(lines, net.JoinHostPort(ip, fmt.Sprint(devcluster.DefaultTrackerPort)))
	}
	for i, ip := range ips {
		startTracker(t, ip, fmt.Sprintf("tracker%d", i))
	}
	storages := []*storagenode.Server{startStorage(t, lines...), startStorage(t, lines...)}
	ids := make([]string, len(storages))
	for i, s := range storages {
		ids[i] = strings.Split(s.Addr(), ":")[0]
	}
	for _, tr := range lines {
		poll(t, "storages ACTIVE on "+tr, func() error {
			b, err := call(tr, protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
			if err != nil {
				return err
			}
			ss, err := protocol.DecodeStorageStats(b)
			if err != nil {
				return err
			}
			if len(ss) != len(storages) {
				return fmt.Errorf("%d storages listed", len(ss))
			}
			for _, s := range ss {
				if s.Status != protocol.StatusActive {
					return fmt.Errorf("%s is %s", s.ID, protocol.StorageStatusName(s.Status))
				}
			}
			return nil
		})
	}
	for _, id := range ids {
		var answers []string
		for _, tr := range lines {
			b, err := call(tr, protocol.CmdStorageSyncSrcReq, (&protocol.SyncSrcRequest{Group: "group1", DestID: id}).Encode())
			if err != nil {
				t.Fatalf("SYNC_SRC_REQ for %s to %s: %v", id, tr, err)
			}
			src, err := protocol.DecodeSyncSource(b)
			if err != nil {
				t.Fatal(err)
			}
			a := ""
			if src != nil {
				a = src.SrcID
			}
			answers = append(answers, a)
		}
		if answers[0] != answers[1] {
			t.Errorf("sync source of %s: %q on one tracker, %q on the other", id, answers[0], answers[1])
		}
	}
}

// startTracker runs one of our trackers on ip with its own base path.
func startTracker(t *testing.T, ip, name string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.Join([]string{
		"bind_addr = " + ip,
		fmt.Sprintf("port = %d", devcluster.DefaultTrackerPort),
		"base_path = " + dir,
		"connect_timeout = 2",
		"network_timeout = 10",
		"reserved_storage_space = 1M",
	}, "\n") + "\n"
	cfg, err := conf.ParseTracker([]byte(text), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := trackernode.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
}
