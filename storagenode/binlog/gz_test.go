package binlog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeRotated writes n records through a writer rotating every 200 bytes
// and returns the writer and the lines written.
func writeRotated(t *testing.T, dir string, n int) (*Writer, []string) {
	t.Helper()
	w, err := open(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	var lines []string
	for i := range n {
		name := fmt.Sprintf("M00/00/%02X/file%04d.jpg", i%256, i)
		if err := w.Write(int64(1700000000+i), OpCreate, name, ""); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, Format(int64(1700000000+i), OpCreate, name, ""))
	}
	if w.Index() < 3 {
		t.Fatalf("only %d files written", w.Index()+1)
	}
	return w, lines
}

// readAll reads every record from the start with a Reader.
func readAll(t *testing.T, dir string, w *Writer) []string {
	t.Helper()
	r := NewReader(dir, w.Index, 0, 0)
	defer r.Close()
	var got []string
	for {
		line, n, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
		r.Commit(n)
	}
}

// TestPackedFilesAreRead: files gzipped as upstream's compress_binlog
// leaves them are read again, whole and in order, by the Reader and by
// EachRecord, and each is back in its plain form afterwards.
func TestPackedFilesAreRead(t *testing.T) {
	dir := t.TempDir()
	w, lines := writeRotated(t, dir, 40)
	sizes := map[int]int64{}
	for i := range 2 {
		fi, err := os.Stat(Path(dir, i))
		if err != nil {
			t.Fatal(err)
		}
		sizes[i] = fi.Size()
		if err := Pack(Path(dir, i)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(Path(dir, i)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("binlog.%03d still there after Pack: %v", i, err)
		}
		if got := Size(dir, i); got != sizes[i] {
			t.Errorf("Size of packed binlog.%03d = %d, want %d", i, got, sizes[i])
		}
	}
	if got := readAll(t, dir, w); strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("read %d records, want %d:\n%s", len(got), len(lines), strings.Join(got, "\n"))
	}
	for i := range 2 {
		if _, err := os.Stat(Path(dir, i) + GzSuffix); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("binlog.%03d.gz still there after it was read: %v", i, err)
		}
	}
	want := strings.Count(readFile(t, Path(dir, 0)), "\n")
	if err := Pack(Path(dir, 0)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := EachRecord(Path(dir, 0), func(*Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != want {
		t.Errorf("EachRecord of a packed file: %d records, the file has %d", n, want)
	}
	// A whole-file replay reads the packed file as it is.
	onlyPacked := func() {
		t.Helper()
		if _, err := os.Stat(Path(dir, 0)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("binlog.000 unpacked by a replay: %v", err)
		}
	}
	onlyPacked()
	os.WriteFile(Path(dir, 0)+GzSuffix, []byte("damaged"), 0o644)
	if err := EachRecord(Path(dir, 0), func(*Record) error { return nil }); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("EachRecord of a damaged packed file: %v, want an error naming it", err)
	}
	onlyPacked()
}

// TestPackLeavesNoTemp: packing and unpacking leave exactly one form of
// the file and nothing else in the directory; both forms at once (a crash
// between the rename and the removal) read the plain one.
func TestPackLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "binlog.000")
	want := "1700000000 C M00/00/00/a.jpg\n1700000001 D M00/00/00/a.jpg\n"
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Pack(path); err != nil {
		t.Fatal(err)
	}
	onlyFiles(t, dir, "binlog.000.gz")
	if err := Unpack(path); err != nil {
		t.Fatal(err)
	}
	onlyFiles(t, dir, "binlog.000")
	if got := readFile(t, path); got != want {
		t.Fatalf("unpacked %q, want %q", got, want)
	}
	// Both forms, the .gz stale: the plain file is read and kept.
	if err := os.WriteFile(path+GzSuffix, gzipped(t, "stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != want {
		t.Fatalf("with both forms read %q, want the plain %q", b, want)
	}
	if _, err := OpenFile(filepath.Join(dir, "binlog.001")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenFile of a file in neither form: %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "binlog.002.gz"), []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(filepath.Join(dir, "binlog.002")); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenFile of a damaged .gz: %v, want an error naming it", err)
	}
}

// TestPackMatchesGzip: what Pack writes, gzip -d reads (upstream unpacks
// with it after a rollback), and what gzip writes, Unpack reads (files an
// upstream storage packed).
func TestPackMatchesGzip(t *testing.T) {
	gz, err := exec.LookPath("gzip")
	if err != nil {
		t.Skip("no gzip command on this machine: upstream's packing format is not checked")
	}
	dir := t.TempDir()
	want := strings.Repeat("1700000000 C M00/00/00/wKgAAWV5.jpg\n", 500)
	ours := filepath.Join(dir, "binlog.000")
	os.WriteFile(ours, []byte(want), 0o644)
	if err := Pack(ours); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gz, "-dc", ours+GzSuffix).Output()
	if err != nil || string(out) != want {
		t.Fatalf("gzip -dc of our packed file: %v, %d bytes (want %d)", err, len(out), len(want))
	}
	theirs := filepath.Join(dir, "binlog.001")
	os.WriteFile(theirs, []byte(want), 0o644)
	if out, err := exec.Command(gz, theirs).CombinedOutput(); err != nil {
		t.Fatalf("gzip: %v: %s", err, out)
	}
	if got := Size(dir, 1); got != int64(len(want)) {
		t.Errorf("Size of a file gzip packed = %d, want %d", got, len(want))
	}
	if err := Unpack(theirs); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, theirs); got != want {
		t.Fatalf("unpacked %d bytes, want %d", len(got), len(want))
	}
}

// TestPackedIndex: current_compress is kept across a reopen and written
// by SetPacked, as upstream keeps it in binlog_index.dat.
func TestPackedIndex(t *testing.T) {
	dir := t.TempDir()
	w, _ := writeRotated(t, dir, 40)
	if err := w.SetPacked(2); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, IndexFile)); !strings.Contains(got, "current_compress=2\n") {
		t.Fatalf("index file %q", got)
	}
	w.Close()
	w2, err := open(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if got := w2.Packed(); got != 2 {
		t.Fatalf("Packed after reopen = %d, want 2", got)
	}
	if got := readFile(t, filepath.Join(dir, IndexFile)); !strings.Contains(got, "current_compress=2\n") {
		t.Fatalf("index file after reopen %q", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// onlyFiles fails unless dir holds exactly the files named (in
// directory order: sorted).
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}
