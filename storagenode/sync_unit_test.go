package storagenode

import (
	"io"
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

// The reader returns whole records only, resumes at the committed offset
// and follows the writer to the next binlog file.
func TestSyncBinlogReader(t *testing.T) {
	dir := t.TempDir()
	write := func(i int, s string) {
		f, err := os.OpenFile(filepath.Join(dir, "binlog.00"+string(rune('0'+i))), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	current := 0
	r := newBinlogReader(dir, func() int { return current }, 0, 0)
	defer r.close()
	if _, _, err := r.next(); err != io.EOF {
		t.Fatalf("empty binlog: %v", err)
	}
	write(0, "1 C M00/00/00/a\n2 A M00/00/00/a 0 5\n3 D M0")
	var got []string
	for {
		line, n, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
		r.commit(n)
	}
	if len(got) != 2 || got[1] != "2 A M00/00/00/a 0 5" {
		t.Fatalf("records %q", got)
	}
	write(0, "0/00/00/b\n")
	current = 1
	write(1, "4 C M00/00/00/c\n")
	for _, want := range []string{"3 D M00/00/00/b", "4 C M00/00/00/c"} {
		line, n, err := r.next()
		if err != nil || line != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
		r.commit(n)
	}
	if r.index != 1 || r.offset != int64(len("4 C M00/00/00/c\n")) {
		t.Errorf("position %d/%d", r.index, r.offset)
	}
	// A new reader resumes from a saved position.
	r2 := newBinlogReader(dir, func() int { return current }, 0, int64(len("1 C M00/00/00/a\n")))
	defer r2.close()
	if line, _, _ := r2.next(); line != "2 A M00/00/00/a 0 5" {
		t.Errorf("resumed at %q", line)
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
