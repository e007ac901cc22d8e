package storagenode

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestDeleteMemory(t *testing.T) {
	d := newDeleteMemory()
	d.note("M00/00/00/a", 100)
	d.note("M00/00/00/b", 200)
	d.note("M00/00/00/b", 150) // an older record replayed: the newest delete stands
	for _, c := range []struct {
		name string
		ts   int64
		want bool
	}{
		{"M00/00/00/a", 99, true},
		{"M00/00/00/a", 100, true}, // the same second: the change counts as older
		{"M00/00/00/a", 101, false},
		{"M00/00/00/b", 199, true},
		{"M00/00/00/b", 201, false},
		{"M00/00/00/c", 1, false},
	} {
		if got := d.covers(c.name, c.ts); got != c.want {
			t.Errorf("covers(%s, %d) = %v, want %v", c.name, c.ts, got, c.want)
		}
	}
}

func TestDeleteMemoryKeepsTheNewest(t *testing.T) {
	d := newDeleteMemory()
	for i := range deleteMemorySize + 10 {
		d.note("name"+strconv.Itoa(i), 1000)
	}
	if len(d.at) != deleteMemorySize || len(d.order) != deleteMemorySize {
		t.Fatalf("%d names remembered in a ring of %d, want %d", len(d.at), len(d.order), deleteMemorySize)
	}
	for i := range 10 {
		if d.covers("name"+strconv.Itoa(i), 1) {
			t.Errorf("name%d, among the oldest, still remembered", i)
		}
	}
	for _, i := range []int{10, deleteMemorySize, deleteMemorySize + 9} {
		if !d.covers("name"+strconv.Itoa(i), 1) {
			t.Errorf("name%d forgotten", i)
		}
	}
}

func TestDeleteMemoryLoad(t *testing.T) {
	lines := "1000 D M00/00/00/first\n" + // cut by the short tail
		"1001 C M00/00/00/kept\n" +
		"1002 d M00/00/00/b\n" +
		"1003 D M00/00/00/b-m\n" + // with its file: covered by the file's
		"1004 D M00/00/00/kept-m\n" + // alone: a clearing
		"garbage\n" +
		"1004 D M00/00/00/c\n" +
		"1005 D M00/00/00/partial" // no newline: still being written
	path := filepath.Join(t.TempDir(), "binlog.000")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tail int64
		want map[string]int64 // name -> a time it covers; 0: not remembered
	}{
		{1 << 20, map[string]int64{"M00/00/00/first": 1000, "M00/00/00/kept": 0, "M00/00/00/b": 1002, "M00/00/00/b-m": 0, "M00/00/00/kept-m": 1004, "M00/00/00/c": 1004, "M00/00/00/partial": 0}},
		{int64(len(lines)) - 5, map[string]int64{"M00/00/00/first": 0, "M00/00/00/b": 1002, "M00/00/00/c": 1004}},
	} {
		d := newDeleteMemory()
		if err := d.load(path, c.tail); err != nil {
			t.Fatal(err)
		}
		for name, ts := range c.want {
			if got := d.covers(name, max(ts, 1)); got != (ts != 0) {
				t.Errorf("tail %d: %s remembered = %v, want %v", c.tail, name, got, ts != 0)
			}
		}
	}
}
