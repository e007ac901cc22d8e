package storagenode

import (
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A replica of an appender file the source renamed to a normal name
// (REGENERATE_APPENDER_FILENAME) is renamed here only when it holds the
// content the new name carries; a copy that differs, or one whose new
// name is here already, is dropped (and logged as a replica delete), so
// that the sender sends the new file whole.
func TestSyncRenameChecksTheCopy(t *testing.T) {
	src, err := fileid.SourceFromIP("127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	name := func(k int, f fileid.Fields) string {
		f.Source, f.Timestamp = src, now
		n, err := fileid.Generate(0, 0, k, f, "bin")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	content := []byte("the renamed content")
	renamed := fileid.Fields{Size: int64(len(content)), CRC32: crc32.ChecksumIEEE(content)}
	for i, tc := range []struct {
		name     string
		copy     []byte // our copy under the old name
		newThere bool   // the new name is here already
		want     byte
		ops      []string // binlog ops after the rename, with OLD and NEW for the names
	}{
		{"copy matches", content, false, 0, []string{"r NEW OLD"}},
		{"copy missed changes", []byte("an older content"), false, protocol.ENOENT, []string{"d OLD"}},
		{"new name here", content, true, protocol.EEXIST, []string{"d OLD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, testConfig(t))
			allowSyncFrom(s, "127.0.0.1")
			oldName := name(i, fileid.Fields{Appender: true, CRC32: uint32(i)})
			newName := name(i, renamed)
			plant(t, s, oldName, tc.copy, 0)
			if tc.newThere {
				plant(t, s, newName, content, 0)
			}
			req := protocol.SyncTwoNamesRequest{First: newName, Second: oldName, Timestamp: int32(now), Group: "group1"}
			if st, _ := dial(t, s).Do(protocol.CmdSyncRenameFile, req.Encode()); st != tc.want {
				t.Fatalf("rename: status %d, want %d", st, tc.want)
			}
			_, oldPath, _ := s.store.resolve(oldName)
			if _, err := os.Lstat(oldPath); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the copy under the old name is still there (%v)", err)
			}
			_, newPath, _ := s.store.resolve(newName)
			if got, err := os.ReadFile(newPath); tc.want != protocol.ENOENT && (err != nil || string(got) != string(content)) {
				t.Errorf("new name holds %q, %v", got, err)
			} else if tc.want == protocol.ENOENT && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a copy that missed changes was renamed (%v)", err)
			}
			names := strings.NewReplacer("OLD", oldName, "NEW", newName)
			var want []string
			for _, op := range tc.ops {
				want = append(want, names.Replace(op))
			}
			if got := binlogOps(t, s); !slices.Equal(got, want) {
				t.Errorf("binlog %q, want %q", got, want)
			}
		})
	}
}
