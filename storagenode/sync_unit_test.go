package storagenode

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// The mark file the reference storage left behind loads, and ours is
// written in the same format, byte for byte.
func TestSyncMarkFormat(t *testing.T) {
	dir, err := tracefile.Dir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ip", "raw", "127.0.0.4_23000.mark")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loadMark(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Index != 0 || m.Offset != 1002 || !m.NeedSyncOld || !m.SyncOldDone || m.Until != 1795619296 || m.ScanRows != 16 || m.SyncRows != 7 {
		t.Errorf("loaded %+v", m)
	}
	if got := m.encode(); string(got) != string(want) {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
	bad := filepath.Join(t.TempDir(), "x.mark")
	os.WriteFile(bad, []byte("binlog_index=0\nbinlog_offset=-5\n"), 0o644)
	if _, err := loadMark(bad); err == nil {
		t.Error("incomplete mark file accepted")
	}
	if _, err := loadMark(filepath.Join(t.TempDir(), "none.mark")); !os.IsNotExist(err) {
		t.Errorf("missing mark file: %v", err)
	}
}

func TestSyncWindow(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.Local) }
	for _, tc := range []struct {
		start, end string
		now        time.Time
		in         bool
	}{
		{"00:00", "23:59", at(12, 0), true},
		{"", "", at(3, 0), true},
		{"01:00", "05:00", at(3, 0), true},
		{"01:00", "05:00", at(5, 0), true},
		{"01:00", "05:00", at(5, 1), false},
		{"22:00", "02:00", at(23, 30), true},
		{"22:00", "02:00", at(1, 59), true},
		{"22:00", "02:00", at(12, 0), false},
		{"bad", "02:00", at(12, 0), true},
	} {
		s := &Server{cfg: conf.Storage{SyncStartTime: tc.start, SyncEndTime: tc.end}}
		if got := s.inSyncWindow(tc.now); got != tc.in {
			t.Errorf("%s-%s at %s: %v", tc.start, tc.end, tc.now.Format("15:04"), got)
		}
	}
}
