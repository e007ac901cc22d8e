package storagenode

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/memtmp"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Fuzz targets of the files the storage reads back at start: whatever a
// crash, a disk fault or a hand edit left in them, loading one refuses it
// with an error naming the file, or gives values within their bounds that
// the storage writes back as a file that loads to the same values.

// clipped shortens a fuzz input for a failure message.
func clipped(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%q...", b[:300])
	}
	return fmt.Sprintf("%q", b)
}

// writeState writes data at path in dir (a state file as found at start).
func writeState(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzLoadMark: a sync mark file (upstream's ini format) loads as a mark
// within loadMark's bounds (binlog_index 0..999, no negative offset or
// count), which encode writes back as a file that loads to the same
// mark; anything else is refused naming the file.
func FuzzLoadMark(f *testing.F) {
	memtmp.Use(f)
	written := &syncMark{Index: 3, Offset: 12345, NeedSyncOld: true, SyncOldDone: true, Until: 1700000000, ScanRows: 40, SyncRows: 38}
	f.Add(written.encode())
	f.Add((&syncMark{}).encode())
	f.Add([]byte("binlog_index=0\nbinlog_offset=1234\nneed_sync_old=1\nsync_old_done=1\nuntil_timestamp=1700000000\nscan_row_count=10\nsync_row_count=8\n"))
	f.Add([]byte("binlog_index=0\nbinlog_offset=-5\n"))
	f.Add([]byte("binlog_index=1000\nbinlog_offset=0\nneed_sync_old=0\nsync_old_done=0\nuntil_timestamp=-1\nscan_row_count=0\nsync_row_count=0\n"))
	f.Add([]byte(" binlog_index = 2 \r\n# comment\nbinlog_offset=99999999999999999999\n"))
	f.Add([]byte("binlog_index=1\nbinlog_offset=9\nneed_sync_old=7\nsync_old_done=-0\nuntil_timestamp=-9\nscan_row_count=+3\nsync_row_count=03\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "127.0.0.2_23000.mark")
		writeState(t, path, data)
		m, err := loadMark(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("loadMark(%s): %v does not name the file", clipped(data), err)
			}
			return
		}
		if m.Index < 0 || m.Index > 999 || m.Offset < 0 || m.ScanRows < 0 || m.SyncRows < 0 {
			t.Fatalf("loadMark(%s) = %+v: out of bounds", clipped(data), m)
		}
		writeState(t, path, m.encode())
		again, err := loadMark(path)
		if err != nil || *again != *m {
			t.Fatalf("loadMark(%s) = %+v, written back: %+v, %v", clipped(data), m, again, err)
		}
	})
}

// FuzzStatsLoad: storage_stat.dat loads as counters that save writes back
// as a file that loads to the same, and the directory cursor it holds
// never makes nextDir pick a data directory that does not exist.
func FuzzStatsLoad(f *testing.F) {
	memtmp.Use(f)
	var b protocol.StatBlock
	for i, fl := range b.Fields() {
		*fl.P = int64(i * 1000)
	}
	written := filepath.Join(f.TempDir(), statFile)
	s := &stats{path: written, b: b}
	if err := s.save(distCursor{High: 3, Low: 1, Count: 5}); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(written)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("total_upload_count=5\nsuccess_upload_count=-4\ndist_path_index_high=255\ndist_path_index_low=255\ndist_write_file_count=99\n"))
	f.Add([]byte("dist_path_index_high=-3\ndist_path_index_low=99999999999999999999\ndist_write_file_count=-1\n"))
	f.Add([]byte("last_heart_beat_time=1700000000\n\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), statFile)
		writeState(t, path, data)
		s := newStats(path)
		var dist distCursor
		if err := s.load(&dist); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("load(%s): %v does not name the file", clipped(data), err)
			}
			return
		}
		if err := s.save(dist); err != nil {
			t.Fatal(err)
		}
		s2 := newStats(path)
		var dist2 distCursor
		if err := s2.load(&dist2); err != nil || s2.b != s.b || dist2 != dist {
			t.Fatalf("load(%s) = %+v %+v, written back: %+v %+v, %v", clipped(data), s.b, dist, s2.b, dist2, err)
		}
		st := &store{subdirs: 4, rotate: 2, dist: dist}
		for range 3 {
			if h, l := st.nextDir(""); h < 0 || h >= st.subdirs || l < 0 || l >= st.subdirs {
				t.Fatalf("load(%s): cursor %+v picks data directory %02X/%02X of 4×4", clipped(data), dist, h, l)
			}
		}
	})
}

// FuzzLoadDeferred: a peer's deferred records load as whole, well-formed
// records of the file, in its order; when anything was dropped the file
// is rewritten at once, and loads again to the same records with nothing
// dropped.
func FuzzLoadDeferred(f *testing.F) {
	memtmp.Use(f)
	recs := "1700000000 C M00/00/00/wKgBCmVXxyGAcL3BAAAABncc3SA123.txt\n1700000001 D M00/00/00/wKgBC2VXxyGAHZ8vAAAABncc3SA789.jpg\n"
	f.Add([]byte(recs))
	f.Add([]byte(recs + "1700000002 A M00/00"))
	f.Add([]byte(recs + strings.Repeat("\x00", 2000) + "\n" + recs))
	f.Add([]byte("garbage\n\n" + strings.Repeat("1", 1100) + " C x\n1 C x\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "127.0.0.2_23000.deferred")
		writeState(t, path, data)
		d, dropped, err := loadDeferred(path)
		if err != nil {
			t.Fatalf("loadDeferred(%s): %v", clipped(data), err)
		}
		whole := strings.Split(string(data[:bytes.LastIndexByte(data, '\n')+1]), "\n")
		at := 0
		for _, l := range d.lines {
			if _, err := binlog.Parse(l); err != nil || len(l) >= binlog.MaxLine {
				t.Fatalf("loadDeferred(%s) kept %q", clipped(data), l)
			}
			i := slices.Index(whole[at:], l)
			if i < 0 {
				t.Fatalf("loadDeferred(%s): %q is no line of it after line %d", clipped(data), l, at)
			}
			at += i + 1
		}
		d2, dropped2, err := loadDeferred(path)
		if err != nil || dropped2 != 0 || !slices.Equal(d2.lines, d.lines) {
			t.Fatalf("loadDeferred(%s) = %q (%d dropped), again: %q (%d dropped), %v", clipped(data), d.lines, dropped, d2.lines, dropped2, err)
		}
	})
}

// FuzzLoadMoves: .moved_addresses loads as a book of moves that save
// writes back as a file that loads to the same book: after a restart
// every address leads to the same storage as before.
func FuzzLoadMoves(f *testing.F) {
	memtmp.Use(f)
	f.Add([]byte("10.0.0.1 10.0.0.5\n10.0.0.9 10.0.0.1\n"))
	f.Add([]byte("b c\nx b\ny b\n"))
	f.Add([]byte("a b\nb a\n"))
	f.Add([]byte("a b c\n a \n\x00 \xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), movedFile)
		writeState(t, path, data)
		mv, err := loadMoves(path)
		if err != nil {
			return // a line longer than the scanner takes: refused, named by the caller
		}
		mv.mu.Lock()
		err = mv.save()
		mv.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		mv2, err := loadMoves(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range strings.Fields(string(data)) {
			if c, c2 := mv.current(a), mv2.current(a); c != c2 {
				t.Fatalf("loadMoves(%s): %s moved to %s, after saving to %s", clipped(data), a, c, c2)
			}
		}
	})
}

// FuzzMetaSums: whatever a metadata file holds, the checksums taken from
// it are only those of known keys, each of its hash's size.
func FuzzMetaSums(f *testing.F) {
	memtmp.Use(f)
	crc := crc32.ChecksumIEEE([]byte("x"))
	sha := sha256.Sum256([]byte("x"))
	f.Add(protocol.PackMeta(map[string]string{"fdfs_crc32": fmt.Sprintf("%08x", crc), "fdfs_sha256": hex.EncodeToString(sha[:]), "width": "100"}))
	f.Add(protocol.PackMeta(map[string]string{"fdfs_crc32c": "zz", "fdfs_sha256": "00"}))
	f.Add([]byte("fdfs_crc32\x02\x01\x02\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "a.txt"+metaSuffix)
		writeState(t, path, data)
		for k, v := range metaSums(path) {
			h, ok := metaChecksums[k]
			if !ok || len(v) != h().Size() {
				t.Fatalf("metaSums(%s): %s = %x", clipped(data), k, v)
			}
		}
	})
}

// FuzzDecodeMark: a store path mark decodes to fields within their
// bounds, which encodeMark writes as a mark that decodes to the same
// (the IP as upstream's 46-byte field keeps it: 45 bytes).
func FuzzDecodeMark(f *testing.F) {
	f.Add(upstreamMark)
	f.Add(encodeMark(markInfo{IP: "fe80::1234:5678:9abc:def0%eth0", Port: -1, Index: 255}))
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("not a mark")
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := decodeMark(s)
		if !ok {
			return
		}
		if m.Index < 0 || m.Index > 255 || m.Port < -1<<15 || m.Port >= 1<<15 || len(m.IP) > markIPSize || strings.Contains(m.IP, "\x00") {
			t.Fatalf("decodeMark(%q) = %+v", s, m)
		}
		m.IP = m.IP[:min(len(m.IP), markIPSize-1)]
		if again, ok := decodeMark(encodeMark(m)); !ok || again != m {
			t.Fatalf("decodeMark(%q) = %+v, encoded again: %+v, %v", s, m, again, ok)
		}
	})
}

// FuzzDeleteMemory: the deletes a start remembers from the binlog's tail
// are those of the whole delete records in it (the line the cut falls in
// excepted), each at its newest time, and no other name.
func FuzzDeleteMemory(f *testing.F) {
	memtmp.Use(f)
	recs := "1700000000 C M00/00/00/a.txt\n1700000001 D M00/00/00/a.txt\n1700000002 d M00/00/00/b.txt\n1700000003 D M00/00/00/c.txt-m\n"
	f.Add([]byte(recs), uint16(0))
	f.Add([]byte(recs), uint16(40))
	f.Add([]byte(recs+"1700000004 D M00/00/00/e"), uint16(1000))
	f.Add([]byte(recs+strings.Repeat("\x00", 3000)+"\n-5 D x\n"), uint16(2000))
	f.Add([]byte("000000000000000000000000000"), uint16(26))
	f.Fuzz(func(t *testing.T, data []byte, tail uint16) {
		path := filepath.Join(t.TempDir(), "binlog.000")
		writeState(t, path, data)
		d := newDeleteMemory()
		if err := d.load(path, int64(tail)); err != nil {
			t.Fatalf("load(%s, %d): %v", clipped(data), tail, err)
		}
		from := max(0, len(data)-int(tail))
		if from > 0 {
			i := bytes.IndexByte(data[from:], '\n')
			if i < 0 {
				from = len(data)
			} else {
				from += i + 1
			}
		}
		want := map[string]int64{}
		prev := "" // a file's delete right before its metadata file's covers it
		for l := range strings.Lines(string(data[from:max(from, bytes.LastIndexByte(data, '\n')+1)])) {
			r, err := binlog.Parse(strings.TrimSuffix(l, "\n"))
			if err != nil || r.Op.Source() != binlog.OpDelete {
				prev = ""
				continue
			}
			if cur, ok := want[r.Name]; (prev == "" || r.Name != prev+metaSuffix) && (!ok || r.Timestamp > cur) {
				want[r.Name] = r.Timestamp
			}
			prev = r.Name
		}
		for _, name := range strings.Fields(string(data)) {
			ts, deleted := want[name]
			// A negative time is remembered as 0: no change is older.
			if deleted && (!d.covers(name, ts) || ts < math.MaxInt64 && d.covers(name, max(ts, 0)+1)) || !deleted && d.covers(name, -1<<63) {
				t.Fatalf("load(%s, %d): %q remembered wrong (deleted at %d: %v)", clipped(data), tail, name, ts, deleted)
			}
		}
	})
}

// FuzzRecoveryResume: whatever a store path's recovery mark and fetched
// binlog hold, the restore resumes at the start of the record the mark
// falls in (at the start of the file for a bad mark or one past its end),
// and reads from there every whole line, a garbage one as "" with its
// length, up to the last newline: no record is skipped, and nothing in
// the files stops the restore.
func FuzzRecoveryResume(f *testing.F) {
	memtmp.Use(f)
	recs := "1700000000 C M00/00/00/a.txt\n1700000001 c M00/00/00/b.txt-m\n"
	f.Add([]byte("binlog_offset=0\n"), []byte(recs))
	f.Add([]byte("binlog_offset=29\n"), []byte(recs+"1700000002 C M00"))
	f.Add([]byte("binlog_offset=5\n"), []byte(recs))
	f.Add([]byte("binlog_offset=99999\n"), []byte(recs))
	f.Add([]byte("binlog_offset=-3\n"), []byte(recs))
	f.Add([]byte(""), []byte(recs))
	f.Add([]byte("binlog_offset=40\n"), []byte(recs[:29]+strings.Repeat("\x00", 3000)+"\n"+recs[29:]))
	f.Fuzz(func(t *testing.T, mark, data []byte) {
		dir := t.TempDir()
		markPath, path := filepath.Join(dir, recoveryMarkFile), filepath.Join(dir, recoveryBinlogFile)
		writeState(t, markPath, mark)
		writeState(t, path, data)
		offset, err := recoveryMarkOffset(markPath)
		if err != nil {
			if !strings.Contains(err.Error(), markPath) {
				t.Fatalf("mark %s: %v does not name the file", clipped(mark), err)
			}
			offset = 0 // as restorePath takes a bad mark
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		from, err := recoveryResume(fh, offset)
		want := int64(0)
		if offset <= int64(len(data)) {
			want = int64(bytes.LastIndexByte(data[:offset], '\n') + 1)
		}
		if err != nil || from != want {
			t.Fatalf("mark %s over %s: resume at %d, %v; want %d", clipped(mark), clipped(data), from, err, want)
		}
		checkRecoveryLines(t, fh, data, from)
	})
}

// checkRecoveryLines reads the recovery binlog fh, whose content is data,
// from offset from as restorePath does, checking each line.
func checkRecoveryLines(t *testing.T, fh *os.File, data []byte, from int64) {
	t.Helper()
	if _, err := fh.Seek(from, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(fh, binlog.MaxLine)
	for pos := from; ; {
		line, n, err := readRecoveryLine(br)
		if err == io.EOF {
			if end := int64(bytes.LastIndexByte(data, '\n') + 1); pos != end {
				t.Fatalf("recovery binlog %s: lines read up to %d, want %d", clipped(data), pos, end)
			}
			return
		}
		whole := data[pos : pos+n]
		if err != nil || n <= 0 || bytes.IndexByte(whole, '\n') != len(whole)-1 {
			t.Fatalf("recovery binlog %s at %d: line %q of %d bytes, %v", clipped(data), pos, line, n, err)
		}
		if want := string(whole[:n-1]); len(whole) > binlog.MaxLine && line != "" || len(whole) <= binlog.MaxLine && line != want {
			t.Fatalf("recovery binlog %s at %d: line %q, want %q", clipped(data), pos, line, want)
		}
		pos += n
	}
}

// FuzzInitFlag: whatever .data_init_flag and a store path's .fastdfs_vars
// hold, a start either refuses them naming one of them, or opens the
// store with a join time and (checking marks) the path's mark recorded,
// and starts again from what it left, with the same join time and marks.
// The flag file's key=value lines load, save and load to the same.
func FuzzInitFlag(f *testing.F) {
	memtmp.Use(f)
	f.Add([]byte(upstreamInitFlag), []byte(markKey+"="+upstreamMark+"\n"), true)
	f.Add([]byte(upstreamInitFlag), []byte(markKey+"="+upstreamMark+"\n"), false)
	f.Add([]byte(upstreamInitFlag), []byte(markKey+"=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"), true)
	f.Add([]byte(upstreamInitFlag), []byte{}, true)
	f.Add([]byte("storage_join_time=abc\nsync_old_done=1\ncurrent_trunk_file_id=-5\nstore_path_mark7=x\nstore_path_mark0=\n"), []byte("store_path_mark=\n"), true)
	f.Add([]byte("store_path_mark0="+upstreamMark+"\n"), []byte(nil), false)
	f.Add([]byte(strings.Repeat("k", 70000)), []byte(nil), true)
	f.Add([]byte("\x00\x00\x00"), []byte("=\n#store_path_mark=a\n"), true)
	f.Add([]byte("storage_join_time=\nsync_old_done=1\nlast_ip_addr=10.0.0.5\ncurrent_trunk_file_id=12\n"), []byte(nil), true)
	f.Fuzz(func(t *testing.T, flag, vars []byte, check bool) {
		cfg := testConfig(t)
		cfg.SubdirCountPerPath, cfg.CheckStorePathMark = 2, check
		flagPath := filepath.Join(cfg.BasePath, "data", dataInitFlagFile)
		varsPath := filepath.Join(cfg.BasePath, "data", varsFile)
		writeState(t, flagPath, flag)
		if len(vars) > 0 {
			writeState(t, varsPath, vars)
		}
		before := checkIniRoundTrip(t, flagPath)
		st, err := startStore(cfg)
		if err != nil {
			if !strings.Contains(err.Error(), flagPath) && !strings.Contains(err.Error(), varsPath) {
				t.Fatalf("flag %s, vars %s: %v names neither file", clipped(flag), clipped(vars), err)
			}
			return
		}
		join := st.initFlag.get(flagJoinTime)
		mark, _ := st.initFlag.lookup(flagMarkKey(0))
		for _, k := range []string{flagSyncOldDone, flagSyncSrcServer, flagSyncUntil, flagLastIPAddr, flagLastServerPort, flagCurrentTrunkFileID, flagTrunkLastCompress} {
			if v, ok := before.vals[k]; ok && st.initFlag.get(k) != v {
				t.Fatalf("flag %s: %s=%q became %q", clipped(flag), k, v, st.initFlag.get(k))
			}
		}
		if join == "" || check && !markOnDisk(t, varsPath, mark) {
			t.Fatalf("flag %s, vars %s: join time %q, mark %q", clipped(flag), clipped(vars), join, mark)
		}
		st2, err := startStore(cfg)
		if err != nil {
			t.Fatalf("flag %s, vars %s: started, then not again: %v", clipped(flag), clipped(vars), err)
		}
		mark2, _ := st2.initFlag.lookup(flagMarkKey(0))
		if st2.initFlag.get(flagJoinTime) != join || check && mark2 != mark {
			t.Fatalf("flag %s, vars %s: join time %q, mark %q; after a restart %q, %q", clipped(flag), clipped(vars), join, mark, st2.initFlag.get(flagJoinTime), mark2)
		}
	})
}

// startStore is what a start does with the store's files: the wiped
// paths marked, then the store opened.
func startStore(cfg *conf.Storage) (*store, error) {
	if _, err := markWipedPaths(cfg); err != nil {
		return nil, err
	}
	return openStore(cfg, slog.New(slog.DiscardHandler))
}

// markOnDisk reports whether the store path's .fastdfs_vars holds mark.
func markOnDisk(t *testing.T, varsPath, mark string) bool {
	t.Helper()
	m, err := readPathMark(varsPath)
	return err == nil && m != nil && *m == mark
}

// checkIniRoundTrip checks that the key=value file at path, if loadIni
// takes it, saves as a file that loads to the same keys and values, and
// returns what it loaded (empty when refused).
func checkIniRoundTrip(t *testing.T, path string) *iniFile {
	t.Helper()
	f, err := loadIni(path)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("loadIni: %v does not name the file", err)
		}
		return &iniFile{vals: map[string]string{}}
	}
	f.path = path + ".saved"
	if err := f.save(); err != nil {
		t.Fatal(err)
	}
	g, err := loadIni(f.path)
	if err != nil || !slices.Equal(g.keys, f.keys) || !maps.Equal(g.vals, f.vals) {
		t.Fatalf("ini %v %v, saved and loaded: %v %v, %v", f.keys, f.vals, g.keys, g.vals, err)
	}
	return f
}
