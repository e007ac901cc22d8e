package storagenode

import (
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
