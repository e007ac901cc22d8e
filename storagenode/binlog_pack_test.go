package storagenode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// TestPackBinlogs: the daily packing (compress_binlog) gzips the binlog
// files before the one being written, but none a running sync session
// still reads from, and records how far it got in binlog_index.dat.
func TestPackBinlogs(t *testing.T) {
	cfg := testConfig(t)
	cfg.CompressBinlog = true
	cfg.CompressBinlogTime = "01:30"
	sync := filepath.Join(cfg.BasePath, "data", "sync")
	if err := os.MkdirAll(sync, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, rec := range []string{"1700000000 D M00/00/00/gone0.jpg\n", "1700000001 D M00/00/00/gone1.jpg\n", "1700000002 D M00/00/00/gone2.jpg\n"} {
		if err := os.WriteFile(binlog.Path(sync, i), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sync, binlog.IndexFile), []byte("current_write=3\ncurrent_compress=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)

	// A session reading binlog.001 holds it and what follows back.
	w := &syncWorker{}
	w.pos.Store(packPos(1, 0))
	s.repl.mu.Lock()
	s.repl.workers["127.0.0.9"] = w
	s.repl.mu.Unlock()
	s.packBinlogs()
	packed(t, sync, "binlog.000.gz", "binlog.001", "binlog.002", "binlog.003")
	s.repl.mu.Lock()
	delete(s.repl.workers, "127.0.0.9")
	s.repl.mu.Unlock()

	s.packBinlogs()
	packed(t, sync, "binlog.000.gz", "binlog.001.gz", "binlog.002.gz", "binlog.003")
	if b, _ := os.ReadFile(filepath.Join(sync, binlog.IndexFile)); !strings.Contains(string(b), "current_compress=3\n") {
		t.Errorf("binlog_index.dat after packing:\n%s", b)
	}
	var recs []string
	for i := range 3 {
		if err := binlog.EachRecord(binlog.Path(sync, i), func(r *binlog.Record) error {
			recs = append(recs, r.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(recs, " "); got != "M00/00/00/gone0.jpg M00/00/00/gone1.jpg M00/00/00/gone2.jpg" {
		t.Errorf("records read back from the packed files: %s", got)
	}
}

// packed fails unless each binlog file is in the form named (plain or .gz)
// and not in the other.
func packed(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		other := n + binlog.GzSuffix
		if plain, ok := strings.CutSuffix(n, binlog.GzSuffix); ok {
			other = plain
		}
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
			t.Errorf("%s is there too", other)
		}
	}
}

// TestRecordTimeAtPacked: the lag metric reads a record's timestamp from a
// plain binlog file and from a gzipped one anywhere (through gzip: a
// scrape does not unpack files).
func TestRecordTimeAtPacked(t *testing.T) {
	dir := t.TempDir()
	plain := binlog.Path(dir, 0)
	packedPath := binlog.Path(dir, 1)
	text := "1700000000 C M00/00/00/a.jpg\n1700000042 D M00/00/00/a.jpg\n"
	second := int64(strings.Index(text, "\n") + 1)
	for _, p := range []string{plain, packedPath} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := binlog.Pack(packedPath); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		off  int64
		want int64 // 0: an error
	}{
		{plain, 0, 1700000000},
		{plain, second, 1700000042},
		{packedPath, 0, 1700000000},
		{packedPath, second, 1700000042}, // through gzip up to it
		{packedPath, second, 1700000042}, // remembered
		{packedPath, 1 << 20, 0},         // past its end
		{binlog.Path(dir, 2), 0, 0},
	}
	for _, c := range cases {
		got, err := recordTimeAt(c.path, c.off)
		if c.want == 0 {
			if err == nil {
				t.Errorf("recordTimeAt(%s, %d) = %d, want an error", filepath.Base(c.path), c.off, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("recordTimeAt(%s, %d) = %d, %v, want %d", filepath.Base(c.path), c.off, got, err, c.want)
		}
	}
	if _, err := os.Stat(packedPath); err == nil {
		t.Errorf("a scrape unpacked %s", packedPath)
	}
}
