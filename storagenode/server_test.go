package storagenode

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

func TestUploadDownloadDelete(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	content := []byte("0123456789")
	before := time.Now().Unix()
	name := rc.upload(protocol.CmdUploadFile, 0, "txt", content)
	if len(name) != 44 || !strings.HasPrefix(name, "M00/00/00/") || !strings.HasSuffix(name, ".txt") {
		t.Fatalf("name %q", name)
	}
	n := mustParse(t, name)
	if n.SourceIP != "127.0.0.1" || n.Size != 10 || n.CRC32 != 0xa684c7c6 || n.Appender || n.Timestamp < before-1 { // file timestamps use a coarse clock
		t.Errorf("name fields %+v", n)
	}
	if got, err := os.ReadFile(filepath.Join(s.cfg.BasePath, "data", "00", "00", n.File)); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("stored file %q, %v", got, err)
	}

	ranges := []struct {
		off, length int64
		status      byte
		want        string
	}{
		{0, 0, 0, "0123456789"},
		{2, 3, 0, "234"},
		{5, 100, 0, "56789"},
		{9, 0, 0, "9"},
		{10, 0, protocol.EINVAL, ""},
		{11, 1, protocol.EINVAL, ""},
		{-1, 0, protocol.EINVAL, ""},
		{0, -1, protocol.EINVAL, ""},
	}
	for _, r := range ranges {
		st, body := rc.download(name, r.off, r.length)
		if st != r.status || string(body) != r.want {
			t.Errorf("download(%d, %d) = %d %q, want %d %q", r.off, r.length, st, body, r.status, r.want)
		}
	}

	st, fi := rc.fileInfo(name, 0)
	if st != 0 || fi.Size != 10 || fi.CRC32 != 0xa684c7c6 || fi.SourceIP != "127.0.0.1" || fi.CreateTime < before-1 {
		t.Errorf("file info %d %+v", st, fi)
	}

	if st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); st != 0 {
		t.Fatalf("delete status %d", st)
	}
	if st, _ := rc.download(name, 0, 0); st != protocol.ENOENT {
		t.Errorf("download after delete: status %d", st)
	}
	if st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); st != protocol.ENOENT {
		t.Errorf("second delete: status %d", st)
	}
	if st, _ := rc.fileInfo(name, 0); st != protocol.ENOENT {
		t.Errorf("file info after delete: status %d", st)
	}
	want := []string{"C " + name, "D " + name}
	if got := binlogOps(t, s); !slices.Equal(got, want) {
		t.Errorf("binlog %q, want %q", got, want)
	}
	rc.alive()
}

func TestZeroByteFile(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadFile, 0xFF, "", nil)
	n := mustParse(t, name)
	if n.Size != 0 || n.CRC32 != 0 || len(name) != 44 {
		t.Errorf("zero-byte name %q: %+v", name, n)
	}
	// 6.16.1 refuses to download a 0-byte file (offset 0 >= size 0).
	if st, _ := rc.download(name, 0, 0); st != protocol.EINVAL {
		t.Errorf("download of empty file: status %d", st)
	}
	if st, fi := rc.fileInfo(name, 0); st != 0 || fi.Size != 0 {
		t.Errorf("file info %d %+v", st, fi)
	}
}

func TestMetadata(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadFile, 0, "jpg", []byte("x"))
	if st, _ := rc.fileCmd(protocol.CmdGetMetadata, name); st != protocol.ENOENT {
		t.Fatalf("get metadata without meta file: %d", st)
	}
	steps := []struct {
		flag byte
		meta map[string]string
		want string
	}{
		{protocol.MetaOverwrite, map[string]string{"width": "1024", "author": "fdfs"}, "author\x02fdfs\x01width\x021024"},
		{protocol.MetaMerge, map[string]string{"height": "80", "author": "me"}, "author\x02me\x01height\x0280\x01width\x021024"},
		{protocol.MetaMerge, nil, "author\x02me\x01height\x0280\x01width\x021024"},
		{protocol.MetaOverwrite, map[string]string{"z": "1"}, "z\x021"},
		{protocol.MetaOverwrite, nil, ""},
		{protocol.MetaMerge, map[string]string{"b": "2"}, "b\x022"},
	}
	for i, st := range steps {
		if code := rc.setMeta(name, st.flag, protocol.PackMeta(st.meta)); code != 0 {
			t.Fatalf("step %d: set status %d", i, code)
		}
		code, body := rc.fileCmd(protocol.CmdGetMetadata, name)
		if st.want == "" {
			if code != protocol.ENOENT {
				t.Errorf("step %d: get after clearing = %d %q", i, code, body)
			}
			continue
		}
		if code != 0 || string(body) != st.want {
			t.Errorf("step %d: get = %d %q, want %q", i, code, body, st.want)
		}
	}
	m := name + "-m"
	want := []string{"C " + name, "C " + m, "U " + m, "U " + m, "D " + m, "C " + m}
	if got := binlogOps(t, s); !slices.Equal(got, want) {
		t.Errorf("binlog %q\nwant %q", got, want)
	}
	if code := rc.setMeta(name, 'X', protocol.PackMeta(map[string]string{"a": "b"})); code != protocol.EINVAL {
		t.Errorf("bad flag: %d", code)
	}
	missing := strings.Replace(name, name[10:14], "AAAA", 1)
	if code := rc.setMeta(missing, protocol.MetaOverwrite, []byte("a\x02b")); code != protocol.ENOENT {
		t.Errorf("set meta on missing file: %d", code)
	}
	// meta_len that does not match the body.
	b := (&protocol.SetMetadataRequest{Name: name, Flag: 'O', Group: "group1", Meta: []byte("a\x02b")}).Encode()
	b[15]++
	if st, _ := rc.Do(protocol.CmdSetMetadata, b); st != protocol.EINVAL {
		t.Errorf("meta length mismatch: %d", st)
	}
	// Deleting the file deletes its metadata too.
	if st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); st != 0 {
		t.Fatal(st)
	}
	if ops := binlogOps(t, s); !slices.Equal(ops[len(ops)-2:], []string{"D " + name, "D " + m}) {
		t.Errorf("delete binlog %q", ops)
	}
	if files := dataFiles(t, s.cfg.BasePath); len(files) != 0 {
		t.Errorf("files left: %q", files)
	}
}

func TestAppenderFlow(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadAppenderFile, 0, "txt", []byte("ABCDE"))
	n := mustParse(t, name)
	if !n.Appender || n.CRC32 != crc32.ChecksumIEEE([]byte("ABCDE")) {
		t.Fatalf("appender name %+v", n)
	}
	content := func() string {
		st, b := rc.download(name, 0, 0)
		if st != 0 {
			t.Fatalf("download status %d", st)
		}
		return string(b)
	}
	appendReq := func(name string, data string) byte {
		st, _ := rc.Do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: name, Length: int64(len(data))}).Encode(), []byte(data))
		return st
	}
	modifyReq := func(off int64, data string) byte {
		st, _ := rc.Do(protocol.CmdModifyFile, (&protocol.ModifyRequest{Name: name, Offset: off, Length: int64(len(data))}).Encode(), []byte(data))
		return st
	}
	truncReq := func(size int64) byte {
		st, _ := rc.Do(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name, NewSize: size}).Encode())
		return st
	}
	if st := appendReq(name, "0123456789"); st != 0 || content() != "ABCDE0123456789" {
		t.Fatalf("append: %d %q", st, content())
	}
	if st := appendReq(name, ""); st != 0 {
		t.Errorf("empty append: %d", st)
	}
	if st := modifyReq(15, "xyz"); st != 0 || content() != "ABCDE0123456789xyz" {
		t.Errorf("modify at end: %d %q", st, content())
	}
	if st := modifyReq(1, "bc"); st != 0 || content() != "AbcDE0123456789xyz" {
		t.Errorf("modify inside: %d %q", st, content())
	}
	if st := modifyReq(19, "q"); st != protocol.EINVAL {
		t.Errorf("modify past end: %d", st)
	}
	if st := truncReq(5); st != 0 || content() != "AbcDE" {
		t.Errorf("truncate: %d %q", st, content())
	}
	if st := truncReq(5); st != 0 {
		t.Errorf("truncate to same size: %d", st)
	}
	if st := truncReq(-1); st != protocol.EINVAL {
		t.Errorf("negative truncate: %d", st)
	}
	st, fi := rc.fileInfo(name, 0)
	if st != 0 || fi.Size != 5 || fi.CRC32 != crc32.ChecksumIEEE([]byte("AbcDE")) {
		t.Errorf("appender file info %d %+v", st, fi)
	}
	if st, fi := rc.fileInfo(name, protocol.FileInfoNoCRC); st != 0 || fi.CRC32 != 0 {
		t.Errorf("no-crc file info %d %+v", st, fi)
	}
	// Normal files refuse appender operations.
	normal := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("n"))
	if st := appendReq(normal, "x"); st != protocol.EINVAL {
		t.Errorf("append to normal file: %d", st)
	}
	// Declared length not matching the body.
	if st, _ := rc.Do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: name, Length: 3}).Encode(), []byte("ab")); st != protocol.EINVAL {
		t.Errorf("short append body: %d", st)
	}
	// Name length below 44.
	if st, _ := rc.Do(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name[:40], NewSize: 1}).Encode()); st != protocol.EINVAL {
		t.Errorf("short name: %d", st)
	}

	st, body := rc.Do(protocol.CmdRegenerateAppenderFilename, []byte(name))
	if st != 0 {
		t.Fatalf("regenerate: %d", st)
	}
	r, err := protocol.DecodeFileResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	nn := mustParse(t, r.Name)
	if nn.Appender || nn.Size != 5 || nn.CRC32 != crc32.ChecksumIEEE([]byte("AbcDE")) || r.Name[37:] != name[37:] || len(r.Name) != 44 {
		t.Errorf("regenerated %q from %q: %+v", r.Name, name, nn)
	}
	if st, _ := rc.download(name, 0, 0); st != protocol.ENOENT {
		t.Errorf("old name still there: %d", st)
	}
	if st, b := rc.download(r.Name, 0, 0); st != 0 || string(b) != "AbcDE" {
		t.Errorf("regenerated content %d %q", st, b)
	}
	if st, _ := rc.Do(protocol.CmdRegenerateAppenderFilename, []byte(r.Name)); st != protocol.EINVAL {
		t.Errorf("regenerate a normal file: %d", st)
	}
	want := []string{
		"C " + name,
		"A " + name + " 5 10",
		"M " + name + " 15 3",
		"M " + name + " 1 2",
		"T " + name + " 18 5",
		"C " + normal,
		"R " + r.Name + " " + name,
	}
	if got := binlogOps(t, s); !slices.Equal(got, want) {
		t.Errorf("binlog\n%q\nwant\n%q", got, want)
	}
}

func TestSlaveUpload(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	master := rc.upload(protocol.CmdUploadFile, 0, "jpg", []byte("master"))
	slave := func(master, prefix, ext string, data []byte) (byte, string) {
		req := protocol.UploadSlaveRequest{MasterName: master, FileSize: int64(len(data)), Prefix: prefix, Ext: ext}
		st, body := rc.Do(protocol.CmdUploadSlaveFile, req.Encode(), data)
		if st != 0 {
			return st, ""
		}
		r, err := protocol.DecodeFileResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		return 0, r.Name
	}
	st, name := slave(master, "_big", "", []byte("slave data"))
	if st != 0 || name != master[:len(master)-4]+"_big.jpg" {
		t.Fatalf("slave %d %q (master %q)", st, name, master)
	}
	if st, b := rc.download(name, 0, 0); st != 0 || string(b) != "slave data" {
		t.Errorf("slave content %d %q", st, b)
	}
	if st, fi := rc.fileInfo(name, 0); st != 0 || fi.Size != 10 || fi.CRC32 != crc32.ChecksumIEEE([]byte("slave data")) {
		t.Errorf("slave info %d %+v", st, fi)
	}
	if st, _ := slave(master, "_big", "", []byte("again")); st != protocol.EEXIST {
		t.Errorf("duplicate slave: %d", st)
	}
	if st, name := slave(master, "_s", "png", []byte("p")); st != 0 || !strings.HasSuffix(name, "_s.png") {
		t.Errorf("slave with ext: %d %q", st, name)
	}
	if st, _ := slave(master, "", "", []byte("p")); st != protocol.EINVAL {
		t.Errorf("empty prefix: %d", st)
	}
	missing := master[:10] + "AAAA" + master[14:]
	if st, _ := slave(missing, "_x", "", []byte("p")); st != protocol.ENOENT {
		t.Errorf("missing master: %d", st)
	}
	// file_size not matching the body.
	req := protocol.UploadSlaveRequest{MasterName: master, FileSize: 5, Prefix: "_y"}
	if st, _ := rc.Do(protocol.CmdUploadSlaveFile, req.Encode(), []byte("abc")); st != protocol.EINVAL {
		t.Errorf("slave size mismatch: %d", st)
	}
	rc.alive()
}

func TestLargeFileStreaming(t *testing.T) {
	cfg := testConfig(t)
	cfg.FsyncAfterWrittenBytes = 256 << 10
	s := startServer(t, cfg)
	rc := dial(t, s)
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	name := rc.upload(protocol.CmdUploadFile, 0, "bin", data)
	n := mustParse(t, name)
	if n.Size != int64(len(data)) || n.CRC32 != crc32.ChecksumIEEE(data) {
		t.Errorf("name %+v", n)
	}
	st, b := rc.download(name, 0, 0)
	if st != 0 || !bytes.Equal(b, data) {
		t.Fatalf("download %d, %d bytes", st, len(b))
	}
	st, b = rc.download(name, 1<<20, 1<<20)
	if st != 0 || !bytes.Equal(b, data[1<<20:2<<20]) {
		t.Errorf("range download %d, %d bytes", st, len(b))
	}
	// Download counters are updated once the bytes are sent, so wait.
	waitFor(t, "download counters", func() bool { return s.stats.snapshot().SuccessDownloadCount == 2 })
	snap := s.stats.snapshot()
	if snap.SuccessUploadBytes != int64(len(data)) || snap.SuccessDownloadBytes != int64(len(data)+1<<20) {
		t.Errorf("stats %+v", snap)
	}
}

func TestStorePathSelection(t *testing.T) {
	cfg := testConfig(t)
	p1 := t.TempDir()
	cfg.StorePathCount = 2
	cfg.StorePaths = []string{cfg.BasePath, p1}
	s := startServer(t, cfg)
	rc := dial(t, s)
	var got []string
	for range 4 {
		got = append(got, rc.upload(protocol.CmdUploadFile, 0xFF, "", []byte("a"))[:3])
	}
	if !slices.Equal(got, []string{"M00", "M01", "M00", "M01"}) {
		t.Errorf("round robin store paths %q", got)
	}
	name := rc.upload(protocol.CmdUploadFile, 1, "", []byte("b"))
	if !strings.HasPrefix(name, "M01/") {
		t.Errorf("explicit index 1: %q", name)
	}
	if _, err := os.Stat(filepath.Join(p1, "data", name[4:])); err != nil {
		t.Error(err)
	}
	s.Close()

	// Store path 0 read-only: uploads asking for it go to path 1.
	cfg.StorePathReadonly = []bool{true, false}
	s = startServer(t, cfg)
	rc = dial(t, s)
	if name := rc.upload(protocol.CmdUploadFile, 0, "", []byte("c")); !strings.HasPrefix(name, "M01/") {
		t.Errorf("read-only path 0 chosen: %q", name)
	}
	// Files on the read-only path are still served.
	if st, b := rc.download(name, 0, 0); st != 0 || string(b) != "b" {
		t.Errorf("download %d %q", st, b)
	}
	// No writable path with space left: ENOSPC.
	s.params.Store(&trackerParams{ResponseIPSize: 16, Reserved: reservedAll()})
	req := protocol.UploadRequest{StorePathIndex: 0xFF, FileSize: 1}
	if st, _ := rc.Do(protocol.CmdUploadFile, req.Encode(), []byte("d")); st != protocol.ENOSPC {
		t.Errorf("reserved space: status %d", st)
	}
}

func TestDistributePath(t *testing.T) {
	cfg := testConfig(t)
	cfg.FileDistributeRotateCount = 2
	s := startServer(t, cfg)
	rc := dial(t, s)
	var dirs []string
	for range 10 {
		dirs = append(dirs, rc.upload(protocol.CmdUploadFile, 0, "", []byte("a"))[4:9])
	}
	want := []string{"00/00", "00/00", "00/01", "00/01", "00/02", "00/02", "00/03", "00/03", "01/00", "01/00"}
	if !slices.Equal(dirs, want) {
		t.Errorf("dirs %q, want %q", dirs, want)
	}
	// The cursor survives a restart through storage_stat.dat.
	s.Close()
	b, err := os.ReadFile(filepath.Join(cfg.BasePath, "data", statFile))
	if err != nil || !strings.Contains(string(b), "dist_path_index_high=1\n") || !strings.Contains(string(b), "success_upload_count=10\n") {
		t.Fatalf("storage_stat.dat %q %v", b, err)
	}
	s = startServer(t, cfg)
	rc = dial(t, s)
	if d := rc.upload(protocol.CmdUploadFile, 0, "", []byte("a"))[4:9]; d != "01/01" {
		t.Errorf("after restart: %q", d)
	}
	if got := s.stats.snapshot().SuccessUploadCount; got != 11 {
		t.Errorf("upload count after restart %d", got)
	}

	// Random mode spreads by hash but stays inside the subdirs.
	cfg2 := testConfig(t)
	cfg2.FileDistributePathMode = 1
	s2 := startServer(t, cfg2)
	rc2 := dial(t, s2)
	seen := map[string]bool{}
	for range 40 {
		name := rc2.upload(protocol.CmdUploadFile, 0, "", []byte("a"))
		n := mustParse(t, name)
		if n.High >= 4 || n.Low >= 4 {
			t.Fatalf("dir out of range: %q", name)
		}
		seen[name[4:9]] = true
	}
	if len(seen) < 2 {
		t.Errorf("random mode used only %v", seen)
	}
}

func TestLayoutAndRestart(t *testing.T) {
	cfg := testConfig(t)
	cfg.SubdirCountPerPath = 16
	s := startServer(t, cfg)
	if dirs, _ := filepath.Glob(filepath.Join(cfg.BasePath, "data", "*", "*")); len(dirs) != 16*16+2 { // + sync/ files
		t.Errorf("%d entries under data/*/", len(dirs))
	}
	for _, d := range []string{"data/00/00", "data/0F/0F", "data/07/0B", "data/sync"} {
		if !isDir(filepath.Join(cfg.BasePath, d)) {
			t.Errorf("missing %s", d)
		}
	}
	for _, f := range []string{"data/" + dataInitFlagFile, "data/" + varsFile, "data/sync/binlog_index.dat"} {
		if _, err := os.Stat(filepath.Join(cfg.BasePath, f)); err != nil {
			t.Error(err)
		}
	}
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("persist"))
	rc.setMeta(name, 'O', []byte("k\x02v"))
	mark, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data", varsFile))
	s.Close()
	s = startServer(t, cfg)
	rc = dial(t, s)
	if st, b := rc.download(name, 0, 0); st != 0 || string(b) != "persist" {
		t.Errorf("after restart %d %q", st, b)
	}
	if st, b := rc.fileCmd(protocol.CmdGetMetadata, name); st != 0 || string(b) != "k\x02v" {
		t.Errorf("meta after restart %d %q", st, b)
	}
	if again, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data", varsFile)); !bytes.Equal(mark, again) || !bytes.HasPrefix(mark, []byte("store_path_mark=")) {
		t.Errorf(".fastdfs_vars changed: %q -> %q", mark, again)
	}
	rc.fileCmd(protocol.CmdDeleteFile, name)
	ops := binlogOps(t, s)
	if len(ops) != 4 || ops[3] != "D "+name+"-m" {
		t.Errorf("binlog across restart %q", ops)
	}
}

func TestConcurrentUploads(t *testing.T) {
	s := startServer(t, testConfig(t))
	const n = 8
	names := make(chan string, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			rc := dial(t, s)
			data := bytes.Repeat([]byte{byte(i)}, 50000+i)
			req := protocol.UploadRequest{FileSize: int64(len(data)), Ext: "dat"}
			h, body := rc.Raw(wiretest.Packet(protocol.CmdUploadFile, 0, req.Encode(), data))
			if h.Status != 0 {
				errs <- fmt.Errorf("status %d", h.Status)
				return
			}
			r, err := protocol.DecodeFileResponse(body)
			if err != nil {
				errs <- err
				return
			}
			names <- r.Name
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(names)
	rc := dial(t, s)
	seen := map[string]bool{}
	for name := range names {
		if seen[name] {
			t.Errorf("duplicate name %q", name)
		}
		seen[name] = true
		st, b := rc.download(name, 0, 0)
		if st != 0 || len(b) < 50000 || !bytes.Equal(b, bytes.Repeat(b[:1], len(b))) {
			t.Errorf("download %q: %d, %d bytes", name, st, len(b))
		}
	}
}

// Shutdown lets a request in progress finish, closes idle connections at
// once and takes no new connection.
func TestShutdownFinishesRequests(t *testing.T) {
	s := startServer(t, testConfig(t))
	idle := dial(t, s)
	busy := dial(t, s)
	content := []byte("finished after the shutdown began")
	req := (&protocol.UploadRequest{StorePathIndex: 0, FileSize: int64(len(content)), Ext: "txt"}).Encode()
	pkt := wiretest.Packet(protocol.CmdUploadFile, 0, req, content)
	half := len(pkt) - 10
	if _, err := busy.Conn.Write(pkt[:half]); err != nil {
		t.Fatal(err)
	}
	// The upload is under way when Shutdown starts.
	eventually(t, "the upload to be in progress", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for cc := range s.served {
			if cc.state.Busy() {
				return true
			}
		}
		return false
	})
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	if _, err := idle.Conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle connection is still open")
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("a new connection was accepted during the shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) before the upload finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := busy.Conn.Write(pkt[half:]); err != nil {
		t.Fatal(err)
	}
	h, body := busy.Raw(nil)
	if h.Status != 0 || len(body) == 0 {
		t.Fatalf("upload answered %+v", h)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// A connection's deadline is moved only when it is later than wanted or
// earlier by more than an eighth of the timeout.
func TestRenewDeadline(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const timeout = 8 * time.Second
	for _, tc := range []struct {
		name string
		set  time.Time
		want bool
	}{
		{"never set", time.Time{}, true},
		{"as wanted", now.Add(timeout), false},
		{"a second early", now.Add(timeout - time.Second), false},
		{"over an eighth early", now.Add(timeout - time.Second - time.Nanosecond), true},
		{"later than wanted", now.Add(timeout + time.Nanosecond), true},
	} {
		if got := renew(tc.set, now.Add(timeout), timeout); got != tc.want {
			t.Errorf("%s: renew = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAllowHosts: as upstream's storage, ours serves only the peers
// allow_hosts names (clients, the group's storages, gateways) and drops
// the others at once.
func TestAllowHosts(t *testing.T) {
	cfg := testConfig(t)
	cfg.AllowHosts = []string{"127.0.0.[5-6]", "127.0.1.0/24"}
	s := startServer(t, cfg)
	for _, tc := range []struct {
		ip string
		ok bool
	}{{"127.0.0.5", true}, {"127.0.0.6", true}, {"127.0.1.9", true}, {"127.0.0.7", false}, {"127.0.0.1", false}} {
		c := wiretest.DialFrom(t, tc.ip, s.Addr())
		c.Conn.Write(protocol.Header{Cmd: protocol.CmdActiveTest}.Bytes())
		h, err := protocol.ReadHeader(c.Conn)
		if served := err == nil && h.Status == 0; served != tc.ok {
			t.Errorf("client %s: served %v (err %v), want %v", tc.ip, served, err, tc.ok)
		}
	}
	if _, err := New(&conf.Storage{GroupName: "group1", BasePath: t.TempDir(), AllowHosts: []string{"10.0.0.[5-1]"}}, nil); err == nil {
		t.Error("a bad allow_hosts pattern accepted")
	}
}
