package storagenode

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// The sync requests captured from the upstream storages are replayed
// against a receiver holding the files as the reference receiver did; the
// replies must be byte-identical and the changes land in the replica
// binlog with the source's timestamps.
func TestSyncTraceReplay(t *testing.T) {
	cfg := testConfig(t)
	cfg.BindAddr = "127.0.0.3"
	s := startServer(t, cfg)
	allowSyncFrom(s, "127.0.0.1")
	rc := dial(t, s)
	const (
		f514 = "M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
		f290 = "M00/00/00/fwAABGsG-h6Edvq-AAAAAKaEx8Y290.txt" // appender, 25 bytes here
		f645 = "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg"
	)
	plant(t, s, f514, []byte("0123456789"), 0)
	plant(t, s, f290, []byte("0123401234567890123456789"), 0)

	for _, tc := range []struct {
		trace  string
		status byte // reply status when it differs from the trace's
	}{
		{"REPORT_SERVER_ID", 0},
		{"SYNC_CREATE_FILE", 0},
		{"SYNC_CREATE_FILE", protocol.EEXIST}, // a second create of the same file
		{"SYNC_UPDATE_FILE", 0},
		{"SYNC_DELETE_FILE", 0},
		{"SYNC_APPEND_FILE.err17", 0},   // our copy already covers the range
		{"SYNC_TRUNCATE_FILE.err17", 0}, // size is neither old nor new
		{"SYNC_MODIFY_FILE", 0},
		{"SYNC_RENAME_FILE.err2", 0}, // the old name is missing
		{"ACTIVE_TEST_storage", 0},
	} {
		ex := loadTrace(t, "ip", tc.trace)
		want := ex.Response
		if tc.status != 0 {
			want = protocol.Header{Cmd: protocol.CmdResp, Status: tc.status}.Bytes()
		}
		h, body := rc.Raw(ex.Request)
		got := append(h.Bytes(), body...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: reply %x, want %x", tc.trace, got, want)
		}
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data/00/00", name[10:]))
		return string(b)
	}
	if got := read(f645); got != "JPEG-10-by" {
		t.Errorf("created file %q", got)
	}
	if got := read(f645 + "-m"); !bytes.HasPrefix([]byte(got), []byte("author\x02fdfs")) {
		t.Errorf("updated meta file %q", got)
	}
	if _, err := os.Stat(filepath.Join(cfg.BasePath, "data/00/00", f514[10:])); !os.IsNotExist(err) {
		t.Errorf("deleted file: %v", err)
	}
	if got := read(f290); got != "012340123456789"+"0123456789" {
		t.Errorf("modified appender %q", got)
	}
	// SYNC_CREATE_LINK (not in the traces): a slave stored as a symlink.
	link := "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645_big.jpg"
	req := (&protocol.SyncTwoNamesRequest{First: link, Second: f645, Timestamp: 0x6b06fa1e, Group: "group1"}).Encode()
	if st, _ := rc.Do(protocol.CmdSyncCreateLink, req); st != 0 {
		t.Errorf("create link: %d", st)
	}
	if st, _ := rc.Do(protocol.CmdSyncCreateLink, req); st != protocol.EEXIST {
		t.Errorf("second create link: %d", st)
	}
	if got := read(link); got != "JPEG-10-by" {
		t.Errorf("link reads %q", got)
	}
	ops := binlogOps(t, s)
	for _, want := range []string{"c " + f645, "u " + f645 + "-m", "d " + f514, "m " + f290 + " 15 10", "l " + link + " " + f645} {
		if !slices.Contains(ops, want) {
			t.Errorf("binlog lacks %q: %q", want, ops)
		}
	}
	if len(ops) != 5 {
		t.Errorf("binlog %q", ops)
	}
	if text := binlogText(t, s); !bytes.HasPrefix([]byte(text), []byte("1795619358 c ")) {
		t.Errorf("replica records keep the source timestamp: %q", text)
	}
	// The sender announced itself: received timestamps are credited to it.
	s.repl.mu.Lock()
	received := maps.Clone(s.repl.received)
	s.repl.mu.Unlock()
	if len(received) != 1 || received["127.0.0.4"] != 0x6b06fa1e {
		t.Errorf("received timestamps %v", received)
	}
	// They are reported once the sender is known as a group member.
	if body, _ := s.repl.syncReport(0); body != nil {
		t.Errorf("sync report before the membership is known: %x", body)
	}
	s.repl.updatePeers([]protocol.Brief{{Status: protocol.StatusActive, ID: "127.0.0.4", IP: "127.0.0.4", Port: 1}}, func(protocol.Brief) bool { return false })
	if body, _ := s.repl.syncReport(0); body == nil {
		t.Error("no sync report")
	} else if ts, _ := protocol.DecodeSyncReport(body); len(ts) != 1 || ts[0].SrcID != "127.0.0.4" || ts[0].Timestamp != 0x6b06fa1e {
		t.Errorf("sync report %+v", ts)
	}
}

// Malformed sync requests get an error status (or the connection is
// closed), never a write outside the store or a crash.
func TestSyncBadRequests(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	allowSyncFrom(s, "127.0.0.1")
	const name = "M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
	file := func(n string, size int64, group string) []byte {
		return (&protocol.SyncFileRequest{Name: n, FileSize: size, Timestamp: 1, Group: group}).Encode()
	}
	for _, tc := range []struct {
		what   string
		cmd    byte
		parts  [][]byte
		status byte
	}{
		{"short report server id", protocol.CmdReportServerID, [][]byte{[]byte("127.0.0.1")}, protocol.EINVAL},
		{"empty server id", protocol.CmdReportServerID, [][]byte{make([]byte, 16)}, protocol.EINVAL},
		{"other group", protocol.CmdSyncCreateFile, [][]byte{file(name, 1, "group2"), []byte("x")}, protocol.EINVAL},
		{"size mismatch", protocol.CmdSyncCreateFile, [][]byte{file(name, 5, "group1"), []byte("x")}, protocol.EINVAL},
		{"dot-dot name", protocol.CmdSyncCreateFile, [][]byte{file("M00/00/00/../../../../etc/passwdxxxxxxxxxxxxxxxx.txt", 1, "group1"), []byte("x")}, protocol.EINVAL},
		{"bad store path", protocol.CmdSyncUpdateFile, [][]byte{file("M07/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt", 1, "group1"), []byte("x")}, protocol.EINVAL},
		{"head only", protocol.CmdSyncDeleteFile, [][]byte{{0, 0, 0, 1}}, protocol.EINVAL},
		{"delete missing", protocol.CmdSyncDeleteFile, [][]byte{(&protocol.SyncDeleteRequest{Timestamp: 1, Group: "group1", Name: name}).Encode()}, protocol.ENOENT},
		// Stamped after the delete above, which is remembered: an older
		// change would be acknowledged and dropped (deletes.go).
		{"append missing", protocol.CmdSyncAppendFile, [][]byte{(&protocol.SyncRangeRequest{Name: name, Offset: 0, Length: 1, Timestamp: 2, Group: "group1"}).Encode(), []byte("x")}, protocol.ENOENT},
		{"negative offset", protocol.CmdSyncModifyFile, [][]byte{(&protocol.SyncRangeRequest{Name: name, Offset: -1, Length: 1, Group: "group1"}).Encode(), []byte("x")}, protocol.EINVAL},
		{"truncate missing", protocol.CmdSyncTruncateFile, [][]byte{(&protocol.SyncTruncateRequest{Name: name, OldSize: 1, NewSize: 0, Timestamp: 2, Group: "group1"}).Encode()}, protocol.ENOENT},
		{"rename bad old", protocol.CmdSyncRenameFile, [][]byte{(&protocol.SyncTwoNamesRequest{First: name, Second: "x", Group: "group1"}).Encode()}, protocol.EINVAL},
	} {
		rc := dial(t, s)
		if st, _ := rc.Do(tc.cmd, tc.parts...); st != tc.status {
			t.Errorf("%s: status %d, want %d", tc.what, st, tc.status)
		}
		rc.alive()
	}
	// A name length beyond the body closes nothing but is refused.
	rc := dial(t, s)
	bad := (&protocol.SyncFileRequest{Name: name, FileSize: 0, Group: "group1"}).Encode()
	bad[7] = 120
	if st, _ := rc.Do(protocol.CmdSyncCreateFile, bad); st != protocol.EINVAL {
		t.Errorf("long name length: status %d", st)
	}
	if files := dataFiles(t, cfg.BasePath); len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
}

// TestSyncCommandsFromStrangers: the storage-to-storage commands are
// refused with EPERM, and change nothing, unless they come from the
// address of a storage the trackers list in our group; before any group
// list arrived nobody is a member.
func TestSyncCommandsFromStrangers(t *testing.T) {
	cfg := testConfig(t)
	cfg.BindAddr = "127.0.0.3"
	s := startServer(t, cfg)
	const name = "M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
	orig := []byte("0123456789")
	plant(t, s, name, orig, 0)
	meta := name + "-m"
	fromIP := func(ip string) *rawClient {
		return &rawClient{Client: wiretest.DialFrom(t, ip, s.Addr()), t: t}
	}
	planted := "M00/FF/FF/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
	fetch := protocol.NewEncoder(protocol.GroupNameLen + 1)
	fetch.Fixed("group1", protocol.GroupNameLen)
	fetch.Byte(0)
	reqs := []struct {
		what string
		cmd  byte
		body []byte
	}{
		{"report server id", protocol.CmdReportServerID, (&protocol.ReportServerIDRequest{ID: "127.0.0.1"}).Encode()},
		{"update", protocol.CmdSyncUpdateFile, append((&protocol.SyncFileRequest{Name: name, FileSize: 5, Timestamp: 1, Group: "group1"}).Encode(), "pwned"...)},
		{"create", protocol.CmdSyncCreateFile, append((&protocol.SyncFileRequest{Name: planted, FileSize: 5, Timestamp: 1, Group: "group1"}).Encode(), "pwned"...)},
		{"create metadata", protocol.CmdSyncCreateFile, append((&protocol.SyncFileRequest{Name: meta, FileSize: 5, Timestamp: 1, Group: "group1"}).Encode(), "pwned"...)},
		{"delete", protocol.CmdSyncDeleteFile, (&protocol.SyncDeleteRequest{Timestamp: 1, Group: "group1", Name: name}).Encode()},
		{"append", protocol.CmdSyncAppendFile, append((&protocol.SyncRangeRequest{Name: name, Offset: 10, Length: 5, Timestamp: 1, Group: "group1"}).Encode(), "pwned"...)},
		{"modify", protocol.CmdSyncModifyFile, append((&protocol.SyncRangeRequest{Name: name, Offset: 0, Length: 5, Timestamp: 1, Group: "group1"}).Encode(), "pwned"...)},
		{"truncate", protocol.CmdSyncTruncateFile, (&protocol.SyncTruncateRequest{Name: name, OldSize: 10, NewSize: 0, Timestamp: 1, Group: "group1"}).Encode()},
		{"rename", protocol.CmdSyncRenameFile, (&protocol.SyncTwoNamesRequest{First: planted, Second: name, Timestamp: 1, Group: "group1"}).Encode()},
		{"link", protocol.CmdSyncCreateLink, (&protocol.SyncTwoNamesRequest{First: planted, Second: name, Timestamp: 1, Group: "group1"}).Encode()},
		{"fetch one path binlog", protocol.CmdFetchOnePathBinlog, fetch.B},
	}
	check := func(phase string) {
		for _, r := range reqs {
			if st, _ := fromIP("127.0.0.1").Do(r.cmd, r.body); st != protocol.EPERM {
				t.Errorf("%s: %s from a stranger: status %d, want EPERM", phase, r.what, st)
			}
		}
		if got, err := os.ReadFile(filepath.Join(cfg.BasePath, "data/00/00", name[10:])); err != nil || !bytes.Equal(got, orig) {
			t.Errorf("%s: stored file now %q, %v", phase, got, err)
		}
		for _, p := range []string{"data/FF/FF/" + planted[10:], "data/00/00/" + meta[10:]} {
			if _, err := os.Lstat(filepath.Join(cfg.BasePath, p)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %s was planted (%v)", phase, p, err)
			}
		}
	}
	check("no group list yet")
	allowSyncFrom(s, "127.0.0.2", "127.0.0.4")
	check("other members")
	if st, _ := fromIP("127.0.0.4").Do(protocol.CmdSyncDeleteFile, (&protocol.SyncDeleteRequest{Timestamp: 1, Group: "group1", Name: name}).Encode()); st != 0 {
		t.Errorf("delete from a member: status %d", st)
	}
}
