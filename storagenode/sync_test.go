package storagenode

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/trackernode"
)

// syncCluster is an in-process tracker plus storages of group1 on their
// own loopback IPs sharing one port (IP mode requires it).
type syncCluster struct {
	t       *testing.T
	tracker string
	port    int
	cfgs    []*conf.Storage
	nodes   []*Server
}

// eventually polls cond until it holds, for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 20*time.Second, what, cond)
}

// newSyncCluster starts a tracker on ipBase.0 and reserves a port free on
// ipBase.1..n for the storages.
func newSyncCluster(t *testing.T, ipBase string, n int) *syncCluster {
	return newSyncClusterMode(t, ipBase, n, false)
}

// newSyncClusterMode is newSyncCluster, in id mode (ids 100001.., ids in
// file names) when idMode.
func newSyncClusterMode(t *testing.T, ipBase string, n int, idMode bool) *syncCluster {
	t.Helper()
	tcfg := &conf.Tracker{BindAddr: ipBase + "0", BasePath: t.TempDir(), CheckActiveInterval: 10 * time.Second,
		NetworkTimeout: 10 * time.Second, ReservedStorageSpace: conf.Reserved{IsPercent: true, Percent: 1},
		StorageSyncFileMaxDelay: 24 * time.Hour, StorageSyncFileMaxTime: 5 * time.Minute}
	if idMode {
		var ids strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&ids, "%d group1 %s%d\n", 100000+i, ipBase, i)
		}
		tcfg.UseStorageID, tcfg.IDTypeInFilename = true, "id"
		tcfg.StorageIDsFilename = filepath.Join(tcfg.BasePath, "storage_ids.conf")
		if err := os.WriteFile(tcfg.StorageIDsFilename, []byte(ids.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := trackernode.New(tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	c := &syncCluster{t: t, tracker: tr.Addr()}
	for attempt := 0; c.port == 0 && attempt < 20; attempt++ {
		l, err := net.Listen("tcp", ipBase+"1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		var ls []net.Listener
		for i := 2; i <= n; i++ {
			li, err := net.Listen("tcp", fmt.Sprintf("%s%d:%d", ipBase, i, port))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, li)
		}
		l.Close()
		for _, li := range ls {
			li.Close()
		}
		if ok {
			c.port = port
		}
	}
	if c.port == 0 {
		t.Fatal("no common free port")
	}
	for i := 1; i <= n; i++ {
		base := t.TempDir()
		c.cfgs = append(c.cfgs, &conf.Storage{
			GroupName: "group1", BindAddr: fmt.Sprintf("%s%d", ipBase, i), ClientBind: true, Port: c.port,
			BasePath: base, StorePathCount: 1, StorePaths: []string{base}, SubdirCountPerPath: 4,
			BuffSize: 8 << 10, NetworkTimeout: 10 * time.Second, ConnectTimeout: 2 * time.Second,
			TrackerServers:    []string{c.tracker},
			HeartBeatInterval: 50 * time.Millisecond, StatReportInterval: 50 * time.Millisecond,
			SyncWaitMsec: 10 * time.Millisecond, WriteMarkFileFreq: 2,
		})
		c.nodes = append(c.nodes, nil)
	}
	return c
}

// start (re)starts storage i.
func (c *syncCluster) start(i int) *Server {
	c.t.Helper()
	s, err := New(c.cfgs[i], nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { s.Close() })
	c.nodes[i] = s
	return s
}

func (c *syncCluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *syncCluster) status(i int) byte {
	st := storageOnTracker(c.t, c.tracker, c.cfgs[i].BindAddr)
	if st == nil {
		st = storageByID(c.t, c.tracker, fmt.Sprint(100001+i))
	}
	if st == nil {
		return protocol.StatusNone
	}
	return st.Status
}

func (c *syncCluster) waitActive(idx ...int) {
	c.t.Helper()
	for _, i := range idx {
		eventually(c.t, fmt.Sprintf("storage %d to become ACTIVE", i), func() bool {
			return c.status(i) == protocol.StatusActive
		})
	}
}

// storeFiles maps every data and metadata file of a storage (relative
// path) to its content; temp files are left out.
func storeFiles(t *testing.T, storePath string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range dataFiles(t, storePath) {
		if strings.HasPrefix(filepath.Base(p), ".") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue // deleted while listing
		}
		rel, _ := filepath.Rel(storePath, p)
		out[rel] = string(b)
	}
	return out
}

func describe(m map[string]string) string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s(%d)", k, len(v)))
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}

// waitSame waits until storages idx hold exactly the same files.
func (c *syncCluster) waitSame(idx ...int) map[string]string {
	c.t.Helper()
	var first map[string]string
	deadline := time.Now().Add(20 * time.Second)
	for {
		first = storeFiles(c.t, c.cfgs[idx[0]].BasePath)
		same := true
		var diff string
		for _, i := range idx[1:] {
			other := storeFiles(c.t, c.cfgs[i].BasePath)
			if len(other) != len(first) {
				same, diff = false, fmt.Sprintf("storage %d: %s\nstorage %d: %s", idx[0], describe(first), i, describe(other))
				break
			}
			for k, v := range first {
				if other[k] != v {
					same, diff = false, fmt.Sprintf("%s differs on storage %d", k, i)
					break
				}
			}
		}
		if same {
			return first
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("storages %v never converged:\n%s", idx, diff)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func appendReq(name string, data []byte) []byte {
	return (&protocol.AppendRequest{Name: name, Length: int64(len(data))}).Encode()
}

// A storage joining a group whose member already holds files gets them
// all through the old-file sync (source and replica records), reaches
// ACTIVE, and from then on changes flow both ways.
func TestSyncNewStorageGetsOldFiles(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.4", 2)
	a := c.start(0)
	c.waitActive(0)
	rc := dial(t, a)
	plain := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("hello world"))
	if st := rc.setMeta(plain, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"w": "1"})); st != 0 {
		t.Fatalf("set meta: %d", st)
	}
	if st := rc.setMeta(plain, protocol.MetaMerge, protocol.PackMeta(map[string]string{"h": "2"})); st != 0 {
		t.Fatalf("merge meta: %d", st)
	}
	app := rc.upload(protocol.CmdUploadAppenderFile, 0, "log", []byte("12345"))
	if st, _ := rc.Do(protocol.CmdAppendFile, appendReq(app, []byte("678")), []byte("678")); st != 0 {
		t.Fatalf("append: %d", st)
	}
	gone := rc.upload(protocol.CmdUploadFile, 0, "bin", bytes.Repeat([]byte{7}, 20000))
	if st, _ := rc.fileCmd(protocol.CmdDeleteFile, gone); st != 0 {
		t.Fatalf("delete: %d", st)
	}
	big := rc.upload(protocol.CmdUploadFile, 0, "dat", bytes.Repeat([]byte("0123456789"), 30000))
	slaveReq := protocol.UploadSlaveRequest{MasterName: plain, FileSize: 5, Prefix: "_s", Ext: "txt"}
	if st, _ := rc.Do(protocol.CmdUploadSlaveFile, slaveReq.Encode(), []byte("slave")); st != 0 {
		t.Fatalf("slave upload: %d", st)
	}

	b := c.start(1)
	c.waitActive(1)
	files := c.waitSame(0, 1)
	if len(files) != 5 {
		t.Errorf("synced files: %s", describe(files))
	}
	if b.Status() != protocol.StatusActive {
		// The storage learns its status from the next beat reply.
		eventually(t, "storage 1 to see itself ACTIVE", func() bool { return b.Status() == protocol.StatusActive })
	}
	// The source's mark file records a finished old-file sync.
	mark, err := loadMark(filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("127.0.0.42_%d.mark", c.port)))
	if err != nil {
		t.Fatal(err)
	}
	if !mark.NeedSyncOld || !mark.SyncOldDone || mark.Until == 0 || mark.SyncRows == 0 {
		t.Errorf("source mark %+v", mark)
	}
	// The receiver logged replica records only.
	for _, l := range binlogOps(t, b) {
		if l[0] < 'a' || l[0] > 'z' {
			t.Errorf("receiver binlog has source record %q", l)
		}
	}
	if !bytes.Contains([]byte(binlogText(t, b)), []byte(" c "+big)) {
		t.Errorf("receiver binlog lacks the big file:\n%s", binlogText(t, b))
	}

	// New changes flow both ways.
	rb := dial(t, b)
	fromB := rb.upload(protocol.CmdUploadFile, 0, "jpg", []byte("from b"))
	if st, _ := rc.Do(protocol.CmdAppendFile, appendReq(app, []byte("9")), []byte("9")); st != 0 {
		t.Fatalf("append: %d", st)
	}
	files = c.waitSame(0, 1)
	if files[dataKey(fromB)] != "from b" || files[dataKey(app)] != "123456789" {
		t.Errorf("after changes: %s", describe(files))
	}
}

// Three storages: every kind of change made on any of them reaches the
// other two, a storage restarted mid-stream catches up, and the tracker
// never routes a read to a storage that lacks the file.
func TestSyncThreeStorages(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.5", 3)
	for i := range 3 {
		c.start(i)
	}
	c.waitActive(0, 1, 2)
	cl := make([]*rawClient, 3)
	for i := range cl {
		cl[i] = dial(t, c.nodes[i])
	}
	// Uploads, metadata and appender changes on different storages.
	n0 := cl[0].upload(protocol.CmdUploadFile, 0, "txt", []byte("zero"))
	n1 := cl[1].upload(protocol.CmdUploadFile, 0, "txt", []byte("one"))
	app := cl[2].upload(protocol.CmdUploadAppenderFile, 0, "", []byte("abcdef"))
	if st := cl[1].setMeta(n1, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"k": "v"})); st != 0 {
		t.Fatalf("set meta: %d", st)
	}
	c.waitSame(0, 1, 2)
	if st, _ := cl[2].Do(protocol.CmdAppendFile, appendReq(app, []byte("ghi")), []byte("ghi")); st != 0 {
		t.Fatalf("append: %d", st)
	}
	mod := (&protocol.ModifyRequest{Name: app, Offset: 1, Length: 2}).Encode()
	if st, _ := cl[2].Do(protocol.CmdModifyFile, mod, []byte("XY")); st != 0 {
		t.Fatalf("modify: %d", st)
	}
	if st, _ := cl[2].Do(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: app, NewSize: 7}).Encode()); st != 0 {
		t.Fatalf("truncate: %d", st)
	}
	files := c.waitSame(0, 1, 2)
	if files[dataKey(app)] != "aXYdefg" {
		t.Errorf("appender after append/modify/truncate: %q", files[dataKey(app)])
	}
	if st, _ := cl[0].fileCmd(protocol.CmdDeleteFile, n1); st != 0 {
		t.Fatalf("delete: %d", st)
	}
	st, body := cl[2].Do(protocol.CmdRegenerateAppenderFilename, []byte(app))
	if st != 0 {
		t.Fatalf("regenerate: %d", st)
	}
	renamed, err := protocol.DecodeFileResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	files = c.waitSame(0, 1, 2)
	if _, ok := files[dataKey(n1)]; ok {
		t.Error("deleted file still present")
	}
	if files[dataKey(renamed.Name)] != "aXYdefg" || files[dataKey(n0)] != "zero" {
		t.Errorf("after delete and rename: %s", describe(files))
	}

	// Storage 2 goes down; changes keep coming on 0 and 1; it restarts
	// and catches up from its peers' mark files.
	c.stop(2)
	var while []string
	for i := range 6 {
		while = append(while, cl[i%2].upload(protocol.CmdUploadFile, 0, "txt", []byte(fmt.Sprintf("while down %d", i))))
	}
	c.start(2)
	c.waitActive(2)
	cl[2] = dial(t, c.nodes[2])
	files = c.waitSame(0, 1, 2)
	for _, n := range while {
		if _, ok := files[dataKey(n)]; !ok {
			t.Errorf("%s missing after restart", n)
		}
	}

	// Read after write through the tracker: the storage it names for a
	// download always has the file.
	for i := range 20 {
		src := i % 3
		name := cl[src].upload(protocol.CmdUploadFile, 0, "txt", []byte(fmt.Sprintf("raw %d", i)))
		for _, cmd := range []byte{protocol.CmdQueryFetchOne, protocol.CmdQueryFetchAll} {
			b, err := trackerCall(t, c.tracker, cmd, (&protocol.FileQuery{Group: "group1", Filename: name}).Encode())
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			if cmd == protocol.CmdQueryFetchOne {
				r, err := protocol.DecodeFetchReply(b)
				if err != nil {
					t.Fatal(err)
				}
				ips = []string{r.IP}
			} else {
				r, err := protocol.DecodeFetchAllReply(b)
				if err != nil {
					t.Fatal(err)
				}
				for _, sv := range r.Servers {
					ips = append(ips, sv.IP)
				}
			}
			for _, ip := range ips {
				j := int(ip[len(ip)-1] - '1')
				if j < 0 || j > 2 {
					t.Fatalf("tracker named %s", ip)
				}
				if _, err := os.Stat(filepath.Join(c.cfgs[j].BasePath, dataKey(name))); err != nil {
					t.Errorf("tracker routes a read of %s to %s, which lacks it", name, ip)
				}
			}
		}
	}
	c.waitSame(0, 1, 2)
	// SYNC_REPORT: every storage's synced timestamp reaches the tracker.
	for i := range 3 {
		eventually(t, fmt.Sprintf("storage %d's synced timestamp on the tracker", i), func() bool {
			st := storageOnTracker(t, c.tracker, c.cfgs[i].BindAddr)
			return st != nil && st.Stat.LastSyncedTimestamp > 0
		})
	}
}

// dataKey is the storeFiles key of a logical name "M00/HH/LL/x".
func dataKey(name string) string { return filepath.Join("data", name[len("M00/"):]) }

func storageByID(t *testing.T, tracker, id string) *protocol.StorageStat {
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
		if ss[i].ID == id {
			return &ss[i]
		}
	}
	return nil
}

// In id mode peers are named by server id: mark files are <id>.mark and
// names carry the source id; the old-file sync works the same.
func TestSyncIDMode(t *testing.T) {
	c := newSyncClusterMode(t, "127.0.0.6", 2, true)
	a := c.start(0)
	c.waitActive(0)
	rc := dial(t, a)
	name := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("id mode"))
	if n := mustParse(t, name); n.SourceID != "100001" {
		t.Fatalf("name %s has source %q", name, n.SourceID)
	}
	b := c.start(1)
	c.waitActive(1)
	fromB := dial(t, b).upload(protocol.CmdUploadFile, 0, "txt", []byte("from b"))
	files := c.waitSame(0, 1)
	if files[dataKey(name)] != "id mode" || files[dataKey(fromB)] != "from b" {
		t.Errorf("files %s", describe(files))
	}
	for i, peer := range []string{"100002", "100001"} {
		if _, err := loadMark(filepath.Join(c.cfgs[i].BasePath, "data", "sync", peer+".mark")); err != nil {
			t.Errorf("storage %d: %v", i, err)
		}
	}
}

// The source of an old-file sync stops in the middle of it; after its
// restart it resumes from its mark file and the new storage still ends up
// ACTIVE with every file.
func TestSyncSourceRestartDuringFullSync(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.7", 2)
	c.cfgs[0].SyncWaitMsec = 50 * time.Millisecond
	a := c.start(0)
	c.waitActive(0)
	rc := dial(t, a)
	for i := range 150 {
		rc.upload(protocol.CmdUploadFile, 0, "txt", bytes.Repeat([]byte{byte(i)}, 3000+i))
	}
	// Pace the source so the stop lands mid-stream: one record per 2 ms.
	c.cfgs[0].SyncInterval = 2 * time.Millisecond
	c.stop(0)
	eventually(t, "the tracker to see storage 0 leave", func() bool { return c.status(0) != protocol.StatusActive })
	c.start(0)
	// The tracker names a sync source only among ACTIVE storages.
	c.waitActive(0)
	c.start(1)
	markPath := filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("127.0.0.72_%d.mark", c.port))
	eventually(t, "the old-file sync to start", func() bool {
		m, err := loadMark(markPath)
		return err == nil && m.ScanRows > 0
	})
	c.stop(0)
	m, err := loadMark(markPath)
	if err != nil || !m.NeedSyncOld {
		t.Fatalf("mark after stop: %+v %v", m, err)
	}
	t.Logf("stopped at %d of 150 records (old-file sync done: %v)", m.ScanRows, m.SyncOldDone)
	c.cfgs[0].SyncInterval = 0
	c.start(0)
	c.waitActive(0, 1)
	files := c.waitSame(0, 1)
	if len(files) != 150 {
		t.Errorf("%d files synced", len(files))
	}
}

// A third storage joining a group of two gets the files of both from its
// single source (source and replica records up to until_timestamp); the
// other member only forwards what is newer.
func TestSyncThirdStorageJoins(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.8", 3)
	c.start(0)
	c.start(1)
	c.waitActive(0, 1)
	a, b := dial(t, c.nodes[0]), dial(t, c.nodes[1])
	for i := range 5 {
		a.upload(protocol.CmdUploadFile, 0, "a", []byte(fmt.Sprintf("from a %d", i)))
		b.upload(protocol.CmdUploadFile, 0, "b", []byte(fmt.Sprintf("from b %d", i)))
	}
	c.waitSame(0, 1)
	c.start(2)
	c.waitActive(2)
	if files := c.waitSame(0, 1, 2); len(files) != 10 {
		t.Errorf("files: %s", describe(files))
	}
	// The tracker chose storage 0 (first by id) as the source. Both marks
	// are written by the storages' own sync threads, which may still be
	// catching up after the files converged: storage 1 starts its thread
	// for the newcomer only when a heartbeat reply lists it, and storage 0
	// records the end of its old-file sync after the last file.
	markOf := func(i int) *syncMark {
		m, err := loadMark(filepath.Join(c.cfgs[i].BasePath, "data", "sync", fmt.Sprintf("127.0.0.83_%d.mark", c.port)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return m
	}
	eventually(t, "the source's mark to record a finished old-file sync", func() bool {
		m := markOf(0)
		return m != nil && m.NeedSyncOld && m.SyncOldDone
	})
	eventually(t, "the non-source's mark for the newcomer", func() bool { return markOf(1) != nil })
	if m := markOf(1); m.NeedSyncOld || m.Until == 0 {
		t.Errorf("non-source mark %+v", m)
	}
	// Changes on any member keep reaching the newcomer.
	fromB := b.upload(protocol.CmdUploadFile, 0, "b", []byte("late"))
	if files := c.waitSame(0, 1, 2); files[dataKey(fromB)] != "late" {
		t.Errorf("late file missing: %s", describe(files))
	}
}

// A member's upload from before a newcomer joined that reaches the
// newcomer's old-file sync source only after that sync is done (here the
// member's sync window was closed; on a loaded machine plain lag does the
// same) still reaches the newcomer: the member skips it for the newcomer
// (it is older than the until timestamp), so the source forwards it.
func TestSyncLateOldFilesReachNewcomer(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.22", 3)
	closed := time.Now().Add(3 * time.Hour)
	c.cfgs[1].SyncStartTime = closed.Format("15:04")
	c.cfgs[1].SyncEndTime = closed.Add(time.Hour).Format("15:04")
	// Storage 0 first: a storage that joins a group in service takes its
	// old files from a member, and storage 1's closed window would hold
	// storage 0 in WAIT_SYNC were storage 1 that member.
	c.start(0)
	c.waitActive(0)
	c.start(1)
	c.waitActive(1)
	a, b := dial(t, c.nodes[0]), dial(t, c.nodes[1])
	fromA := a.upload(protocol.CmdUploadFile, 0, "a", []byte("from a"))
	var fromB []string
	for i := range 3 {
		fromB = append(fromB, b.upload(protocol.CmdUploadFile, 0, "b", []byte(fmt.Sprintf("from b %d", i))))
	}
	// Storage 0 (first by id) becomes the source and finishes the old-file
	// sync without storage 1's files. The newcomer joins a second later
	// than the uploads, so that they are older than its until timestamp.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	c.start(2)
	c.waitActive(2)
	eventually(t, "the source's old-file sync to finish", func() bool {
		m, err := loadMark(filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("127.0.0.223_%d.mark", c.port)))
		return err == nil && m.NeedSyncOld && m.SyncOldDone
	})
	if files := storeFiles(t, c.cfgs[2].BasePath); files[dataKey(fromA)] != "from a" || files[dataKey(fromB[0])] != "" {
		t.Fatalf("before storage 1 syncs, the newcomer holds: %s", describe(files))
	}
	c.stop(1)
	c.cfgs[1].SyncStartTime, c.cfgs[1].SyncEndTime = "", ""
	c.start(1)
	files := c.waitSame(0, 1, 2)
	for i, name := range fromB {
		if want := fmt.Sprintf("from b %d", i); files[dataKey(name)] != want {
			t.Errorf("%s: %q, want %q", name, files[dataKey(name)], want)
		}
	}
}
