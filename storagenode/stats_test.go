package storagenode

import (
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// statCounters are the stat block counters TestStatCounters follows, as
// total and success.
var statCounters = map[string]func(b *protocol.StatBlock) (int64, int64){
	"upload":       func(b *protocol.StatBlock) (int64, int64) { return b.TotalUploadCount, b.SuccessUploadCount },
	"upload bytes": func(b *protocol.StatBlock) (int64, int64) { return b.TotalUploadBytes, b.SuccessUploadBytes },
	"download": func(b *protocol.StatBlock) (int64, int64) {
		return b.TotalDownloadCount, b.SuccessDownloadCount
	},
	"download bytes": func(b *protocol.StatBlock) (int64, int64) {
		return b.TotalDownloadBytes, b.SuccessDownloadBytes
	},
	"set meta":     func(b *protocol.StatBlock) (int64, int64) { return b.TotalSetMetaCount, b.SuccessSetMetaCount },
	"get meta":     func(b *protocol.StatBlock) (int64, int64) { return b.TotalGetMetaCount, b.SuccessGetMetaCount },
	"delete":       func(b *protocol.StatBlock) (int64, int64) { return b.TotalDeleteCount, b.SuccessDeleteCount },
	"delete link":  func(b *protocol.StatBlock) (int64, int64) { return b.TotalDeleteLinkCount, b.SuccessDeleteLinkCount },
	"create link":  func(b *protocol.StatBlock) (int64, int64) { return b.TotalCreateLinkCount, b.SuccessCreateLinkCount },
	"append":       func(b *protocol.StatBlock) (int64, int64) { return b.TotalAppendCount, b.SuccessAppendCount },
	"append bytes": func(b *protocol.StatBlock) (int64, int64) { return b.TotalAppendBytes, b.SuccessAppendBytes },
	"modify":       func(b *protocol.StatBlock) (int64, int64) { return b.TotalModifyCount, b.SuccessModifyCount },
	"modify bytes": func(b *protocol.StatBlock) (int64, int64) { return b.TotalModifyBytes, b.SuccessModifyBytes },
	"truncate":     func(b *protocol.StatBlock) (int64, int64) { return b.TotalTruncateCount, b.SuccessTruncateCount },
	"file open":    func(b *protocol.StatBlock) (int64, int64) { return b.TotalFileOpenCount, b.SuccessFileOpenCount },
	"file read":    func(b *protocol.StatBlock) (int64, int64) { return b.TotalFileReadCount, b.SuccessFileReadCount },
	"file write":   func(b *protocol.StatBlock) (int64, int64) { return b.TotalFileWriteCount, b.SuccessFileWriteCount },
	"sync in bytes": func(b *protocol.StatBlock) (int64, int64) {
		return b.TotalSyncInBytes, b.SuccessSyncInBytes
	},
}

// otherName is a valid name of the same store path and directory as name
// that no file has.
func otherName(name string) string {
	c := byte('x')
	if name[len(name)-5] == c {
		c = 'y'
	}
	return name[:len(name)-5] + string(c) + name[len(name)-4:]
}

// Every request kind is counted in the stat block the storage reports to
// the trackers exactly as upstream storage_service.c counts it: in the
// callback of its disk I/O. So a request refused before any disk I/O (file
// missing, not an appender, offset past the end, a bad argument, nothing
// to do) counts nowhere, not even in total_*; one that got there counts in
// total, and in success when it succeeded, with its bytes, its file opens,
// reads and writes.
func TestStatCounters(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	name := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("hello"))
	app := rc.upload(protocol.CmdUploadAppenderFile, 0, "txt", []byte("ABC"))
	linked := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("target"))
	_, linkedPath, _ := s.store.resolve(linked)
	link := otherName(linked)
	_, linkPath, _ := s.store.resolve(link)
	if err := os.Symlink(linkedPath, linkPath); err != nil {
		t.Fatal(err)
	}

	upload := func(cmd byte, ext string, content []byte) func() byte {
		return func() byte {
			req := protocol.UploadRequest{StorePathIndex: 0, FileSize: int64(len(content)), Ext: ext}
			st, _ := rc.Do(cmd, req.Encode(), content)
			return st
		}
	}
	download := func(name string, offset, length int64) func() byte {
		return func() byte { st, _ := rc.download(name, offset, length); return st }
	}
	fileCmd := func(cmd byte, name string) func() byte {
		return func() byte { st, _ := rc.fileCmd(cmd, name); return st }
	}
	appendTo := func(name string, data string) func() byte {
		return func() byte {
			st, _ := rc.Do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: name, Length: int64(len(data))}).Encode(), []byte(data))
			return st
		}
	}
	modify := func(name string, offset int64, data string) func() byte {
		return func() byte {
			st, _ := rc.Do(protocol.CmdModifyFile, (&protocol.ModifyRequest{Name: name, Offset: offset, Length: int64(len(data))}).Encode(), []byte(data))
			return st
		}
	}
	truncate := func(name string, size int64) func() byte {
		return func() byte {
			st, _ := rc.Do(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name, NewSize: size}).Encode())
			return st
		}
	}
	none := map[string][2]int64{}
	steps := []struct {
		name  string
		run   func() byte
		want  byte
		count map[string][2]int64 // counter → {total, success} added; the others must not move
	}{
		{"upload", upload(protocol.CmdUploadFile, "txt", []byte("xyz")), 0,
			map[string][2]int64{"upload": {1, 1}, "upload bytes": {3, 3}, "file open": {1, 1}, "file write": {1, 1}}},
		{"upload an empty file", upload(protocol.CmdUploadFile, "txt", nil), 0,
			map[string][2]int64{"upload": {1, 1}, "file open": {1, 1}, "file write": {1, 1}}},
		{"upload with a bad extension", upload(protocol.CmdUploadFile, "a/b", []byte("xyz")), protocol.EINVAL, none},

		{"download", download(name, 0, 0), 0,
			map[string][2]int64{"download": {1, 1}, "download bytes": {5, 5}, "file open": {1, 1}, "file read": {1, 1}}},
		{"download a range", download(name, 1, 2), 0,
			map[string][2]int64{"download": {1, 1}, "download bytes": {2, 2}, "file open": {1, 1}, "file read": {1, 1}}},
		{"download a missing file", download(otherName(name), 0, 0), protocol.ENOENT, none},
		{"download from the end", download(name, 5, 0), protocol.EINVAL, none},
		{"download of another group", func() byte {
			st, _ := rc.Do(protocol.CmdDownloadFile, (&protocol.DownloadRequest{Group: "group2", Name: name}).Encode())
			return st
		}, protocol.EINVAL, none},

		{"set metadata", func() byte { return rc.setMeta(name, protocol.MetaOverwrite, []byte("k\x02v")) }, 0,
			map[string][2]int64{"set meta": {1, 1}}},
		{"set metadata with a bad flag", func() byte { return rc.setMeta(name, 'X', nil) }, protocol.EINVAL, none},
		{"set metadata of a missing file", func() byte { return rc.setMeta(otherName(name), protocol.MetaMerge, []byte("k\x02v")) },
			protocol.ENOENT, none},
		{"get metadata", fileCmd(protocol.CmdGetMetadata, name), 0,
			map[string][2]int64{"get meta": {1, 1}, "file open": {1, 1}, "file read": {1, 1}}},
		{"get metadata of a missing file", fileCmd(protocol.CmdGetMetadata, otherName(name)), protocol.ENOENT, none},
		{"get metadata of a file without any", fileCmd(protocol.CmdGetMetadata, app), protocol.ENOENT, none},

		{"append", appendTo(app, "defg"), 0,
			map[string][2]int64{"append": {1, 1}, "append bytes": {4, 4}, "file open": {1, 1}, "file write": {1, 1}}},
		{"append nothing", appendTo(app, ""), 0, none},
		{"append to a normal file", appendTo(name, "defg"), protocol.EINVAL, none},
		{"append to a missing file", appendTo(otherName(app), "defg"), protocol.ENOENT, none},
		{"modify", modify(app, 1, "bc"), 0,
			map[string][2]int64{"modify": {1, 1}, "modify bytes": {2, 2}, "file open": {1, 1}, "file write": {1, 1}}},
		{"modify nothing", modify(app, 1, ""), 0, none},
		{"modify past the end", modify(app, 100, "bc"), protocol.EINVAL, none},
		{"modify a normal file", modify(name, 0, "bc"), protocol.EINVAL, none},
		{"modify a missing file", modify(otherName(app), 0, "bc"), protocol.ENOENT, none},
		{"truncate", truncate(app, 2), 0, map[string][2]int64{"truncate": {1, 1}, "file open": {1, 1}}},
		{"truncate to the same size", truncate(app, 2), 0, none},
		{"truncate a normal file", truncate(name, 1), protocol.EINVAL, none},
		{"truncate a missing file", truncate(otherName(app), 1), protocol.ENOENT, none},

		// No operation counter, but the CRC32 is read from the file.
		{"file info of an appender file", func() byte { st, _ := rc.fileInfo(app, 0); return st }, 0,
			map[string][2]int64{"file open": {1, 1}, "file read": {1, 1}}},
		{"file info of a normal file", func() byte { st, _ := rc.fileInfo(name, 0); return st }, 0, none},

		{"delete", fileCmd(protocol.CmdDeleteFile, name), 0, map[string][2]int64{"delete": {1, 1}}},
		{"delete again", fileCmd(protocol.CmdDeleteFile, name), protocol.ENOENT, none},
		{"delete a symbolic link", fileCmd(protocol.CmdDeleteFile, link), 0, map[string][2]int64{"delete link": {1, 1}}},
	}
	lastUpdate := s.stats.snapshot().LastSourceUpdate
	for _, step := range steps {
		before := s.stats.snapshot()
		if got := step.run(); got != step.want {
			t.Fatalf("%s: status %d, want %d", step.name, got, step.want)
		}
		rc.alive() // the counting of the request is over
		after := s.stats.snapshot()
		for _, c := range slices.Sorted(maps.Keys(statCounters)) {
			t0, s0 := statCounters[c](&before)
			t1, s1 := statCounters[c](&after)
			if got, want := [2]int64{t1 - t0, s1 - s0}, step.count[c]; got != want {
				t.Errorf("%s: %s counted %d total, %d success; want %d, %d", step.name, c, got[0], got[1], want[0], want[1])
			}
		}
		if changed := after.LastSourceUpdate != lastUpdate; changed && step.want != 0 {
			t.Errorf("%s: last source update moved", step.name)
		}
		lastUpdate = after.LastSourceUpdate
	}
	if lastUpdate == 0 {
		t.Error("last source update never set")
	}
}
