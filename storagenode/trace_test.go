package storagenode

import (
	"bytes"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// parsesLikeUpstream reports whether the *.err2 traces' made-up name
// "…/notexistnotexistnotexistnot123456.jpg" parses. Upstream treats a name
// as a trunk file only when it has the trunk length (60), so it answers
// ENOENT; a fileid.Parse that applies the trunk bit to any length rejects
// the name (EINVAL) and the exact comparison is skipped.
func parsesLikeUpstream(t *testing.T, trace string) bool {
	t.Helper()
	if !strings.HasSuffix(trace, ".err2") || strings.HasPrefix(trace, "GET_METADATA") {
		return true
	}
	if _, err := fileid.Parse("M00/00/00/notexistnotexistnotexistnot123456.jpg"); err != nil {
		t.Logf("%s: skipped, fileid.Parse rejects the name: %v", trace, err)
		return false
	}
	return true
}

// plant writes a file into the store the way upstream left it on disk.
func plant(t *testing.T, s *Server, name string, content []byte, mtime int64) {
	t.Helper()
	_, path, err := s.store.resolve(strings.TrimSuffix(name, "-m"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, "-m") {
		path += "-m"
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if mtime > 0 {
		tm := time.Unix(mtime, 0)
		if err := os.Chtimes(path, tm, tm); err != nil {
			t.Fatal(err)
		}
	}
}

func loadTrace(t *testing.T, mode, name string) *tracefile.Exchange {
	t.Helper()
	ex, err := tracefile.Named(mode, name)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// Requests captured from the upstream C client are replayed verbatim
// against files laid out as upstream stores them; deterministic replies
// must be byte-identical to the captured ones.
func TestTraceReplayIPMode(t *testing.T) {
	cfg := testConfig(t)
	cfg.BindAddr = "127.0.0.3"
	s := startServer(t, cfg)
	rc := dial(t, s)

	const (
		f514 = "M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
		f426 = "M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt" // appender
		f290 = "M00/00/00/fwAABGsG-h6Edvq-AAAAAKaEx8Y290.txt" // appender on storage1
		f662 = "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"
		f645 = "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg"
		f368 = "M00/00/00/fwAABGsG-iqASV22AAAAAAAAAAA368.bin" // 0 bytes
	)
	plant(t, s, f514, []byte("0123456789"), 0x6b06fa1d)
	plant(t, s, f426, []byte("ABCDE"), 0)
	plant(t, s, f290, []byte("0123456789"), 0)
	plant(t, s, f662, []byte("0123456789"), 0)
	plant(t, s, f645, []byte("JPEG-10-by"), 0)
	plant(t, s, f645+"-m", []byte("author\x02fdfs\x01ext_name\x02jpg\x01file_size\x02115120\x01height\x0280\x01width\x021024"), 0)
	plant(t, s, f368, nil, 0)

	exact := []string{
		"ACTIVE_TEST_storage",
		"DOWNLOAD_FILE",
		"DOWNLOAD_FILE.err2",
		"DOWNLOAD_FILE.err22",
		"QUERY_FILE_INFO",
		"GET_METADATA",
		"GET_METADATA.err2",
		"SET_METADATA",
		"UPLOAD_FILE.err22",
		"UPLOAD_SLAVE_FILE",
		"APPEND_FILE",
		"TRUNCATE_FILE",
		"append f290", // upstream's client appended 10 bytes between these two
		"MODIFY_FILE",
		"QUERY_FILE_INFO.err2",
		"DELETE_FILE",
	}
	for _, name := range exact {
		if name == "append f290" {
			if st, _ := rc.Do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: f290, Length: 10}).Encode(), []byte("0123456789")); st != 0 {
				t.Fatalf("append: %d", st)
			}
			continue
		}
		if !parsesLikeUpstream(t, name) {
			continue
		}
		ex := loadTrace(t, "ip", name)
		if name == "QUERY_FILE_INFO.err2" {
			ex = loadTrace(t, "id", name)
		}
		h, body := rc.Raw(ex.Request)
		got := append(protocol.Header{Length: h.Length, Cmd: h.Cmd, Status: h.Status}.Bytes(), body...)
		if !bytes.Equal(got, ex.Response) {
			t.Errorf("%s: reply\n%x\nwant\n%x", name, got, ex.Response)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data/00/00", f426[10:])); string(b) != "ABCDE0123456789" {
		t.Errorf("appended file %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data/00/00", f290[10:])); string(b) != "0123401234567890123456789" {
		t.Errorf("truncated+modified file %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data/00/00", f662[10:]+"-m")); string(b) != "color\x02red\x01size\x0210" {
		t.Errorf("meta file %q", b)
	}

	// Replies with fresh names: check layout and fields.
	for _, tc := range []struct {
		trace    string
		appender bool
		content  string
	}{
		{"UPLOAD_FILE", false, "0123456789"},
		{"UPLOAD_APPENDER_FILE", true, "ABCDE"},
	} {
		ex := loadTrace(t, "ip", tc.trace)
		h, body := rc.Raw(ex.Request)
		if h.Status != 0 || len(body) != len(ex.Response)-protocol.HeaderSize {
			t.Fatalf("%s: status %d, body %d bytes", tc.trace, h.Status, len(body))
		}
		r, _ := protocol.DecodeFileResponse(body)
		n := mustParse(t, r.Name)
		if r.Group != "group1" || n.Appender != tc.appender || n.SourceIP != "127.0.0.3" || n.CRC32 != crc32.ChecksumIEEE([]byte(tc.content)) || !strings.HasSuffix(r.Name, ".txt") {
			t.Errorf("%s: %q %+v", tc.trace, r.Name, n)
		}
	}

	// Regenerating f426 (now "ABCDE0123456789") gives upstream's size and
	// CRC (traces: …AAAAD9U3-9k426.txt) and keeps the extension area.
	ex := loadTrace(t, "ip", "REGENERATE_APPENDER_FILENAME")
	h, body := rc.Raw(ex.Request)
	if h.Status != 0 {
		t.Fatalf("regenerate: %d", h.Status)
	}
	r, _ := protocol.DecodeFileResponse(body)
	if len(body) != 60 || r.Name[:16] != "M00/00/00/fwAAA2" || r.Name[26:] != "AAAAD9U3-9k426.txt" {
		t.Errorf("regenerated %q", r.Name)
	}

	// Our binlog has upstream's records for the same operations.
	ops := binlogOps(t, s)
	for _, want := range []string{
		"C " + f662 + "-m",
		"C " + f645[:len(f645)-4] + "_big.jpg",
		"A " + f426 + " 5 10",
		"T " + f290 + " 10 5",
		"A " + f290 + " 5 10",
		"M " + f290 + " 15 10",
		"D " + f514,
		"R " + r.Name + " " + f426,
	} {
		if !slices.Contains(ops, want) {
			t.Errorf("binlog lacks %q: %q", want, ops)
		}
	}
}

// In id mode the source of a name is a server id; QUERY_FILE_INFO answers
// with that server's IP from storage_ids.
func TestTraceReplayIDMode(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	s.params.Store(&trackerParams{
		UseStorageID: true, IDInFilename: true, ResponseIPSize: protocol.IPv4AddrSize,
		StorageIDs: map[string][]string{"100001": {"127.0.0.1"}, "100002": {"127.0.0.1"}},
	})
	id := "100001"
	s.myID.Store(&id)
	rc := dial(t, s)
	plant(t, s, "M00/00/00/oYYBAGsG-Y-ATuaNAAAACqaEx8Y564.txt", []byte("0123456789"), 0x6b06f98f)
	for _, name := range []string{"DOWNLOAD_FILE", "QUERY_FILE_INFO", "QUERY_FILE_INFO.err2", "DOWNLOAD_FILE.err2"} {
		if !parsesLikeUpstream(t, name) {
			continue
		}
		ex := loadTrace(t, "id", name)
		h, body := rc.Raw(ex.Request)
		got := append(h.Bytes(), body...)
		if !bytes.Equal(got, ex.Response) {
			t.Errorf("%s: reply\n%x\nwant\n%x", name, got, ex.Response)
		}
	}
	// New names carry our id little-endian ("oYYBA…" = 100001).
	name := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("x"))
	if n := mustParse(t, name); !strings.HasPrefix(name, "M00/00/00/oYYBA") || n.SourceID != "100001" {
		t.Errorf("id-mode name %q", name)
	}
}
