package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/storagenode"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestEveryFileOnEveryStorage: with three storages, every file uploaded
// to any of them (the tracker's round robin spreads the uploads) ends up
// byte-identical on all three, metadata files included.
func TestEveryFileOnEveryStorage(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 3})
	want := newFiles()
	sources := map[string]bool{}
	sizes := []int{0, 1, 100, 4 << 10, 300 << 10}
	for i := range 30 {
		b := payload.Bytes(i, sizes[i%len(sizes)])
		id := upload(t, c.Client, b, client.UploadOptions{Ext: "bin"})
		want.add(id, b)
		_, n, err := client.DecodeFileID(id)
		if err != nil {
			t.Fatal(err)
		}
		sources[n.SourceIP] = true
		if i%7 == 0 {
			meta := map[string]string{"i": fmt.Sprint(i), "kind": "test"}
			if err := c.Client.SetMetadata(opCtx(t), id, meta, protocol.MetaOverwrite); err != nil {
				t.Fatalf("set metadata: %v", err)
			}
			want.add(id+metaSuffix, protocol.PackMeta(meta))
		}
	}
	if len(sources) != 3 {
		t.Fatalf("uploads went to %d storages (%v), want all 3", len(sources), sources)
	}
	waitEverywhere(t, c.Storages, want.snapshot())
}

// uploader uploads small files until stopped, recording the acknowledged
// ones. Failures (a storage going away mid-request) are expected and only
// counted: an unacknowledged upload promises nothing.
type uploader struct {
	acked  *files
	mu     sync.Mutex
	count  int
	failed int
	stop   chan struct{}
	done   chan struct{}
}

func startUploader(c *client.Client) *uploader {
	u := &uploader{acked: newFiles(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(u.done)
		for i := 0; ; i++ {
			select {
			case <-u.stop:
				return
			default:
			}
			b := payload.Bytes(100000+i, 512+i%2048)
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			id, err := c.Upload(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "dat"})
			cancel()
			u.mu.Lock()
			if err == nil {
				u.acked.add(id, b)
				u.count++
			} else {
				u.failed++
			}
			u.mu.Unlock()
		}
	}()
	return u
}

func (u *uploader) acknowledged() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count
}

// waitAcked waits until n more uploads than now were acknowledged.
func (u *uploader) waitAcked(t testing.TB, n int) {
	t.Helper()
	target := u.acknowledged() + n
	deadline := time.Now().Add(waitLimit)
	for u.acknowledged() < target {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d uploads acknowledged after %v", u.acknowledged(), target, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (u *uploader) finish() map[string][]byte {
	close(u.stop)
	<-u.done
	return u.acked.snapshot()
}

// TestCatchUpAfterAbruptStop: a storage stopped in the middle of a stream
// of uploads (its connections cut mid-request) and started again catches
// up, and no acknowledged upload is missing on any storage.
func TestCatchUpAfterAbruptStop(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 3})
	u := startUploader(c.Client)
	u.waitAcked(t, 100)
	c.StopStorage(2)
	u.waitAcked(t, 100)
	c.RestartStorage(2)
	u.waitAcked(t, 50)
	acked := u.finish()
	t.Logf("%d uploads acknowledged, %d failed", len(acked), u.failed)
	wantSource(t, acked, c.Storages[2].IP)
	waitEverywhere(t, c.Storages, acked)
}

// TestNewStorageFullSync: a new, empty storage joining a group that holds
// a few thousand small files goes through WAIT_SYNC (it records a sync
// source) to ACTIVE and then holds a full copy.
func TestNewStorageFullSync(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	const n, size, workers = 2000, 1 << 10, 4
	want := newFiles()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				b := payload.Bytes(i, size)
				id, err := c.Client.Upload(opCtx(t), bytes.NewReader(b), size, client.UploadOptions{Ext: "txt"})
				if err != nil {
					errs <- err
					return
				}
				want.add(id, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("upload: %v", err)
	}

	newcomer, base := joinNewStorage(t, c)
	flag, err := os.ReadFile(filepath.Join(base, "data", ".data_init_flag"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(flag), "sync_src_server="+c.Storages[0].ID) && !strings.Contains(string(flag), "sync_src_server="+c.Storages[1].ID) {
		t.Fatalf("the new storage recorded no sync source (no WAIT_SYNC step):\n%s", flag)
	}
	waitEverywhere(t, []*cluster.Storage{newcomer}, want.snapshot())
}

// joinNewStorage starts a new, empty storage in c's group (storage 0's
// configuration on a fresh address and base path) and waits until the
// tracker lists it ACTIVE; it returns the storage and its base path.
func joinNewStorage(t *testing.T, c *cluster.Cluster) (*cluster.Storage, string) {
	t.Helper()
	cfg := c.StorageConf(0)
	ip, err := devcluster.FreeIP(cfg.Port)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), "storage-new")
	cfg.BindAddr = ip
	cfg.BasePath = base
	cfg.StorePaths = []string{filepath.Join(base, "path0")}
	cfg.StorePathCount = 1
	cfg.StorePathReadonly = nil
	srv, err := storagenode.New(cfg, testLogger(t, base))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	waitStatus(t, c.Client, ip, protocol.StatusActive)
	return &cluster.Storage{Name: "storage-new", IP: ip, StorePaths: cfg.StorePaths}, base
}

// testLogger writes a server's log to a file under dir, printed when the
// test fails.
func testLogger(t *testing.T, dir string) *slog.Logger {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "server.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(path)
			if len(b) > 32<<10 {
				b = b[len(b)-32<<10:]
			}
			t.Logf("new storage log:\n%s", b)
		}
		f.Close()
	})
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// waitStatus polls the tracker until the storage with IP ip has status.
func waitStatus(t testing.TB, cl *client.Client, ip string, status byte) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	last := protocol.StatusNone
	for {
		list, err := cl.ListStorages(opCtx(t), "group1", "")
		if err == nil {
			for _, st := range list {
				if st.IP == ip {
					last = st.Status
				}
			}
		}
		if last == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage %s is %s after %v, want %s (last error %v)", ip, protocol.StorageStatusName(last), waitLimit, protocol.StorageStatusName(status), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecoverWipedStorePaths: a storage whose store paths were wiped while
// it was down recovers every file (data and metadata) from its peer. While
// no peer is ACTIVE it stays in RECOVERY and the tracker routes no read to
// it; once the peer is back it restores everything and becomes ACTIVE.
func TestRecoverWipedStorePaths(t *testing.T) {
	for _, idMode := range []bool{false, true} {
		t.Run(map[bool]string{false: "ip mode", true: "id mode"}[idMode], func(t *testing.T) {
			testRecoverWipedStorePaths(t, idMode)
		})
	}
}

func testRecoverWipedStorePaths(t *testing.T, idMode bool) {
	c := cluster.Start(t, cluster.Options{Storages: 2, StorePaths: 2, UseStorageID: idMode})
	want := newFiles()
	sizes := []int{0, 10, 1 << 10, 70 << 10}
	var ids []string
	for i := range 60 {
		b := payload.Bytes(i, sizes[i%len(sizes)])
		id := upload(t, c.Client, b, client.UploadOptions{Ext: "png"})
		want.add(id, b)
		ids = append(ids, id)
		if i%5 == 0 {
			meta := map[string]string{"n": fmt.Sprint(i)}
			if err := c.Client.SetMetadata(opCtx(t), id, meta, protocol.MetaOverwrite); err != nil {
				t.Fatal(err)
			}
			want.add(id+metaSuffix, protocol.PackMeta(meta))
		}
	}
	// A deleted file must not come back.
	if err := c.Client.Delete(opCtx(t), ids[1]); err != nil {
		t.Fatal(err)
	}
	deleted := ids[1]
	files := want.snapshot()
	delete(files, deleted)
	waitEverywhere(t, c.Storages, files)
	waitGone(t, c.Storages, deleted)

	victim := c.Storages[1]
	c.StopStorage(1)
	c.StopStorage(0)
	for _, p := range victim.StorePaths {
		if err := os.RemoveAll(filepath.Join(p, "data")); err != nil {
			t.Fatal(err)
		}
	}
	c.StartStorage(1)
	// No ACTIVE peer to recover from: the storage holds RECOVERY, and
	// reads are not routed to it.
	c.WaitStatus(1, protocol.StatusRecovery)
	if srv, err := c.Client.QueryFetch(opCtx(t), ids[0]); err == nil {
		t.Fatalf("tracker routed a read to %s while the only other storage is in RECOVERY", srv.Addr())
	}
	// Nor does it beat: upstream's tracker makes a storage that beats
	// ACTIVE whatever its status (tests/interop TestDiskRecoveryMixed).
	beat := lastBeat(t, c, victim)
	time.Sleep(3 * time.Second) // 3 heart_beat_intervals
	if now := lastBeat(t, c, victim); now != beat || c.Status(1) != protocol.StatusRecovery {
		t.Fatalf("while recovering: last beat %d, then %d (status %s)", beat, now, protocol.StorageStatusName(c.Status(1)))
	}
	// Nor does it take changes from a client that goes to it directly:
	// the recovery would overwrite them with the peer's older copies.
	rc := wiretest.Dial(t, victim.Addr())
	up := protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: 3, Ext: "txt"}
	if st, _ := rc.Do(protocol.CmdUploadFile, up.Encode(), []byte("abc")); st != protocol.EAGAIN {
		t.Fatalf("upload to a recovering storage: status %d, want EAGAIN", st)
	}
	g, name, _ := fileid.Split(ids[2])
	meta := protocol.SetMetadataRequest{Name: name, Flag: protocol.MetaOverwrite, Group: g, Meta: protocol.PackMeta(map[string]string{"k": "v"})}
	if st, _ := rc.Do(protocol.CmdSetMetadata, meta.Encode()); st != protocol.EAGAIN {
		t.Fatalf("metadata change on a recovering storage: status %d, want EAGAIN", st)
	}
	c.StartStorage(0)
	c.WaitActive()
	if miss := missing(t, victim, files, 10); len(miss) != 0 {
		t.Fatalf("ACTIVE after recovery but missing files: %v", miss)
	}
	waitGone(t, []*cluster.Storage{victim}, deleted)
	for _, p := range victim.StorePaths {
		for _, f := range []string{".recovery.flag", ".recovery.mark.0", ".binlog.recovery.0"} {
			if _, err := os.Stat(filepath.Join(p, "data", f)); err == nil {
				t.Errorf("%s left behind in %s", f, p)
			}
		}
	}
	// Reads through the tracker work on both again.
	for _, id := range ids[:5] {
		var buf bytes.Buffer
		if _, err := c.Client.Download(opCtx(t), id, 0, 0, &buf); err != nil && len(files[id]) != 0 {
			t.Fatalf("download %s: %v", id, err)
		}
	}

	// With the whole base path gone too (store_path0 = base_path, the
	// upstream default, loses everything) the storage is new to itself:
	// it gets a full sync from its peer.
	c.StopStorage(1)
	if err := os.RemoveAll(victim.BasePath); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(1)
	c.WaitActive()
	waitEverywhere(t, []*cluster.Storage{victim}, files)
	waitGone(t, []*cluster.Storage{victim}, deleted)
}

// waitGone checks that id is absent on every storage.
func waitGone(t testing.TB, storages []*cluster.Storage, id string) {
	t.Helper()
	for _, s := range storages {
		if _, err := os.Stat(storedPath(t, s, id)); err == nil {
			t.Fatalf("deleted file %s is present on %s", id, s.Name)
		}
	}
}

// TestReadAfterWrite: a download right after each upload, with the tracker
// picking the replica (QUERY_FETCH_ONE, round robin), never answers "not
// found": the tracker only routes a fresh file to a storage that has it.
func TestReadAfterWrite(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 3})
	notFound, servedBy := 0, map[string]int{}
	for i := range 1000 {
		b := payload.Bytes(i, 1<<10)
		id := upload(t, c.Client, b, client.UploadOptions{Ext: "jpg"})
		srv, err := c.Client.QueryFetch(opCtx(t), id)
		if err != nil {
			t.Fatalf("query fetch %s: %v", id, err)
		}
		servedBy[srv.Addr()]++
		var buf bytes.Buffer
		_, err = c.Client.Download(opCtx(t), id, 0, 0, &buf)
		switch {
		case errors.Is(err, protocol.ErrNotFound):
			notFound++
		case err != nil:
			t.Fatalf("download %s: %v", id, err)
		case !bytes.Equal(buf.Bytes(), b):
			t.Fatalf("download %s: wrong content", id)
		}
	}
	if notFound != 0 {
		t.Fatalf("%d of 1000 downloads right after the upload answered not found (reads by storage: %v)", notFound, servedBy)
	}
	t.Logf("reads by storage: %v", servedBy)
}

// TestFetchOnePathBinlog checks FETCH_ONE_PATH_BINLOG (26) on the wire: an
// endless-body header (2^58) then the create records of the requested store
// path only, their length (8 bytes), and the close; bad requests get an
// error status.
func TestFetchOnePathBinlog(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1, StorePaths: 2})
	byPath := map[int]map[string]bool{0: {}, 1: {}}
	for i := range 20 {
		id := upload(t, c.Client, payload.Bytes(i, 100), client.UploadOptions{Ext: "txt"})
		_, n, err := client.DecodeFileID(id)
		if err != nil {
			t.Fatal(err)
		}
		_, name, _ := fileid.Split(id)
		byPath[n.StorePathIndex][name] = true
	}
	for idx := range 2 {
		got := fetchOnePath(t, c.Storages[0], "group1", byte(idx))
		names := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if line == "" {
				continue
			}
			f := strings.Fields(line)
			if len(f) != 3 || (f[1] != "C" && f[1] != "c") {
				t.Fatalf("path %d: bad record %q", idx, line)
			}
			names[f[2]] = true
		}
		if len(names) != len(byPath[idx]) {
			t.Fatalf("path %d: %d names streamed, want %d:\n%s", idx, len(names), len(byPath[idx]), got)
		}
		for n := range byPath[idx] {
			if !names[n] {
				t.Fatalf("path %d: %s not streamed", idx, n)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		body  []byte
		group string
	}{
		{"other group", nil, "group9"},
		{"path index out of range", nil, ""},
		{"short body", []byte("group1"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				e := protocol.NewEncoder(protocol.GroupNameLen + 1)
				g, idx := tc.group, byte(7)
				if g != "" {
					idx = 0
				} else {
					g = "group1"
				}
				e.Fixed(g, protocol.GroupNameLen)
				e.Byte(idx)
				body = e.B
			}
			conn := dialFromMember(t, c.Storages[0])
			if err := protocol.WritePacket(conn, protocol.CmdFetchOnePathBinlog, 0, body); err != nil {
				t.Fatal(err)
			}
			h, err := protocol.ReadHeader(conn)
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != protocol.EINVAL || h.Length != 0 {
				t.Fatalf("reply status %d length %d, want EINVAL with no body", h.Status, h.Length)
			}
		})
	}
}

// dialFromMember connects to storage s from its own address, which is a
// member of its group: only members may send the storage-to-storage
// commands.
func dialFromMember(t *testing.T, s *cluster.Storage) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: opTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(s.IP)}}
	conn, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(opTimeout))
	return conn
}

// fetchOnePath sends FETCH_ONE_PATH_BINLOG from a member's address and
// returns the streamed text.
func fetchOnePath(t *testing.T, s *cluster.Storage, group string, idx byte) string {
	t.Helper()
	conn := dialFromMember(t, s)
	e := protocol.NewEncoder(protocol.GroupNameLen + 1)
	e.Fixed(group, protocol.GroupNameLen)
	e.Byte(idx)
	if err := protocol.WritePacket(conn, protocol.CmdFetchOnePathBinlog, 0, e.B); err != nil {
		t.Fatal(err)
	}
	h, err := protocol.ReadHeader(conn)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != 0 || h.Length != 1<<58 {
		t.Fatalf("reply status %d length %d, want 0 and 2^58", h.Status, h.Length)
	}
	b, err := io.ReadAll(io.LimitReader(conn, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	// Upstream's receiver takes the stream only if its last 8 bytes give
	// the length of what came before them (tcprecvfile).
	n := len(b) - 8
	if n < 0 || binary.BigEndian.Uint64(b[n:]) != uint64(n) {
		t.Fatalf("stream of %d bytes without its length at the end: %q", len(b), b)
	}
	return string(b[:n])
}

// lastBeat is the last_heart_beat_time the tracker lists for st (unix
// seconds).
func lastBeat(t *testing.T, c *cluster.Cluster, st *cluster.Storage) int64 {
	t.Helper()
	list, err := c.Client.ListStorages(opCtx(t), st.Group, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == st.ID {
			return s.Stat.LastHeartBeatTime
		}
	}
	t.Fatalf("%s not listed", st.ID)
	return 0
}
