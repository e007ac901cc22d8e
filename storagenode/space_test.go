package storagenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/trackernode"
)

// Tests of the space accounting (space.go) on the real filesystem of the
// temp dir. The reserve is set from what statfs reports when the test
// starts, so that 90% of the free space stays above it; content sizes are
// announced as fractions of that headroom, but only a few KB are ever
// sent, so the tests need no small or mounted filesystem, and their margins
// (a sixth of the free space or more) absorb what other processes, the
// other test packages among them, write meanwhile.

// headroom returns the free bytes of dir's filesystem and the headroom the
// tests leave above the reserve: 90% of the free space.
func headroom(t *testing.T, dir string) (free, h int64) {
	t.Helper()
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(dir, &sfs); err != nil {
		t.Fatal(err)
	}
	free = int64(sfs.Bavail) * int64(sfs.Bsize)
	h = free / 10 * 9
	if h < 64<<20 {
		t.Skipf("%s has %d MB free; the test needs 72 MB", dir, free>>20)
	}
	return free, h
}

// setReserve sets reserved_storage_space as the trackers' parameters would.
func setReserve(s *Server, r conf.Reserved) {
	p := *s.params.Load()
	p.Reserved = r
	s.params.Store(&p)
}

// contentWrite is one kind of request carrying file content. prepare
// creates what it needs on s and returns req, the header and fixed part of
// the k-th request (k < 3, each on a file of its own) announcing n content
// bytes, and landed, how many content bytes of request k are on disk.
type contentWrite struct {
	name    string
	prepare func(t *testing.T, s *Server) (req func(k int, n int64) []byte, landed func(k int) int64)
}

// withHeader prefixes the fixed part of a request with a header announcing
// it and n content bytes.
func withHeader(cmd byte, fixed []byte, n int64) []byte {
	return append(protocol.Header{Length: int64(len(fixed)) + n, Cmd: cmd}.Bytes(), fixed...)
}

// tempBytes returns landed for new files: the bytes of the upload temp files.
func tempBytes(t *testing.T, s *Server) func(int) int64 {
	return func(int) int64 {
		var n int64
		for _, f := range dataFiles(t, s.cfg.BasePath) {
			if fi, err := os.Stat(f); err == nil && strings.HasPrefix(filepath.Base(f), ".upload-") {
				n += fi.Size()
			}
		}
		return n + unnamedBytes(t, s.cfg.BasePath)
	}
}

// unnamedBytes is the size of the files without a name (tmpfile's
// O_TMPFILE files) this process has open under dir: the server runs in the
// test's process, and /proc/self/fd names such a file "dir/#inode (deleted)".
func unnamedBytes(t *testing.T, dir string) int64 {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range fds {
		fd := filepath.Join("/proc/self/fd", e.Name())
		target, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(target, dir+"/") || !strings.HasSuffix(target, " (deleted)") {
			continue
		}
		if fi, err := os.Stat(fd); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// appenders uploads three appender files of 4 bytes and returns their
// names and landed for writes to them: what they grew by, plus the bytes
// of the temp files a change is received into before it is applied.
func appenders(t *testing.T, s *Server) ([]string, func(int) int64) {
	rc := dial(t, s)
	names := make([]string, 3)
	for k := range names {
		names[k] = rc.upload(protocol.CmdUploadAppenderFile, 0, "bin", []byte("base"))
	}
	temps := tempBytes(t, s)
	return names, func(k int) int64 {
		_, p, err := s.store.resolve(names[k])
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size() - 4 + temps(k)
	}
}

func newFileWrite(name string, req func(t *testing.T, s *Server, k int, n int64) []byte) contentWrite {
	return contentWrite{name, func(t *testing.T, s *Server) (func(int, int64) []byte, func(int) int64) {
		return func(k int, n int64) []byte { return req(t, s, k, n) }, tempBytes(t, s)
	}}
}

func appenderWrite(name string, req func(file string, n int64) []byte) contentWrite {
	return contentWrite{name, func(t *testing.T, s *Server) (func(int, int64) []byte, func(int) int64) {
		names, landed := appenders(t, s)
		allowSyncFrom(s, "127.0.0.1")
		return func(k int, n int64) []byte { return req(names[k], n) }, landed
	}}
}

// contentWrites lists every request that adds file content to a store path.
func contentWrites() []contentWrite {
	upload := func(cmd byte) func(*testing.T, *Server, int, int64) []byte {
		return func(_ *testing.T, _ *Server, _ int, n int64) []byte {
			return withHeader(cmd, (&protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: n, Ext: "bin"}).Encode(), n)
		}
	}
	return []contentWrite{
		newFileWrite("upload", upload(protocol.CmdUploadFile)),
		newFileWrite("upload appender", upload(protocol.CmdUploadAppenderFile)),
		{"upload slave", func(t *testing.T, s *Server) (func(int, int64) []byte, func(int) int64) {
			rc := dial(t, s)
			masters := make([]string, 3)
			for k := range masters {
				masters[k] = rc.upload(protocol.CmdUploadFile, 0, "bin", []byte("master"))
			}
			return func(k int, n int64) []byte {
				req := protocol.UploadSlaveRequest{MasterName: masters[k], FileSize: n, Prefix: "_s", Ext: "bin"}
				return withHeader(protocol.CmdUploadSlaveFile, req.Encode(), n)
			}, tempBytes(t, s)
		}},
		newFileWrite("sync create", func(t *testing.T, s *Server, k int, n int64) []byte {
			allowSyncFrom(s, "127.0.0.1")
			src, _ := fileid.SourceFromIP("127.0.0.9")
			name, err := fileid.Generate(0, 1, 1, fileid.Fields{Source: src, Timestamp: time.Now().Unix(), Size: n, CRC32: uint32(k)}, "bin")
			if err != nil {
				t.Fatal(err)
			}
			req := protocol.SyncFileRequest{Name: name, FileSize: n, Timestamp: 1, Group: "group1"}
			return withHeader(protocol.CmdSyncCreateFile, req.Encode(), n)
		}),
		appenderWrite("append", func(file string, n int64) []byte {
			return withHeader(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: file, Length: n}).Encode(), n)
		}),
		appenderWrite("modify growing the file", func(file string, n int64) []byte {
			return withHeader(protocol.CmdModifyFile, (&protocol.ModifyRequest{Name: file, Offset: 2, Length: n}).Encode(), n)
		}),
		appenderWrite("sync append", func(file string, n int64) []byte {
			req := protocol.SyncRangeRequest{Name: file, Offset: 4, Length: n, Timestamp: 1, Group: "group1"}
			return withHeader(protocol.CmdSyncAppendFile, req.Encode(), n)
		}),
	}
}

// startedChunk is how much content holdWrite sends before it waits (bytes).
const startedChunk = 64 << 10

// holdWrite sends pkt and startedChunk content bytes, waits until all of
// them are on disk (the storage took the write and is waiting for the
// rest; landed counts every temp file, so it must not grow after this)
// and returns the connection, to be closed to abort the write.
func holdWrite(t *testing.T, s *Server, pkt []byte, landed func() int64) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(append(pkt, make([]byte, startedChunk)...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first content bytes on disk", func() bool { return landed() >= startedChunk })
	return c
}

// probe sends pkt, some content when withContent, and then ends the
// request early. A write the storage takes fails for want of its content
// and the connection just closes (admitted); a refused one gets its status
// (before the fix, a refused write was only answered after its body).
func probe(t *testing.T, s *Server, pkt []byte, withContent bool) (status byte, admitted bool) {
	t.Helper()
	rc := dial(t, s)
	if withContent {
		pkt = append(pkt, make([]byte, startedChunk)...)
	}
	if _, err := rc.Conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	if err := rc.Conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	h, err := protocol.ReadHeader(rc.Conn)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, true
	}
	if err != nil {
		t.Fatal(err)
	}
	return h.Status, false
}

// Writes in progress hold their room: with one write of 60% of the
// headroom taking its time, a second one is refused with ENOSPC at once,
// before its content; once the first is aborted its room comes back.
func TestInFlightWritesCountAgainstReserve(t *testing.T) {
	for _, c := range contentWrites() {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			s := startServer(t, cfg)
			req, landed := c.prepare(t, s)
			free, h := headroom(t, cfg.BasePath)
			setReserve(s, conf.Reserved{Bytes: free - h})
			n := h / 10 * 6
			first := holdWrite(t, s, req(0, n), func() int64 { return landed(0) })
			before := landed(1)
			if st, admitted := probe(t, s, req(1, n), false); admitted || st != protocol.ENOSPC {
				t.Fatalf("second write of %d MB with %d MB above the reserve and %d MB in progress: admitted %v, status %d; want ENOSPC",
					n>>20, h>>20, n>>20, admitted, st)
			}
			if got := landed(1); got != before {
				t.Fatalf("the refused write left %d bytes", got-before)
			}
			first.Close()
			waitFor(t, "the room of the aborted write to come back", func() bool {
				_, admitted := probe(t, s, req(2, n), true)
				return admitted
			})
		})
	}
}

// A refused write's content is read and dropped, not cut off: a client
// that sends all of it gets ENOSPC (not "connection reset") and can go on
// using the connection; nothing reaches the disk.
func TestRefusedContentLeavesConnectionUsable(t *testing.T) {
	// More than the socket buffers of both ends can hold (bytes), so that a
	// storage closing without reading it resets the connection.
	const n = 32 << 20
	for _, c := range contentWrites() {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, testConfig(t))
			req, landed := c.prepare(t, s)
			setReserve(s, reservedAll())
			rc := dial(t, s)
			h, _ := rc.Raw(append(req(0, n), make([]byte, n)...))
			if h.Status != protocol.ENOSPC {
				t.Fatalf("status %d, want ENOSPC", h.Status)
			}
			rc.alive()
			if got := landed(0); got != 0 {
				t.Fatalf("the refused write left %d bytes", got)
			}
		})
	}
}

// startTracked starts a tracker on trackerIP and a storage on storageIP,
// changed by mut, and waits until the storage is ACTIVE and has reported
// its disk usage.
func startTracked(t *testing.T, trackerIP, storageIP string, mut func(*conf.Storage)) (string, *Server) {
	t.Helper()
	tr, err := trackernode.New(&conf.Tracker{BindAddr: trackerIP, BasePath: t.TempDir(),
		CheckActiveInterval: 10 * time.Second, NetworkTimeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	cfg := testConfig(t)
	cfg.BindAddr = storageIP
	cfg.TrackerServers = []string{tr.Addr()}
	cfg.HeartBeatInterval = 50 * time.Millisecond
	mut(cfg)
	s := startServer(t, cfg)
	waitFor(t, "the storage to become ACTIVE", func() bool {
		st := storageOnTracker(t, tr.Addr(), storageIP)
		return st != nil && st.Status == protocol.StatusActive && st.TotalMB > 0
	})
	return tr.Addr(), s
}

// The client engine gets ENOSPC for an upload the storage refuses, however
// large.
func TestClientSeesNoSpace(t *testing.T) {
	trackerAddr, s := startTracked(t, "127.0.0.6", "127.0.0.10", func(*conf.Storage) {})
	setReserve(s, reservedAll())
	cl, err := client.New(client.Config{Trackers: []string{trackerAddr}, NetworkTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 32 << 20
	_, err = cl.Upload(context.Background(), io.LimitReader(zeros{}, n), n, client.UploadOptions{Ext: "bin"})
	if !errors.Is(err, protocol.ErrNoSpace) {
		t.Fatalf("upload of %d MB on a full storage: %v, want ENOSPC", n>>20, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// The reserve in bytes is shared by the store paths (upstream's
// g_avg_storage_reserved_mb): each path keeps reserved/store_path_count.
func TestReserveSharedByStorePaths(t *testing.T) {
	tests := []struct {
		name    string
		percent int64 // reserved_storage_space as a percentage of the free space
		want    byte
	}{
		{"each path keeps 75% of the free space", 150, 0},
		{"each path keeps 125% of the free space", 250, protocol.ENOSPC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.StorePaths = append(cfg.StorePaths, t.TempDir())
			cfg.StorePathCount = 2
			s := startServer(t, cfg)
			free, _ := headroom(t, cfg.BasePath)
			setReserve(s, conf.Reserved{Bytes: free / 100 * tc.percent})
			req := protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: 1, Ext: "bin"}
			if st, _ := dial(t, s).Do(protocol.CmdUploadFile, req.Encode(), []byte("x")); st != tc.want {
				t.Fatalf("upload: status %d, want %d", st, tc.want)
			}
		})
	}
}

// The trackers hear at once, not after stat_report_interval, that a write
// in progress took a large part of the free space, and again when it gave
// it back.
func TestDiskUsageReportedAtOnce(t *testing.T) {
	trackerAddr, s := startTracked(t, "127.0.0.6", "127.0.0.11", func(c *conf.Storage) { c.StatReportInterval = time.Hour })
	free, h := headroom(t, s.cfg.BasePath)
	reported := func() int64 {
		st := storageOnTracker(t, trackerAddr, "127.0.0.11")
		if st == nil {
			t.Fatal("the storage is not on the tracker")
		}
		return st.FreeMB
	}
	n := h / 10 * 6
	pkt := withHeader(protocol.CmdUploadFile, (&protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: n, Ext: "bin"}).Encode(), n)
	c := holdWrite(t, s, pkt, func() int64 { return tempBytes(t, s)(0) })
	waitFor(t, fmt.Sprintf("the tracker to see %d MB in progress taken from %d MB free", n>>20, free>>20), func() bool {
		return reported() < (free-n/2)>>20
	})
	c.Close()
	waitFor(t, "the tracker to see the room given back", func() bool {
		return reported() > (free-n/2)>>20
	})
}

// A prompt disk usage report is due on a large move, or when the path
// crosses the reserve as the storage counts (bytes) or as the trackers do
// (whole MB, the report's unit).
func TestReportDueOnReserveCrossing(t *testing.T) {
	const (
		total = 16 << 20
		kib   = 1 << 10
	)
	r := conf.Reserved{IsPercent: true, Percent: 10} // 1638.4 KiB
	tests := []struct {
		name        string
		last, avail int64 // free bytes at the last report, now
		want        bool
	}{
		{"small move far from the reserve", 8 << 20, 8<<20 - 100*kib, false},
		{"large move", 8 << 20, 6 << 20, true},
		{"below the reserve in whole MB only", 2 << 20, 1792 * kib, true},
		{"below the reserve in whole MB before and after", 1900 * kib, 1700 * kib, false},
		{"below the reserve in bytes", 1700 * kib, 1500 * kib, true},
		{"back above in whole MB", 1900 * kib, 2 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &store{paths: []string{"p"}, space: newSpaceBook(1)}
			ch := make(chan struct{}, 1)
			st.space.watchers[ch] = struct{}{}
			st.space.reported[0] = tt.last
			st.noteLocked(0, total, tt.avail, r)
			if got := len(ch) == 1; got != tt.want {
				t.Errorf("report due %v, want %v", got, tt.want)
			}
		})
	}
}

// An upload that leaves the store path to the storage (StoreAnyPath) goes,
// under store_path = 2, to the path with the most room, the writes in
// progress counted; under store_path = 0 to the paths in turn.
func TestStorePathOrder(t *testing.T) {
	cfg := testConfig(t)
	cfg.StorePaths = append(cfg.StorePaths, t.TempDir()) // the same file system
	cfg.StorePathCount = 2
	s := startServer(t, cfg)
	setMode := func(m conf.StorePathMode) {
		p := *s.params.Load()
		p.StorePathMode = m
		s.params.Store(&p)
	}
	_, h := headroom(t, cfg.BasePath)
	n := min(h/4, 256<<20)
	req := withHeader(protocol.CmdUploadFile, (&protocol.UploadRequest{StorePathIndex: 0, FileSize: n, Ext: "bin"}).Encode(), n)
	landed := tempBytes(t, s)
	held := holdWrite(t, s, req, func() int64 { return landed(0) })

	rc := dial(t, s)
	pathOf := func() string { return rc.upload(protocol.CmdUploadFile, protocol.StoreAnyPath, "txt", []byte("x"))[:3] }
	setMode(conf.StorePathLoadBalance)
	for i := range 3 {
		if got := pathOf(); got != "M01" {
			t.Fatalf("upload %d with %d MB in progress on M00 went to %s, want M01 (most free)", i, n>>20, got)
		}
	}
	held.Close()
	setMode(conf.StorePathRoundRobin)
	a, b := pathOf(), pathOf()
	if a == b {
		t.Fatalf("round robin: two uploads both went to %s", a)
	}
}
