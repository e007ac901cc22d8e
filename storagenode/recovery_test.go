package storagenode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// TestStreamPathRecords: the records served to a recovering peer are the
// creates of one store path; links, renames and updates become creates,
// replica records stay lower case, and a partial last line is left out.
func TestStreamPathRecords(t *testing.T) {
	in := strings.Join([]string{
		"100 C M00/00/00/a.txt",
		"101 c M00/00/01/b.txt",
		"102 C M01/00/00/other-path.txt",
		"103 D M00/00/00/a.txt",
		"104 A M00/00/00/c.txt 0 5",
		"105 L M00/00/00/link.txt M00/00/00/b.txt",
		"106 r M00/00/00/new.txt M00/00/00/old.txt",
		"107 U M00/00/00/a.txt-m",
		"bad line",
		"108 T M00/00/00/c.txt 5 1",
		"109 C M00/00/00/partial",
	}, "\n")
	path := filepath.Join(t.TempDir(), "binlog.000")
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := streamPathRecords(path, "M00/", w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := "100 C M00/00/00/a.txt\n101 c M00/00/01/b.txt\n105 C M00/00/00/link.txt\n106 c M00/00/00/new.txt\n107 C M00/00/00/a.txt-m\n"
	if out.String() != want {
		t.Fatalf("streamed:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestCopyRecoveryBinlog: an endless FETCH_ONE_PATH_BINLOG body is taken
// only when it ends in the length of what came before (upstream's
// trailer), whatever the pieces it arrives in; one cut short is an error.
func TestCopyRecoveryBinlog(t *testing.T) {
	records := "100 C M00/00/00/a.txt\n101 c M00/00/01/b.txt\n"
	trailer := func(n int) string {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		return string(b[:])
	}
	for _, c := range []struct {
		name   string
		length int64
		body   string
		want   string // "" with ok false: an error
		ok     bool
	}{
		{"complete", recoveryStreamLen, records + trailer(len(records)), records, true},
		{"empty", recoveryStreamLen, trailer(0), "", true},
		{"no trailer", recoveryStreamLen, records, "", false},
		{"cut short", recoveryStreamLen, records[:20], "", false},
		{"cut short, a stale trailer", recoveryStreamLen, records[:30] + trailer(len(records)), "", false},
		{"nothing", recoveryStreamLen, "", "", false},
		{"sized", int64(len(records)), records, records, true},
		{"sized, short", int64(len(records)) + 1, records, "", false},
	} {
		for _, reads := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"oneByte", iotest.OneByteReader},
			{"halves", iotest.HalfReader},
		} {
			t.Run(c.name+"/"+reads.name, func(t *testing.T) {
				rd := reads.wrap(strings.NewReader(c.body))
				var out bytes.Buffer
				n, err := copyRecoveryBinlog(&out, rd, c.length)
				if (err == nil) != c.ok {
					t.Fatalf("err %v, want ok=%v", err, c.ok)
				}
				if c.ok && (out.String() != c.want || n != int64(len(c.want))) {
					t.Fatalf("wrote %q (n %d), want %q", out.String(), n, c.want)
				}
			})
		}
	}
}

// recoveryFixture is two storages of group1 holding 8 files, and the
// records the first serves for its store path 0 (FETCH_ONE_PATH_BINLOG),
// as a recovery of the second would fetch them.
type recoveryFixture struct {
	c     *syncCluster
	logs  *syncbuf.Buffer
	names []string // file names, in upload order
	lines []string // the served records, one per line with its newline
}

func newRecoveryFixture(t *testing.T, ipBase string) *recoveryFixture {
	t.Helper()
	c := newSyncCluster(t, ipBase, 2)
	for i := range c.cfgs {
		c.cfgs[i].StorePaths = []string{filepath.Join(c.cfgs[i].BasePath, "path0")}
	}
	f := &recoveryFixture{c: c, logs: &syncbuf.Buffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", f.logs.String())
		}
	})
	for i := range 2 {
		startLogged(t, c, i, f.logs)
	}
	c.waitActive(0, 1)
	rc := dial(t, c.nodes[0])
	for i := range 8 {
		f.names = append(f.names, rc.upload(protocol.CmdUploadFile, 0, "txt", fmt.Appendf(nil, "file %d", i)))
	}
	c.waitSame(0, 1)

	// From the other member's address: only members may ask.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.cfgs[1].BindAddr)}}
	conn, err := d.Dial("tcp", c.nodes[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	e := protocol.NewEncoder(protocol.GroupNameLen + 1)
	e.Fixed("group1", protocol.GroupNameLen)
	e.Byte(0)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := protocol.WritePacket(conn, protocol.CmdFetchOnePathBinlog, 0, e.B); err != nil {
		t.Fatal(err)
	}
	if h, err := protocol.ReadHeader(conn); err != nil || h.Status != 0 || h.Length != recoveryStreamLen {
		t.Fatalf("reply %+v, %v", h, err)
	}
	var buf bytes.Buffer
	n, err := copyRecoveryBinlog(&buf, conn, recoveryStreamLen) // ends in the length trailer
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("copied %d bytes, wrote %d", n, buf.Len())
	}
	f.lines = strings.SplitAfter(buf.String(), "\n")
	if len(f.lines) != 9 || f.lines[8] != "" {
		t.Fatalf("want 8 records, got:\n%s", buf.String())
	}
	f.lines = f.lines[:8]
	return f
}

// crash stops storage 1 as a crash during its recovery would leave it,
// with an empty data directory in its store path, and returns that
// directory.
func (f *recoveryFixture) crash(t *testing.T) string {
	t.Helper()
	f.c.stop(1)
	// The tracker learns of the stop when it reads the end of the joined
	// connection; until then it still says ACTIVE, and waitActive would
	// pass before the restarted storage even began its recovery.
	eventually(t, "the tracker to see storage 1 stopped", func() bool { return f.c.status(1) != protocol.StatusActive })
	data := filepath.Join(f.c.cfgs[1].StorePaths[0], "data")
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	return data
}

// path is where storage 1 keeps the file of record line.
func (f *recoveryFixture) path(t *testing.T, line string) (name, path string) {
	name = strings.Fields(line)[2]
	return name, mustParse(t, name).Path(f.c.cfgs[1].StorePaths)
}

// restart starts storage 1 again, waits until it is ACTIVE and checks
// that no recovery file is left in data.
func (f *recoveryFixture) restart(t *testing.T, data string) {
	t.Helper()
	startLogged(t, f.c, 1, f.logs)
	f.c.waitActive(1)
	left, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if strings.Contains(e.Name(), "recovery") {
			t.Errorf("%s left behind", e.Name())
		}
	}
}

// TestRecoveryResumesFromMark: a recovery interrupted after fetching the
// binlog continues from its mark on restart, without fetching again: the
// records before the mark are not restored, the others are, and the
// storage then becomes ACTIVE.
func TestRecoveryResumesFromMark(t *testing.T) {
	f := newRecoveryFixture(t, "127.0.0.9")
	// Storage 1 "crashed" after restoring the first three records: its
	// store path holds only them (with a content recovery would replace)
	// and the recovery files.
	data := f.crash(t)
	// "FILE n" has the size of the real "file n": the source's sync
	// worker, which may send files again, leaves a same-size copy alone.
	before := func(name string) string { return fmt.Sprintf("FILE %d", slices.Index(f.names, name)) }
	for _, l := range f.lines[:3] {
		name, p := f.path(t, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(before(name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeRecoveryFlag(data, true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, recoveryBinlogFile), []byte(strings.Join(f.lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	done := len(f.lines[0]) + len(f.lines[1]) + len(f.lines[2])
	if err := os.WriteFile(filepath.Join(data, recoveryMarkFile), fmt.Appendf(nil, "binlog_offset=%d\n", done), 0o644); err != nil {
		t.Fatal(err)
	}
	f.restart(t, data)
	// Only the recovery could have replaced the files before the mark, had
	// it not resumed from there.
	for i, l := range f.lines {
		name, p := f.path(t, l)
		got, err := os.ReadFile(p)
		switch {
		case err != nil:
			t.Errorf("record %d %s: %v", i, name, err)
		case i < 3 && string(got) != before(name):
			t.Errorf("record %d %s before the mark was restored again: %q", i, name, got)
		case i >= 3 && string(got) != fmt.Sprintf("file %d", slices.Index(f.names, name)):
			t.Errorf("record %d %s after the mark: content %q", i, name, got)
		}
	}
	// The metrics: the five records after the mark restored, nothing left.
	want := `
# HELP fdfs_storage_recovery_files_restored_total Files a disk recovery restored since start.
# TYPE fdfs_storage_recovery_files_restored_total counter
fdfs_storage_recovery_files_restored_total 5
# HELP fdfs_storage_recovery_store_paths Store paths being refilled by a disk recovery, at start or onto a new disk while running (0 when none).
# TYPE fdfs_storage_recovery_store_paths gauge
fdfs_storage_recovery_store_paths 0
`
	err := testutil.CollectAndCompare(storageCollector{f.c.nodes[1]}, strings.NewReader(want),
		"fdfs_storage_recovery_files_restored_total", "fdfs_storage_recovery_store_paths", "fdfs_storage_recovery_remaining_bytes")
	if err != nil {
		t.Error(err)
	}
}

// TestRecoveryPastDamagedFiles: a recovery binlog holding a line no
// record can be (the zeros a disk fault left) under a mark past its end
// (a damaged mark) still restores every file: the mark is taken as the
// start, the garbage skipped. Before, the mark finished the recovery at
// once with nothing restored, and the garbage failed it at every retry.
func TestRecoveryPastDamagedFiles(t *testing.T) {
	f := newRecoveryFixture(t, "127.0.0.12")
	data := f.crash(t)
	if err := writeRecoveryFlag(data, true); err != nil {
		t.Fatal(err)
	}
	records := strings.Join(f.lines[:3], "") + strings.Repeat("\x00", 3000) + "\n" + strings.Join(f.lines[3:], "")
	if err := os.WriteFile(filepath.Join(data, recoveryBinlogFile), []byte(records), 0o644); err != nil {
		t.Fatal(err)
	}
	mark := fmt.Appendf(nil, "binlog_offset=%d\n", len(records)+100)
	if err := os.WriteFile(filepath.Join(data, recoveryMarkFile), mark, 0o644); err != nil {
		t.Fatal(err)
	}
	f.restart(t, data)
	for i, l := range f.lines {
		name, p := f.path(t, l)
		if got, err := os.ReadFile(p); err != nil || string(got) != fmt.Sprintf("file %d", slices.Index(f.names, name)) {
			t.Errorf("record %d %s: %q, %v", i, name, got, err)
		}
	}
}

// TestRecoveryTakesOverUpstreamParts: upstream's storage, with
// disk_recovery_threads = 3, leaves the fetched records split over three
// files with a mark each; ours, started on that path (the daemons swapped
// during a recovery), reads only the first, so it fetches the binlog
// again: every file is restored, none only because it was in part 0.
func TestRecoveryTakesOverUpstreamParts(t *testing.T) {
	f := newRecoveryFixture(t, "127.0.0.10")
	data := f.crash(t)
	flag := fmt.Sprintf("saved_storage_status=%d\nfetch_binlog_done=1\nrecovery_threads=3\n", protocol.StatusActive)
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(data, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(recoveryFlagFile, flag)
	for part := range 3 {
		var records string
		for i, l := range f.lines {
			if i%3 == part {
				records += l
			}
		}
		write(fmt.Sprintf(".binlog.recovery.%d", part), records)
		write(fmt.Sprintf(".recovery.mark.%d", part), "binlog_offset=0\n")
	}
	f.restart(t, data)
	for i, l := range f.lines {
		name, p := f.path(t, l)
		if got, err := os.ReadFile(p); err != nil || string(got) != fmt.Sprintf("file %d", slices.Index(f.names, name)) {
			t.Errorf("record %d %s: %q, %v", i, name, got, err)
		}
	}
}

// startLogged is syncCluster.start with the server's log kept in logs.
func startLogged(t *testing.T, c *syncCluster, i int, logs io.Writer) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
	s, err := New(c.cfgs[i], log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c.nodes[i] = s
}

// A store path is taken for wiped when its data directories are gone, not
// when only its mark file is (upstream keeps none with
// check_store_path_mark = false, and users delete it to clear a refusal).
func TestMarkWipedPaths(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dirs      bool // data/00/00 and data/03/03 exist
		wantWiped bool
	}{
		{"directories there, no mark file", true, false},
		{"directories gone", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			data := filepath.Join(cfg.BasePath, "data")
			if tc.dirs {
				for _, d := range []string{"00/00", "03/03"} {
					if err := os.MkdirAll(filepath.Join(data, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
			} else if err := os.MkdirAll(data, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, dataInitFlagFile), []byte("storage_join_time=1\nsync_old_done=1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			wiped, err := markWipedPaths(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(wiped) == 1; got != tc.wantWiped {
				t.Fatalf("wiped %v, want wiped: %v", wiped, tc.wantWiped)
			}
		})
	}
}

// TestCollectRecovery: the recovery metrics of a path not fetched yet, one
// half restored and one done, and of a path refilled onto a new disk.
func TestCollectRecovery(t *testing.T) {
	r := &recovery{paths: []int{0, 2, 3}, progress: make([]pathProgress, 3)}
	r.progress[0].size.Store(-1)
	r.progress[1].size.Store(1000)
	r.progress[1].done.Store(400)
	r.progress[2].finished.Store(true)
	r.restored.Store(7)
	paths := []string{"/d0", "/d1", "/d2", "/d3"}
	s := &Server{rec: r, store: &store{paths: paths, health: newPathHealth(paths)}}
	refill := &pathProgress{}
	refill.size.Store(500)
	refill.done.Store(100)
	s.store.health.refills[1].Store(refill)
	want := `
# HELP fdfs_storage_recovery_files_restored_total Files a disk recovery restored since start.
# TYPE fdfs_storage_recovery_files_restored_total counter
fdfs_storage_recovery_files_restored_total 7
# HELP fdfs_storage_recovery_remaining_bytes Bytes of a recovering store path's fetched binlog not restored yet (-1 until it is fetched).
# TYPE fdfs_storage_recovery_remaining_bytes gauge
fdfs_storage_recovery_remaining_bytes{path="/d0",store_path="0"} -1
fdfs_storage_recovery_remaining_bytes{path="/d1",store_path="1"} 400
fdfs_storage_recovery_remaining_bytes{path="/d2",store_path="2"} 600
# HELP fdfs_storage_recovery_store_paths Store paths being refilled by a disk recovery, at start or onto a new disk while running (0 when none).
# TYPE fdfs_storage_recovery_store_paths gauge
fdfs_storage_recovery_store_paths 3
`
	if err := testutil.CollectAndCompare(recoveryCollector{storageCollector{s}}, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// recoveryCollector collects the recovery metrics alone.
type recoveryCollector struct{ storageCollector }

func (recoveryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stRecoveryPaths
	ch <- stRecoveryRemaining
	ch <- stRecoveryRestored
}

func (c recoveryCollector) Collect(ch chan<- prometheus.Metric) { c.collectRecovery(ch) }

// TestRecoveryResumeAndLines: where a restore resumes for the mark it
// finds, and the lines it reads from there, in a recovery binlog with a
// garbage line and a torn end.
func TestRecoveryResumeAndLines(t *testing.T) {
	garbage := strings.Repeat("x", 2000)
	const a, b = "1700000000 C M00/00/00/a.txt\n", "1700000001 C M00/00/00/b.txt\n"
	file := a + garbage + "\n" + b + "1700000002 C M00"
	tests := []struct {
		name, mark string
		from       int64    // where the restore resumes
		lines      []string // what it reads from there
	}{
		{"at the start", "binlog_offset=0\n", 0, []string{strings.TrimSuffix(a, "\n"), "", strings.TrimSuffix(b, "\n")}},
		{"at a record", fmt.Sprintf("binlog_offset=%d\n", len(a)), int64(len(a)), []string{"", strings.TrimSuffix(b, "\n")}},
		{"inside a record", "binlog_offset=5\n", 0, []string{strings.TrimSuffix(a, "\n"), "", strings.TrimSuffix(b, "\n")}},
		{"inside the garbage", fmt.Sprintf("binlog_offset=%d\n", len(a)+1500), int64(len(a)), []string{"", strings.TrimSuffix(b, "\n")}},
		{"past the end", "binlog_offset=99999\n", 0, []string{strings.TrimSuffix(a, "\n"), "", strings.TrimSuffix(b, "\n")}},
		{"in the torn end", fmt.Sprintf("binlog_offset=%d\n", len(file)-2), int64(len(file) - 16), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, recoveryBinlogFile)
			os.WriteFile(path, []byte(file), 0o644)
			os.WriteFile(filepath.Join(dir, recoveryMarkFile), []byte(tt.mark), 0o644)
			offset, err := recoveryMarkOffset(filepath.Join(dir, recoveryMarkFile))
			if err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			from, err := recoveryResume(fh, offset)
			if err != nil || from != tt.from {
				t.Fatalf("resume at %d, %v; want %d", from, err, tt.from)
			}
			fh.Seek(from, io.SeekStart)
			br := bufio.NewReaderSize(fh, binlog.MaxLine)
			var lines []string
			for {
				line, n, err := readRecoveryLine(br)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				from += n
				lines = append(lines, line)
			}
			if !slices.Equal(lines, tt.lines) || from != int64(strings.LastIndexByte(file, '\n')+1) {
				t.Errorf("lines %q up to %d, want %q", lines, from, tt.lines)
			}
		})
	}
}

// TestRecoveryStampsMetadata: a metadata file restored by a disk recovery
// carries the time of its change, as the one it was copied from, so that
// metadata sets crossing later still converge to the newest
// (sync_meta.go).
func TestRecoveryStampsMetadata(t *testing.T) {
	f := newRecoveryFixture(t, "127.0.0.23")
	rc := dial(t, f.c.nodes[0])
	name := f.names[0]
	if st := rc.setMeta(name, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"w": "1"})); st != 0 {
		t.Fatalf("set metadata: status %d", st)
	}
	src := mustParse(t, name).Path(f.c.cfgs[0].StorePaths) + metaSuffix
	dst := mustParse(t, name).Path(f.c.cfgs[1].StorePaths) + metaSuffix
	eventually(t, "the metadata on storage 1", func() bool { _, err := os.Stat(dst); return err == nil })
	data := f.crash(t)
	f.restart(t, data)
	want, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.Stat(dst)
	if err != nil {
		t.Fatalf("metadata not restored: %v", err)
	}
	wv, wok := metaVersion(want)
	gv, gok := metaVersion(got)
	if !wok || !gok || gv != wv {
		t.Errorf("restored metadata stamped %d (%v), want %d as on its source (%v)", gv, gok, wv, wok)
	}
}
