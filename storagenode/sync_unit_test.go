package storagenode

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
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

// A peer's mark outlives a WAIT_SYNC only for the trackers' decision it
// was made for; SYNCING keeps it unless we became the source since.
func TestKeepMark(t *testing.T) {
	source := &syncMark{NeedSyncOld: true, SyncOldDone: true, Until: 1700000000}
	other := &syncMark{Until: 1700000000}
	for _, tc := range []struct {
		name   string
		m      *syncMark
		status byte
		need   bool
		until  int64
		keep   bool
	}{
		{"source, same decision (a tracker missed the reports)", source, protocol.StatusWaitSync, true, 1700000000, true},
		{"source, a new decision (the peer joined anew)", source, protocol.StatusWaitSync, true, 1700000500, false},
		{"source, now another storage's peer", source, protocol.StatusWaitSync, false, 1700000000, false},
		{"not the source, same decision", other, protocol.StatusWaitSync, false, 1700000000, true},
		{"not the source, now the source", other, protocol.StatusWaitSync, true, 1700000000, false},
		{"no decision", &syncMark{}, protocol.StatusWaitSync, false, 0, false},
		{"SYNCING, source", source, protocol.StatusSyncing, true, 1700000500, true},
		{"SYNCING, not the source", other, protocol.StatusSyncing, false, 0, true},
		{"SYNCING, became the source", other, protocol.StatusSyncing, true, 1700000000, false},
	} {
		if got := keepMark(tc.m, tc.status, tc.need, tc.until); got != tc.keep {
			t.Errorf("%s: keep %v, want %v", tc.name, got, tc.keep)
		}
	}
}

// A tracker is told a status of the initial sync only while it lists the
// peer before it: a report never moves a serving storage back.
func TestStatusBehind(t *testing.T) {
	for _, tc := range []struct {
		cur, to byte
		behind  bool
	}{
		{protocol.StatusInit, protocol.StatusSyncing, true},
		{protocol.StatusWaitSync, protocol.StatusSyncing, true},
		{protocol.StatusWaitSync, protocol.StatusOffline, true},
		{protocol.StatusSyncing, protocol.StatusSyncing, false},
		{protocol.StatusSyncing, protocol.StatusOffline, true},
		{protocol.StatusOffline, protocol.StatusOffline, false},
		{protocol.StatusOnline, protocol.StatusSyncing, false},
		{protocol.StatusActive, protocol.StatusOffline, false},
		{protocol.StatusRecovery, protocol.StatusOffline, false},
		{protocol.StatusDeleted, protocol.StatusOffline, false},
	} {
		if got := statusBehind(tc.cur, tc.to); got != tc.behind {
			t.Errorf("%s told %s: %v, want %v", protocol.StorageStatusName(tc.cur), protocol.StorageStatusName(tc.to), got, tc.behind)
		}
	}
}

// The mark is written every write_mark_file_freq records and at least
// every markSaveInterval while records go by: what a crash makes the
// source send again stays within a second of records under any load.
func TestMarkDue(t *testing.T) {
	saved := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		scanned int64         // records since the mark was written
		after   time.Duration // since it was written
		want    bool
	}{
		{"a few records, just written", 3, 10 * time.Millisecond, false},
		{"freq records", 500, 10 * time.Millisecond, true},
		{"a few records, a second old", 3, markSaveInterval, true},
		{"one record, under a second old", 1, markSaveInterval - time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := &syncSession{freq: 500, savedScan: 100, savedAt: saved}
			ss.mark = &syncMark{ScanRows: 100 + tt.scanned}
			if got := ss.markDue(saved.Add(tt.after)); got != tt.want {
				t.Errorf("markDue = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWorkerWaitsForEveryPredecessor: a worker retired while it still
// waits for the one before it (a membership that flipped twice) does not
// exit before that one: the next worker waits for it alone.
func TestWorkerWaitsForEveryPredecessor(t *testing.T) {
	s := &Server{ctx: context.Background(), log: slog.New(slog.DiscardHandler)}
	first := &syncWorker{exited: make(chan struct{})} // still in a session
	second := newSyncWorker(s, protocol.Brief{ID: "127.0.0.9", Status: protocol.StatusActive}, first)
	second.stop()
	go second.run()
	select {
	case <-second.exited:
		t.Fatal("the retired worker exited while the one before it still runs")
	case <-time.After(50 * time.Millisecond):
	}
	close(first.exited)
	<-second.exited
}
