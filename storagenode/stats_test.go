package storagenode

import (
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Every request kind is counted in the stat block the storage reports to
// the trackers: total always, success only when it succeeded, bytes of
// content carrying requests, and the last source update for changes.
func TestStatCounters(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("hello"))
	app := rc.upload(protocol.CmdUploadAppenderFile, 0, "txt", []byte("ABC"))
	before := s.stats.snapshot()
	missing := name[:len(name)-5] + "x.txt"

	steps := []struct {
		name string
		run  func() byte
		want byte
	}{
		{"download", func() byte { st, _ := rc.download(name, 0, 0); return st }, 0},
		{"download missing", func() byte { st, _ := rc.download(missing, 0, 0); return st }, protocol.ENOENT},
		{"set metadata", func() byte { return rc.setMeta(name, protocol.MetaOverwrite, []byte("k\x02v")) }, 0},
		{"set metadata with a bad flag", func() byte { return rc.setMeta(name, 'X', nil) }, protocol.EINVAL},
		{"get metadata", func() byte { st, _ := rc.fileCmd(protocol.CmdGetMetadata, name); return st }, 0},
		{"get metadata of a missing file", func() byte { st, _ := rc.fileCmd(protocol.CmdGetMetadata, missing); return st }, protocol.ENOENT},
		{"append", func() byte {
			st, _ := rc.do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: app, Length: 4}).Encode(), []byte("defg"))
			return st
		}, 0},
		{"modify", func() byte {
			st, _ := rc.do(protocol.CmdModifyFile, (&protocol.ModifyRequest{Name: app, Offset: 1, Length: 2}).Encode(), []byte("bc"))
			return st
		}, 0},
		{"truncate", func() byte {
			st, _ := rc.do(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: app, NewSize: 2}).Encode())
			return st
		}, 0},
		{"truncate a normal file", func() byte {
			st, _ := rc.do(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name, NewSize: 1}).Encode())
			return st
		}, protocol.EINVAL},
		{"delete", func() byte { st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); return st }, 0},
		{"delete again", func() byte { st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); return st }, protocol.ENOENT},
	}
	for _, step := range steps {
		if got := step.run(); got != step.want {
			t.Fatalf("%s: status %d, want %d", step.name, got, step.want)
		}
	}

	after := s.stats.snapshot()
	counters := []struct {
		name               string
		total, success     func(*protocol.StatBlock) int64
		wantTotal, wantSuc int64
	}{
		{"download", func(b *protocol.StatBlock) int64 { return b.TotalDownloadCount }, func(b *protocol.StatBlock) int64 { return b.SuccessDownloadCount }, 2, 1},
		{"download bytes", func(b *protocol.StatBlock) int64 { return b.TotalDownloadBytes }, func(b *protocol.StatBlock) int64 { return b.SuccessDownloadBytes }, 5, 5},
		{"set metadata", func(b *protocol.StatBlock) int64 { return b.TotalSetMetaCount }, func(b *protocol.StatBlock) int64 { return b.SuccessSetMetaCount }, 2, 1},
		{"get metadata", func(b *protocol.StatBlock) int64 { return b.TotalGetMetaCount }, func(b *protocol.StatBlock) int64 { return b.SuccessGetMetaCount }, 2, 1},
		{"append", func(b *protocol.StatBlock) int64 { return b.TotalAppendCount }, func(b *protocol.StatBlock) int64 { return b.SuccessAppendCount }, 1, 1},
		{"append bytes", func(b *protocol.StatBlock) int64 { return b.TotalAppendBytes }, func(b *protocol.StatBlock) int64 { return b.SuccessAppendBytes }, 4, 4},
		{"modify", func(b *protocol.StatBlock) int64 { return b.TotalModifyCount }, func(b *protocol.StatBlock) int64 { return b.SuccessModifyCount }, 1, 1},
		{"modify bytes", func(b *protocol.StatBlock) int64 { return b.TotalModifyBytes }, func(b *protocol.StatBlock) int64 { return b.SuccessModifyBytes }, 2, 2},
		{"truncate", func(b *protocol.StatBlock) int64 { return b.TotalTruncateCount }, func(b *protocol.StatBlock) int64 { return b.SuccessTruncateCount }, 2, 1},
		{"delete", func(b *protocol.StatBlock) int64 { return b.TotalDeleteCount }, func(b *protocol.StatBlock) int64 { return b.SuccessDeleteCount }, 2, 1},
	}
	for _, c := range counters {
		total, success := c.total(&after)-c.total(&before), c.success(&after)-c.success(&before)
		if total != c.wantTotal || success != c.wantSuc {
			t.Errorf("%s: %d total, %d success; want %d, %d", c.name, total, success, c.wantTotal, c.wantSuc)
		}
	}
	if after.LastSourceUpdate < before.LastSourceUpdate || after.LastSourceUpdate == 0 {
		t.Errorf("last source update %d (before %d)", after.LastSourceUpdate, before.LastSourceUpdate)
	}
	if after.SuccessFileOpenCount <= before.SuccessFileOpenCount || after.SuccessFileReadCount <= before.SuccessFileReadCount || after.SuccessFileWriteCount <= before.SuccessFileWriteCount {
		t.Errorf("file open/read/write counts did not grow: %+v -> %+v", before, after)
	}
}
