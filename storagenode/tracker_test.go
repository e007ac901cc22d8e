package storagenode

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/trackernode"
)

// trackerCall sends one request to addr and returns the reply body.
func trackerCall(t *testing.T, addr string, cmd byte, body []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := protocol.WritePacket(c, cmd, 0, body); err != nil {
		return nil, err
	}
	return protocol.ReadResponse(c, 1<<20)
}

// storageOnTracker returns the tracker's record of the storage at ip.
func storageOnTracker(t *testing.T, tracker, ip string) *protocol.StorageStat {
	t.Helper()
	b, err := trackerCall(t, tracker, protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
	if err != nil {
		return nil
	}
	ss, err := protocol.DecodeStorageStats(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss {
		if ss[i].IP == ip {
			return &ss[i]
		}
	}
	return nil
}

// A storage started before its tracker keeps retrying, then joins, becomes
// ACTIVE, reports real disk usage and counters, and is handed out by the
// tracker for uploads.
func TestJoinTracker(t *testing.T) {
	// Reserve a tracker port, release it, and start the storage first.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	trackerAddr := l.Addr().String()
	l.Close()

	cfg := testConfig(t)
	cfg.BindAddr = "127.0.0.5"
	cfg.TrackerServers = []string{trackerAddr}
	cfg.HeartBeatInterval = 50 * time.Millisecond
	cfg.StatReportInterval = 50 * time.Millisecond
	s := startServer(t, cfg)

	_, port, _ := net.SplitHostPort(trackerAddr)
	tcfg := &conf.Tracker{BindAddr: "127.0.0.2", BasePath: t.TempDir(), CheckActiveInterval: 10 * time.Second,
		NetworkTimeout: 10 * time.Second, ReservedStorageSpace: conf.Reserved{IsPercent: true, Percent: 1}}
	tcfg.Port = atoiT(t, port)
	tr, err := trackernode.New(tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })

	var st *protocol.StorageStat
	waitFor(t, "the storage to become ACTIVE", func() bool {
		st = storageOnTracker(t, trackerAddr, "127.0.0.5")
		return st != nil && st.Status == protocol.StatusActive && st.TotalMB > 0
	})
	if st.StoragePort != int64(s.port()) || st.StorePathCount != 1 || st.SubdirCountPerPath != 4 || st.Version != Version || st.FreeMB <= 0 {
		t.Errorf("tracker record %+v", st)
	}
	if s.Status() != protocol.StatusActive {
		t.Errorf("storage thinks it is %d", s.Status())
	}
	if got := *s.myIP.Load(); got != "127.0.0.5" {
		t.Errorf("GET_MY_IP gave %q", got)
	}
	// First start with no peer: initial sync is trivially done.
	flag, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data", dataInitFlagFile))
	if !strings.Contains(string(flag), "sync_old_done=1\n") {
		t.Errorf(".data_init_flag %q", flag)
	}
	if p := s.params.Load(); p.Reserved.Percent != 1 || p.ResponseIPSize != protocol.IPv4AddrSize {
		t.Errorf("tracker parameters %+v", p)
	}

	// Upload through the tracker's choice.
	b, err := trackerCall(t, trackerAddr, protocol.CmdQueryStoreWithoutGroupOne, nil)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := protocol.DecodeStoreReply(b)
	if err != nil {
		t.Fatal(err)
	}
	if sr.IP != "127.0.0.5" || sr.Port != s.port() || sr.Group != "group1" {
		t.Fatalf("tracker chose %+v", sr)
	}
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadFile, sr.StorePathIndex, "txt", []byte("via tracker"))
	if n := mustParse(t, name); n.SourceIP != "127.0.0.5" {
		t.Errorf("name source %q", n.SourceIP)
	}
	// The next beats carry the new counters.
	waitFor(t, "the upload to reach the tracker", func() bool {
		st = storageOnTracker(t, trackerAddr, "127.0.0.5")
		return st != nil && st.Stat.SuccessUploadCount == 1
	})
	if st.Stat.SuccessUploadBytes != int64(len("via tracker")) || st.Stat.CurrentCount < 1 {
		t.Errorf("stat block on tracker %+v", st.Stat)
	}

	// The tracker restarts with its persisted state: the storage's session
	// breaks, it reconnects with backoff and is ACTIVE again.
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr2, err := trackernode.New(tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr2.Close() })
	waitFor(t, "the storage to rejoin", func() bool {
		st = storageOnTracker(t, trackerAddr, "127.0.0.5")
		return st != nil && st.Status == protocol.StatusActive && st.Stat.SuccessUploadCount == 1 && st.UpTime == s.start.Unix()
	})
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("bad number %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
