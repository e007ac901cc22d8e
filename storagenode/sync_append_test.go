package storagenode

import (
	"bytes"
	"os"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestSyncAppendConflict: a peer's append whose range the copy here already
// holds is answered EEXIST, as upstream, and the copy is kept; when the
// bytes it holds there differ (two appends at two storages at once) the
// conflict is counted and logged. Ranges longer than the compare buffer are
// compared whole.
func TestSyncAppendConflict(t *testing.T) {
	s := startServer(t, testConfig(t))
	allowSyncFrom(s, "127.0.0.1")
	rc := dial(t, s)
	content := make([]byte, 200_000)
	for i := range content {
		content[i] = byte(i * 7)
	}
	name := rc.upload(protocol.CmdUploadAppenderFile, 0, "log", content)
	path := namePath(t, s, name)
	changed := func(at int) []byte {
		b := bytes.Clone(content)
		b[at]++
		return b
	}
	for _, tc := range []struct {
		what      string
		offset    int
		data      []byte
		conflicts int64
	}{
		{"the same tail", 199_000, content[199_000:], 0},
		{"the same, longer than the buffer", 0, content, 0},
		{"another tail", 199_996, []byte("XXXX"), 1},
		{"another byte deep in a long range", 0, changed(150_000), 2},
	} {
		req := protocol.SyncRangeRequest{Name: name, Offset: int64(tc.offset), Length: int64(len(tc.data)), Timestamp: 1, Group: "group1"}
		if st, _ := rc.Do(protocol.CmdSyncAppendFile, req.Encode(), tc.data); st != protocol.EEXIST {
			t.Errorf("%s: status %d, want EEXIST", tc.what, st)
		}
		if got := s.appendConflicts.Load(); got != tc.conflicts {
			t.Errorf("%s: %d conflicts counted, want %d", tc.what, got, tc.conflicts)
		}
	}
	rc.alive()
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Errorf("the copy here changed (%d bytes, %v)", len(got), err)
	}
}
