package storagenode

import (
	"fmt"
	"hash/crc32"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestSyncMetaNewestWins: a peer's copy or delete of a metadata file
// applies unless it is older than the change here (sync_meta.go), by the
// time its record carries; at the same second the last to arrive wins (a
// source's changes within a second arrive in order); a copy here whose
// time is not known takes an update and keeps itself against a create,
// as before.
func TestSyncMetaNewestWins(t *testing.T) {
	const at = 1_700_000_000
	type here struct {
		content string // "" with deleted 0: no metadata file, nothing remembered
		stamped bool
		deleted int64 // the metadata deleted here at this time (via a peer's delete)
	}
	type change struct {
		cmd     byte // SYNC_CREATE_FILE, SYNC_UPDATE_FILE or SYNC_DELETE_FILE
		ts      int64
		content string
	}
	for i, tc := range []struct {
		what   string
		here   here
		change change
		status byte
		want   string // "" for no metadata file
	}{
		{"older update", here{content: "a=1", stamped: true}, change{protocol.CmdSyncUpdateFile, at - 1, "z=9"}, 0, "a=1"},
		{"newer update", here{content: "a=1", stamped: true}, change{protocol.CmdSyncUpdateFile, at + 1, "b=2"}, 0, "b=2"},
		{"update at the same second", here{content: "b=2", stamped: true}, change{protocol.CmdSyncUpdateFile, at, "a=1"}, 0, "a=1"},
		{"create at the same second", here{content: "b=2", stamped: true}, change{protocol.CmdSyncCreateFile, at, "a=1"}, 0, "a=1"},
		{"newer create", here{content: "a=1", stamped: true}, change{protocol.CmdSyncCreateFile, at + 1, "b=2"}, 0, "b=2"},
		{"older create", here{content: "a=1", stamped: true}, change{protocol.CmdSyncCreateFile, at - 1, "b=2"}, protocol.EEXIST, "a=1"},
		{"unstamped, older update", here{content: "a=1"}, change{protocol.CmdSyncUpdateFile, at - 100, "b=2"}, 0, "b=2"},
		{"unstamped, newer create", here{content: "a=1"}, change{protocol.CmdSyncCreateFile, at + 100, "b=2"}, protocol.EEXIST, "a=1"},
		{"none, create", here{}, change{protocol.CmdSyncCreateFile, at, "b=2"}, 0, "b=2"},
		{"deleted, older create", here{deleted: at}, change{protocol.CmdSyncCreateFile, at - 1, "b=2"}, 0, ""},
		{"deleted, create at the delete's second", here{deleted: at}, change{protocol.CmdSyncCreateFile, at, "b=2"}, 0, "b=2"},
		{"deleted, newer update", here{deleted: at}, change{protocol.CmdSyncUpdateFile, at + 1, "b=2"}, 0, "b=2"},
		{"older delete", here{content: "a=1", stamped: true}, change{protocol.CmdSyncDeleteFile, at - 1, ""}, 0, "a=1"},
		{"delete at the same second", here{content: "a=1", stamped: true}, change{protocol.CmdSyncDeleteFile, at, ""}, 0, ""},
		{"unstamped, older delete", here{content: "a=1"}, change{protocol.CmdSyncDeleteFile, at - 100, ""}, 0, ""},
	} {
		t.Run(tc.what, func(t *testing.T) {
			cfg := testConfig(t)
			s := startServer(t, cfg)
			allowSyncFrom(s, "127.0.0.1")
			name := fmt.Sprintf("M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.m%02d", i)
			meta := name + metaSuffix
			plant(t, s, name, []byte("the file"), 0)
			rc := dial(t, s)
			if tc.here.content != "" {
				plant(t, s, meta, []byte(tc.here.content), at)
				if tc.here.stamped {
					stampMeta(t, s, meta, at)
				}
			}
			if tc.here.deleted != 0 {
				del := (&protocol.SyncDeleteRequest{Timestamp: int32(tc.here.deleted), Group: "group1", Name: meta}).Encode()
				if st, _ := rc.Do(protocol.CmdSyncDeleteFile, del); st != protocol.ENOENT {
					t.Fatalf("delete of a metadata file not here: status %d", st)
				}
			}
			var st byte
			if ch := tc.change; ch.cmd == protocol.CmdSyncDeleteFile {
				st, _ = rc.Do(ch.cmd, (&protocol.SyncDeleteRequest{Timestamp: int32(ch.ts), Group: "group1", Name: meta}).Encode())
			} else {
				req := protocol.SyncFileRequest{Name: meta, FileSize: int64(len(ch.content)), Timestamp: int32(ch.ts), Group: "group1"}
				st, _ = rc.Do(ch.cmd, req.Encode(), []byte(ch.content))
			}
			if st != tc.status {
				t.Errorf("status %d, want %d", st, tc.status)
			}
			got, err := os.ReadFile(namePath(t, s, meta))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("metadata %q, want %q", got, tc.want)
			}
			if tc.want != "" && tc.want != tc.here.content {
				fi, err := os.Stat(namePath(t, s, meta))
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := metaVersion(fi); !ok || v != tc.change.ts {
					t.Errorf("stored copy stamped %d (%v), want %d", v, ok, tc.change.ts)
				}
			}
		})
	}
}

// TestSetMetadataStamps: a client's metadata set stamps the file with the
// time of its record, so that a peer's copy of an older change is
// dropped; a client's empty overwrite is remembered as a delete, so that
// a peer's copy of an older change does not bring the metadata back.
func TestSetMetadataStamps(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	allowSyncFrom(s, "127.0.0.1")
	const name = "M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
	meta := name + metaSuffix
	plant(t, s, name, []byte("the file"), 0)
	rc := dial(t, s)
	before := time.Now().Unix()
	if st := rc.setMeta(name, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"k": "new"})); st != 0 {
		t.Fatalf("set metadata: status %d", st)
	}
	fi, err := os.Stat(namePath(t, s, meta))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := metaVersion(fi); !ok || v < before || v > time.Now().Unix() {
		t.Fatalf("metadata stamped %d (%v), set at %d or after", v, ok, before)
	}
	older := func() byte {
		old := []byte(protocol.PackMeta(map[string]string{"k": "old"}))
		req := protocol.SyncFileRequest{Name: meta, FileSize: int64(len(old)), Timestamp: int32(before - 10), Group: "group1"}
		st, _ := rc.Do(protocol.CmdSyncUpdateFile, req.Encode(), old)
		return st
	}
	if st := older(); st != 0 {
		t.Fatalf("older update: status %d", st)
	}
	if st, body := rc.fileCmd(protocol.CmdGetMetadata, name); st != 0 || string(body) != string(protocol.PackMeta(map[string]string{"k": "new"})) {
		t.Errorf("after an older update: status %d, metadata %q", st, body)
	}
	if st := rc.setMeta(name, protocol.MetaOverwrite, nil); st != 0 {
		t.Fatalf("empty overwrite: status %d", st)
	}
	if st := older(); st != 0 {
		t.Fatalf("older update after the delete: status %d", st)
	}
	if _, err := os.Stat(namePath(t, s, meta)); !os.IsNotExist(err) {
		t.Errorf("metadata deleted here came back with an older update (%v)", err)
	}
}

// namePath is where the file (or metadata file) name is stored.
func namePath(t *testing.T, s *Server, name string) string {
	t.Helper()
	path, _, _, err := s.resolveSync(name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// stampMeta marks a planted metadata file as holding the change of ts.
func stampMeta(t *testing.T, s *Server, meta string, ts int64) {
	t.Helper()
	if err := os.Chtimes(namePath(t, s, meta), metaStamp(ts), metaStamp(ts)); err != nil {
		t.Fatal(err)
	}
}

// TestSyncMetaDeleteOfTrunkFile: a peer's delete of the metadata of a file
// held in a trunk slot, arriving before the metadata itself, is remembered
// as for a regular file (its file is here: in the slot), so the older copy
// that comes after it is dropped.
func TestSyncMetaDeleteOfTrunkFile(t *testing.T) {
	const at = 1_700_000_000
	s := startServer(t, testConfig(t))
	allowSyncFrom(s, "127.0.0.1")
	rc := dial(t, s)
	src, _ := fileid.SourceFromIP("127.0.0.9")
	content := []byte("a file in a trunk slot")
	name, err := fileid.Generate(0, 1, 2, fileid.Fields{Source: src, Timestamp: at, Size: int64(len(content)),
		CRC32: crc32.ChecksumIEEE(content), Trunk: true, TrunkFileID: 1, TrunkOffset: 512, TrunkAllocSize: 512}, "bin")
	if err != nil {
		t.Fatal(err)
	}
	req := protocol.SyncFileRequest{Name: name, FileSize: int64(len(content)), Timestamp: at, Group: "group1"}
	if st, _ := rc.Do(protocol.CmdSyncCreateFile, req.Encode(), content); st != 0 {
		t.Fatalf("the trunk file's replica: status %d", st)
	}
	meta := name + metaSuffix
	del := protocol.SyncDeleteRequest{Timestamp: at + 10, Group: "group1", Name: meta}
	if st, _ := rc.Do(protocol.CmdSyncDeleteFile, del.Encode()); st != protocol.ENOENT {
		t.Fatalf("delete of metadata not here: status %d", st)
	}
	old := []byte("k\x02old")
	cp := protocol.SyncFileRequest{Name: meta, FileSize: int64(len(old)), Timestamp: at + 5, Group: "group1"}
	if st, _ := rc.Do(protocol.CmdSyncCreateFile, cp.Encode(), old); st != 0 {
		t.Fatalf("older metadata: status %d", st)
	}
	if st, body := rc.fileCmd(protocol.CmdGetMetadata, name); st != protocol.ENOENT {
		t.Errorf("metadata deleted before its older copy came: status %d, %q", st, body)
	}
}

// TestSyncMetaTooLarge: a peer's metadata file over maxMetaFileSize (which
// a client's set cannot make) is refused with EINVAL, nothing written, and
// the connection goes on.
func TestSyncMetaTooLarge(t *testing.T) {
	s := startServer(t, testConfig(t))
	allowSyncFrom(s, "127.0.0.1")
	const name = "M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
	plant(t, s, name, []byte("the file"), 0)
	rc := dial(t, s)
	big := make([]byte, maxMetaFileSize+1)
	req := protocol.SyncFileRequest{Name: name + metaSuffix, FileSize: int64(len(big)), Timestamp: 1, Group: "group1"}
	if st, _ := rc.Do(protocol.CmdSyncUpdateFile, req.Encode(), big); st != protocol.EINVAL {
		t.Errorf("metadata of %d bytes: status %d, want EINVAL", len(big), st)
	}
	rc.alive()
	if _, err := os.Stat(namePath(t, s, name+metaSuffix)); !os.IsNotExist(err) {
		t.Errorf("metadata file written (%v)", err)
	}
}
