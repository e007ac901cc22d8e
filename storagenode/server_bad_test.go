package storagenode

// Requests a storage must refuse without harm: bad names, bodies of the
// wrong length, uploads cut off, garbage.

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

func TestBadNames(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	rc := dial(t, s)
	good := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("abc"))
	// Plant a file outside the store path: nothing may reach it.
	secret := filepath.Join(filepath.Dir(cfg.BasePath), "secret.txt")
	os.WriteFile(secret, []byte("secret"), 0o644)
	bad := []string{
		"M00/00/00/../../../../secret.txt",
		"M00/00/00/" + strings.Repeat(".", 34),
		"M00/00/../" + good[10:],
		"M01/00/00/" + good[10:], // only one store path
		"M00/04/00/" + good[10:], // subdir_count_per_path 4
		"M00/00/0F/" + good[10:],
		"m00/00/00/" + good[10:],
		"M00/00/00/" + good[10:30] + "/" + good[31:],
		"M00/00/00/" + good[10:30] + "\x00" + good[31:],
		"M00/00/00",
		"",
	}
	for _, name := range bad {
		if st, _ := rc.download(name, 0, 0); st != protocol.EINVAL {
			t.Errorf("download %q: status %d, want EINVAL", name, st)
		}
		if st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); st != protocol.EINVAL {
			t.Errorf("delete %q: status %d, want EINVAL", name, st)
		}
		if st, _ := rc.fileInfo(name, 0); st != protocol.EINVAL {
			t.Errorf("file info %q: status %d, want EINVAL", name, st)
		}
	}
	// Wrong group.
	if st, _ := rc.Do(protocol.CmdDeleteFile, (&protocol.FileRequest{Group: "group2", Name: good}).Encode()); st != protocol.EINVAL {
		t.Errorf("wrong group: %d", st)
	}
	// Bad store path index and ext on upload.
	for _, req := range []protocol.UploadRequest{
		{StorePathIndex: 1, FileSize: 1},
		{StorePathIndex: 0x7F, FileSize: 1},
		{StorePathIndex: 0, FileSize: 1, Ext: "a/b"},
		{StorePathIndex: 0, FileSize: 1, Ext: ".."},
	} {
		if st, _ := rc.Do(protocol.CmdUploadFile, req.Encode(), []byte("x")); st != protocol.EINVAL {
			t.Errorf("upload %+v: status %d", req, st)
		}
	}
	// Unknown command.
	if st, _ := rc.Do(99, []byte("junk")); st != protocol.EINVAL {
		t.Errorf("unknown command: %d", st)
	}
	rc.alive()
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Error("file outside the store path was touched")
	}
	if files := dataFiles(t, cfg.BasePath); len(files) != 1 {
		t.Errorf("data files %q", files)
	}
}

func TestOversizedAndShortBodies(t *testing.T) {
	s := startServer(t, testConfig(t))
	// A non-content request larger than buff_size is refused and, being
	// too big to skip, ends the connection.
	rc := dial(t, s)
	big := make([]byte, 64<<10)
	h, _ := rc.Raw(wiretest.Packet(protocol.CmdDeleteFile, 0, big))
	if h.Status != protocol.EINVAL || !rc.closedByServer() {
		t.Errorf("oversized delete: status %d", h.Status)
	}
	// Upload whose file_size disagrees with pkg_len (UPLOAD_FILE.err22).
	rc = dial(t, s)
	req := protocol.UploadRequest{FileSize: 10, Ext: "txt"}
	if st, _ := rc.Do(protocol.CmdUploadFile, req.Encode(), []byte("x")); st != protocol.EINVAL {
		t.Errorf("size mismatch: %d", st)
	}
	rc.alive()
	// Body shorter than the fixed head.
	if st, _ := rc.Do(protocol.CmdUploadFile, []byte{0, 1, 2}); st != protocol.EINVAL {
		t.Errorf("short upload head: %d", st)
	}
	if st, _ := rc.Do(protocol.CmdAppendFile, []byte{0, 1, 2}); st != protocol.EINVAL {
		t.Errorf("short append head: %d", st)
	}
	if st, _ := rc.Do(protocol.CmdActiveTest, []byte{1}); st != protocol.EINVAL {
		t.Errorf("active test with body: %d", st)
	}
	rc.alive()
	// Negative pkg_len: the connection is dropped.
	rc = dial(t, s)
	bad := protocol.Header{Cmd: protocol.CmdUploadFile}.Bytes()
	bad[0] = 0x80
	rc.Conn.Write(bad)
	if !rc.closedByServer() {
		t.Error("negative length not dropped")
	}
}

// waitFor polls cond for up to 10 s (no timing assertion: it only bounds
// a hang).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 10*time.Second, what, cond)
}

func TestInterruptedUploadLeavesNothing(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	for i, cmd := range []byte{protocol.CmdUploadFile, protocol.CmdUploadAppenderFile} {
		rc := dial(t, s)
		req := protocol.UploadRequest{FileSize: 1 << 20, Ext: "bin"}
		pkt := wiretest.Packet(cmd, 0, req.Encode(), bytes.Repeat([]byte("z"), 20000))
		binary := pkt[:]
		// Announce the full 1 MiB body, send 20000 bytes, hang up.
		copy(binary[0:8], protocol.Header{Length: protocol.UploadHeadLen + 1<<20}.Bytes()[0:8])
		rc.Conn.Write(binary)
		rc.Conn.Close()
		// Its temp file was opened, then the connection ended.
		waitFor(t, "the upload to fail", func() bool {
			st := s.stats.snapshot()
			return st.TotalFileOpenCount == int64(i+1) && st.CurrentCount == 0
		})
	}
	// As upstream, which drops the task of a lost connection without
	// calling back, the interrupted uploads are not counted.
	if st := s.stats.snapshot(); st.TotalUploadCount != 0 || st.TotalUploadBytes != 0 {
		t.Errorf("interrupted uploads counted: %d, %d bytes", st.TotalUploadCount, st.TotalUploadBytes)
	}
	if files := dataFiles(t, cfg.BasePath); len(files) != 0 {
		t.Errorf("files left behind: %q", files)
	}
	// A temp file left by a crash is swept at the next start.
	stale := filepath.Join(cfg.BasePath, "data", "01", "02", ".upload-123.tmp")
	os.WriteFile(stale, []byte("partial"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	s2 := startServer(t, func() *conf.Storage { c := *cfg; c.BindAddr = "127.0.0.8"; return &c }())
	waitFor(t, "the stale temp file to be swept", func() bool {
		_, err := os.Stat(stale)
		return os.IsNotExist(err)
	})
	s2.Close()
	if st := s.stats.snapshot(); st.SuccessUploadCount != 0 {
		t.Errorf("success count %d", st.SuccessUploadCount)
	}

	// An interrupted append leaves the appender file as it was.
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadAppenderFile, 0, "", []byte("base"))
	rc2 := dial(t, s)
	pkt := wiretest.Packet(protocol.CmdAppendFile, 0, (&protocol.AppendRequest{Name: name, Length: 100000}).Encode(), bytes.Repeat([]byte("q"), 30000))
	copy(pkt[0:8], protocol.Header{Length: int64(protocol.AppendHeadLen + len(name) + 100000)}.Bytes()[0:8])
	opens := s.stats.snapshot().TotalFileOpenCount
	rc2.Conn.Write(pkt)
	rc2.Conn.Close()
	waitFor(t, "the append to fail", func() bool {
		st := s.stats.snapshot()
		return st.TotalFileOpenCount == opens+1 && st.CurrentCount == 1
	})
	if st := s.stats.snapshot(); st.TotalAppendCount != 0 {
		t.Errorf("interrupted append counted: %d", st.TotalAppendCount)
	}
	if st, b := rc.download(name, 0, 0); st != 0 || string(b) != "base" {
		t.Errorf("after interrupted append: %d %d bytes", st, len(b))
	}
}

// Random bodies for every storage command get a status or a closed
// connection, never a hang or a crash, and create nothing outside the data
// directories.
func TestGarbageRequests(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	cmds := []byte{11, 12, 13, 14, 15, 21, 22, 23, 24, 34, 36, 38, 9, 16, 17, 18, 25, 111, 200}
	rc := dial(t, s)
	good := rc.upload(protocol.CmdUploadAppenderFile, 0, "txt", []byte("seed"))
	for i := range 400 {
		body := make([]byte, rng.IntN(120))
		for j := range body {
			body[j] = byte(rng.IntN(256))
		}
		// Half of the bodies carry a valid name to get past the parser.
		if i%2 == 0 && len(body) > 60 {
			copy(body[len(body)-44:], good)
		}
		cmd := cmds[rng.IntN(len(cmds))]
		pkt := wiretest.Packet(cmd, byte(rng.IntN(4)), body)
		if _, err := rc.Conn.Write(pkt); err != nil {
			rc = dial(t, s)
			continue
		}
		rc.Conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		h, err := protocol.ReadHeader(rc.Conn)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("cmd %d body %x: no answer", cmd, body)
			}
			rc = dial(t, s)
			continue
		}
		if _, err := io.CopyN(io.Discard, rc.Conn, h.Length); err != nil {
			rc = dial(t, s)
		}
	}
	rc = dial(t, s)
	rc.alive()
	entries, _ := os.ReadDir(filepath.Join(cfg.BasePath, "data"))
	for _, e := range entries {
		if n := e.Name(); len(n) != 2 && n != "sync" && n != dataInitFlagFile && n != varsFile && n != statFile {
			t.Errorf("unexpected entry data/%s", n)
		}
	}
}
