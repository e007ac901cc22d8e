package binlog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteFormatAndReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sync")
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := []struct {
		ts    int64
		op    Op
		name  string
		extra string
	}{
		{1795619294, OpCreate, "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt", ""},
		{1795619294, OpCreate, "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt-m", ""},
		{1795619358, OpAppend, "M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt", "5 10"},
		{1795619358, OpRename, "M00/00/00/fwAAA2sG-h6AdHLeAAAAD9U3-9k426.txt", "M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt"},
	}
	for _, r := range recs[:2] {
		if err := w.Write(r.ts, r.op, r.name, r.extra); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[2:] {
		if err := w.Write(r.ts, r.op, r.name, r.extra); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	got, err := os.ReadFile(filepath.Join(dir, "binlog.000"))
	if err != nil {
		t.Fatal(err)
	}
	// Same lines as upstream wrote them (traces/ip/raw/storage0.binlog.000).
	want := "1795619294 C M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt\n" +
		"1795619294 C M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt-m\n" +
		"1795619358 A M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt 5 10\n" +
		"1795619358 R M00/00/00/fwAAA2sG-h6AdHLeAAAAD9U3-9k426.txt M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt\n"
	if string(got) != want {
		t.Errorf("binlog:\n%s\nwant:\n%s", got, want)
	}
	idx, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil || !strings.Contains(string(idx), "current_write=0\n") {
		t.Errorf("index file %q, %v", idx, err)
	}
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	w, err := open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	name := "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt" // 60-byte records: one per file
	for i := range 3 {
		if err := w.Write(int64(1000000000+i), OpDelete, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if w.Index() != 2 {
		t.Fatalf("index %d, want 2", w.Index())
	}
	w, err = open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Index() != 2 {
		t.Errorf("reopened at index %d, want 2", w.Index())
	}
	for i := range 3 {
		b, err := os.ReadFile(w.Path(i))
		if err != nil || strings.Count(string(b), "\n") != 1 {
			t.Errorf("binlog.%03d: %q %v", i, b, err)
		}
	}
}

// binlog_index.dat is replaced, not rewritten in place: every rotation
// leaves the right content under the final name and no temp file behind.
func TestIndexReplacedAtomically(t *testing.T) {
	dir := t.TempDir()
	// An index left by an earlier run, longer than the new content.
	old := "current_write=0\ncurrent_compress=0\nsome_key_upstream_may_add=1\n"
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	name := "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt" // one 60-byte record per file
	for i := range 4 {
		if err := w.Write(int64(1000000000+i), OpCreate, name, ""); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("current_write=%d\ncurrent_compress=0\n", i)
		got, err := os.ReadFile(filepath.Join(dir, IndexFile))
		if err != nil || string(got) != want {
			t.Fatalf("after record %d: index %q, %v; want %q", i, got, err, want)
		}
		fi, err := os.Stat(filepath.Join(dir, IndexFile))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("index mode %v, %v; want 0644", fi.Mode().Perm(), err)
		}
		wantNames := []string{IndexFile}
		for j := 0; j <= i; j++ {
			wantNames = append(wantNames, fmt.Sprintf("binlog.%03d", j))
		}
		slices.Sort(wantNames)
		onlyFiles(t, dir, wantNames...)
	}
	w.Close()
}

// Sync fsyncs only what was written since the last one.
func TestSyncTracksWrites(t *testing.T) {
	w, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	steps := []struct {
		do        func() error
		wantDirty bool
	}{
		{func() error { return nil }, false},
		{func() error { return w.Write(1, OpCreate, "M00/00/00/a", "") }, true},
		{w.Sync, false},
		{w.Sync, false},
		{func() error { return w.Write(2, OpDelete, "M00/00/00/a", "") }, true},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		if w.Dirty() != s.wantDirty {
			t.Errorf("step %d: dirty %v, want %v", i, w.Dirty(), s.wantDirty)
		}
	}
}

// A binlog_index.dat Open cannot use is refused with an error naming the
// file (and the line of a bad value), not a bare scanner error.
func TestReadIndexRefusals(t *testing.T) {
	tests := []struct {
		name, index string
		want        string // in the error, after the path
	}{
		{"index out of range", "current_compress=0\ncurrent_write=1000\n", " line 2: bad current_write"},
		{"negative index", "current_write=-1\n", " line 1: bad current_write"},
		{"line longer than the scanner takes", strings.Repeat("x", 70000) + "\ncurrent_write=1\n", ": bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), IndexFile)
			if err := os.WriteFile(path, []byte(tt.index), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := readIndex(path)
			if err == nil || !strings.Contains(err.Error(), path+tt.want) {
				t.Fatalf("readIndex: %v, want an error with %q", err, path+tt.want)
			}
		})
	}
}
