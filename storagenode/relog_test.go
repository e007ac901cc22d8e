package storagenode

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A run killed between a change and its binlog record leaves the change
// on disk with no record: the next start re-logs our recently changed
// files (and their metadata files) as updates, so the peers take them
// whole, and finishes the deletes it finds a tombstone of. Older files and
// files of other sources are left alone.
func TestRelogAfterCrash(t *testing.T) {
	cfg := testConfig(t)
	s1 := startServer(t, cfg)
	rc := dial(t, s1)
	name := rc.upload(protocol.CmdUploadAppenderFile, 0, "log", []byte("first"))
	if st := rc.setMeta(name, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"a": "1"})); st != 0 {
		t.Fatalf("set metadata: status %d", st)
	}
	old := rc.upload(protocol.CmdUploadFile, 0, "bin", []byte("old"))
	_, oldPath, _ := s1.store.resolve(old)
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(oldPath, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	// The changes the crash left without records: the metadata file
	// rewritten, an append.
	_, path, _ := s1.store.resolve(name)
	if err := os.WriteFile(path+"-m", protocol.PackMeta(map[string]string{"a": "2"}), 0o644); err != nil {
		t.Fatal(err)
	}
	// Its record must carry the time of the change, not of the restart:
	// a peer that deleted the file since drops it as older (deletes.go).
	changed := time.Now().Add(-3 * time.Second).Truncate(time.Second)
	if err := os.Chtimes(path+"-m", changed, changed); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(" second")
	f.Close()
	// A delete cut after its rename to a tombstone.
	gone := rc.upload(protocol.CmdUploadFile, 0, "bin", []byte("gone"))
	_, gonePath, _ := s1.store.resolve(gone)
	tomb := filepath.Join(filepath.Dir(gonePath), tombPrefix+filepath.Base(gonePath))
	if err := os.Rename(gonePath, tomb); err != nil {
		t.Fatal(err)
	}
	// A replica's copy of another storage's file, just written.
	src, _ := fileid.SourceFromIP("127.0.0.9")
	foreign, err := fileid.Generate(0, 0, 0, fileid.Fields{Source: src, Timestamp: time.Now().Unix(), Size: 3}, "bin")
	if err != nil {
		t.Fatal(err)
	}
	_, fpath, _ := s1.store.resolve(foreign)
	if err := os.WriteFile(fpath, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	// All three in data/00/00, which the start walks as one: once the
	// changed file's records are there, the others would be too.
	for _, n := range []string{name, old, gone, foreign} {
		if p := mustParse(t, n); p.High != 0 || p.Low != 0 {
			t.Fatalf("%s not in data/00/00", n)
		}
	}
	before := len(binlogOps(t, s1))

	// s1 has not ended with Close: a crash.
	s2 := startServer(t, cfg)
	want := []string{"U " + name, "U " + name + "-m", "D " + gone}
	waitFor(t, "update records for the changed file and its metadata, the cut delete's record", func() bool {
		ops := binlogOps(t, s2)[before:]
		for _, w := range want {
			if !slices.Contains(ops, w) {
				return false
			}
		}
		return true
	})
	for _, op := range binlogOps(t, s2)[before:] {
		if !slices.Contains(want, op) {
			t.Errorf("unexpected record after the crash: %s", op)
		}
	}
	if want := fmt.Sprintf("%d U %s-m", changed.Unix(), name); !strings.Contains(binlogText(t, s2), want+"\n") {
		t.Errorf("no record %q after the crash:\n%s", want, binlogText(t, s2))
	}
	waitFor(t, "the tombstone removed", func() bool {
		_, err := os.Stat(tomb)
		return os.IsNotExist(err)
	})
}
