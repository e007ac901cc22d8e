package trunk_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

const trunkSize = 1 << 20

// newAlloc loads an allocator over two fresh store paths (or the given
// base and paths again, to reload).
func newAlloc(t *testing.T, base string, paths []string, tweak ...func(*trunk.Config)) (*trunk.Allocator, *trunk.Config) {
	t.Helper()
	id := uint32(0)
	if b, err := os.ReadFile(base + "/next_id"); err == nil {
		id = uint32(len(b))
	}
	cfg := &trunk.Config{
		StorePaths: paths, BasePath: base, SlotMinSize: 256, SlotMaxSize: 64 << 10, AlignSize: 256,
		TrunkFileSize: trunkSize, Merge: true, BinlogMaxBackups: 2,
		NextID: func() (uint32, error) {
			id++
			// Persisted as the file's length, as a storage keeps current_trunk_file_id.
			return id, os.WriteFile(base+"/next_id", make([]byte, id), 0o644)
		},
		Dir: func(p int, id uint32) (int, int) { return int(id % 4), int(id / 4 % 4) },
		Now: func() time.Time { return time.Unix(1700000000, 0) },
	}
	for _, f := range tweak {
		f(cfg)
	}
	for _, p := range paths {
		for h := range 4 {
			for l := range 4 {
				os.MkdirAll(trunk.Location{High: h, Low: l}.Path(p)+"/..", 0o755)
			}
		}
	}
	a, err := trunk.Load(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, cfg
}

func mustAlloc(t *testing.T, a *trunk.Allocator, p int, size int64) trunk.Location {
	t.Helper()
	l, err := a.Alloc(p, size)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Confirm(l, true); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAllocSplitsAndReuses(t *testing.T) {
	base := t.TempDir()
	a, _ := newAlloc(t, base, []string{t.TempDir(), t.TempDir()})
	cases := []struct {
		size       int64
		wantOffset uint32
		wantSize   uint32
	}{
		{1, 0, 256},       // below slot_min_size: slot_min_size
		{257, 256, 512},   // aligned to 256
		{4096, 768, 4096}, // exact
	}
	var got []trunk.Location
	for _, c := range cases {
		l := mustAlloc(t, a, 0, c.size)
		if l.ID != 1 || l.Offset != c.wantOffset || l.Size != c.wantSize || l.StorePathIndex != 0 {
			t.Errorf("alloc %d: %s, want offset %d size %d in trunk 1", c.size, l, c.wantOffset, c.wantSize)
		}
		got = append(got, l)
	}
	if other := mustAlloc(t, a, 1, 100); other.ID != 2 || other.StorePathIndex != 1 {
		t.Errorf("first slot on store path 1: %s, want a new trunk file 2", other)
	}
	if fi, err := os.Stat(got[0].Path(a.Config().StorePaths[0])); err != nil || fi.Size() != trunkSize {
		t.Fatalf("trunk file: %v %v", fi, err)
	}
	// Freeing the middle slot, then asking for its size again, reuses it.
	if err := a.Free(got[1]); err != nil {
		t.Fatal(err)
	}
	if l := mustAlloc(t, a, 0, 300); l != got[1] {
		t.Errorf("realloc: %s, want the freed %s", l, got[1])
	}
	if err := a.Free(got[1]); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(got[1]); !errors.Is(err, protocol.ErrExists) {
		t.Errorf("double free: %v", err)
	}
	overlap := got[2]
	overlap.Offset += 256
	overlap.Size = 256
	if err := a.Free(got[2]); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(overlap); !errors.Is(err, protocol.ErrExists) {
		t.Errorf("free overlapping a free block: %v", err)
	}
	// Slots 1 and 2 merged with the rest of the trunk file: one block from 256.
	if n := a.FreeBlocks(); n != 2 {
		t.Errorf("%d free blocks after merges, want 2 (one per trunk file)", n)
	}
	if free := a.FreeBytes(); free != 2*trunkSize-256-256 {
		t.Errorf("free bytes %d", free)
	}
}

func TestAllocBadRequests(t *testing.T) {
	a, _ := newAlloc(t, t.TempDir(), []string{t.TempDir()})
	for _, c := range []struct {
		p    int
		size int64
	}{{-1, 10}, {1, 10}, {0, 0}, {0, 64<<10 + 1}} {
		if _, err := a.Alloc(c.p, c.size); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("alloc(%d, %d): %v", c.p, c.size, err)
		}
	}
	if err := a.Confirm(trunk.Location{ID: 9, Size: 256}, true); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("confirm of nothing: %v", err)
	}
	if err := a.Free(trunk.Location{ID: 1, Offset: trunkSize - 256, Size: 512}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("free past the trunk file: %v", err)
	}
}

// TestReload: the free space after a reload (snapshot + binlog, binlog
// only, after a compression) is what it was; an unconfirmed hold is free
// again; the binlog lines are upstream's.
func TestReload(t *testing.T) {
	base, paths := t.TempDir(), []string{t.TempDir()}
	a, _ := newAlloc(t, base, paths)
	var ls []trunk.Location
	for i := range 20 {
		ls = append(ls, mustAlloc(t, a, 0, int64(100+i*300)))
	}
	for i := 0; i < 20; i += 3 {
		if err := a.Free(ls[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Alloc(0, 1000); err != nil { // held, never confirmed
		t.Fatal(err)
	}
	wantFree, wantBlocks := a.FreeBytes()+1024, a.FreeBlocks()
	a.Close()
	b, err := os.ReadFile(trunk.BinlogPath(base))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "1700000000 A 0 1 0 1 0 1048576" || lines[1] != "1700000000 D 0 1 0 1 0 1048576" ||
		lines[2] != "1700000000 A 0 1 0 1 256 1048320" || lines[3] != "1700000000 A 0 1 0 1 0 256" {
		t.Errorf("binlog starts %q", lines[:4])
	}
	check := func(what string, a *trunk.Allocator) {
		t.Helper()
		if a.FreeBytes() != wantFree || a.FreeBlocks() > wantBlocks+1 {
			t.Errorf("%s: %d free bytes in %d blocks, want %d in about %d", what, a.FreeBytes(), a.FreeBlocks(), wantFree, wantBlocks)
		}
	}
	a2, _ := newAlloc(t, base, paths)
	check("reload", a2)
	a2.Close()
	// A crash inside a compression: storage_trunk.dat already reset to
	// "replay from 0", the binlog still the old one...
	if err := os.WriteFile(trunk.DataPath(base), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a2, _ = newAlloc(t, base, paths)
	check("reload in the middle of a compression", a2)
	if err := a2.Compress(); err != nil {
		t.Fatal(err)
	}
	a2.Close()
	// ...or already the new one.
	if err := os.WriteFile(trunk.DataPath(base), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a2, _ = newAlloc(t, base, paths)
	check("reload at the end of a compression", a2)
	a2.Close()
	a3, _ := newAlloc(t, base, paths, func(c *trunk.Config) { c.ReloadFromBinlog = true })
	check("reload from the compressed binlog", a3)
	// A torn last line is cut and the rest applies.
	a3.Close()
	f, _ := os.OpenFile(trunk.BinlogPath(base), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("1700000000 D 0 1 0 1 0 ")
	f.Close()
	a4, _ := newAlloc(t, base, paths, func(c *trunk.Config) { c.ReloadFromBinlog = true })
	check("reload after a torn line", a4)
	if b, _ := os.ReadFile(trunk.BinlogPath(base)); !strings.HasSuffix(string(b), "\n") {
		t.Errorf("torn line left in the binlog")
	}
	backups, _ := os.ReadDir(base + "/data/trunk")
	if !slices.ContainsFunc(backups, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), "binlog.2023") }) {
		t.Errorf("no binlog backup after compression: %v", backups)
	}
}

// TestCheckOccupying: a free block whose slot holds a file (the binlog
// lost its allocation) is dropped at load.
func TestCheckOccupying(t *testing.T) {
	base, paths := t.TempDir(), []string{t.TempDir()}
	a, _ := newAlloc(t, base, paths)
	l := mustAlloc(t, a, 0, 512)
	if err := a.Free(l); err != nil { // the binlog says free...
		t.Fatal(err)
	}
	a.Close()
	f, _ := os.OpenFile(l.Path(paths[0]), os.O_WRONLY, 0) // ...the disk says taken
	f.WriteAt([]byte{trunk.TypeRegular}, int64(l.Offset))
	f.Close()
	a2, _ := newAlloc(t, base, paths, func(c *trunk.Config) { c.CheckOccupying = true })
	if a2.FreeBytes() != 0 {
		t.Errorf("%d bytes free, want 0: the only free block holds a file", a2.FreeBytes())
	}
}

func TestDeleteUnusedAndAdvance(t *testing.T) {
	base, paths := t.TempDir(), []string{t.TempDir(), t.TempDir()}
	a, _ := newAlloc(t, base, paths, func(c *trunk.Config) { c.DeleteUnused = true })
	l := mustAlloc(t, a, 0, 1000)
	path := l.Path(paths[0])
	if err := a.Free(l); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) || a.FreeBytes() != 0 {
		t.Errorf("wholly free trunk file kept: %v, %d bytes free", err, a.FreeBytes())
	}
	n, err := a.CreateAdvance(3*trunkSize - 1)
	if err != nil || n != 3 || a.FreeBytes() != 3*trunkSize {
		t.Errorf("create advance: %d files, %v, %d bytes free", n, err, a.FreeBytes())
	}
}

// TestLoadDamaged: a damaged storage_trunk.dat or trunk binlog loads
// into valid free space over whole records, or is refused naming the
// binlog.
func TestLoadDamaged(t *testing.T) {
	const whole = "1700000000 A 0 1 0 1 0 1048576\n1700000000 D 0 1 0 1 0 1048576\n"
	const torn = "1700000000 A 0 1 0 1 256 10"
	tests := []struct {
		name, dat, binlog string
		blocks            int    // free blocks after the load
		left              string // the binlog after the load
		err               string // in the refusal, after the binlog's path
		alloc             int64  // a slot then allocated (0: none)
	}{
		// Its slots' uint32 offsets would wrap onto the trunk file's start.
		{"block ending past 4 GiB", "", "1700000000 A 0 1 0 3 4294967040 512\n", 0, "1700000000 A 0 1 0 3 4294967040 512\n", "", 0},
		{"snapshot block ending past 4 GiB", "0\n1700000000 A 0 1 0 3 4294967040 512\n", "", 0, "", "", 0},
		// The next record would continue the torn one.
		{"snapshot offset inside a torn last record", fmt.Sprintf("%d\n", len(whole)+5), whole + torn, 0, whole, "", 0},
		{"snapshot offset past a torn end", fmt.Sprintf("%d\n", len(whole)+500), whole + torn, 0, whole, "", 0},
		{"store path index out of range", "", "1700000000 A 9 1 0 1 0 256\n", 0, "", `: record "1700000000 A 9 1 0 1 0 256": store path index 9`, 0},
		// current_trunk_file_id went back: a new trunk file must not take
		// the id of one the free space knows (its slot overlapped them).
		{"free block of the next trunk id", "", "1700000000 A 0 0 0 1 0 10\n", 1, "1700000000 A 0 0 0 1 0 10\n", "", 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			id := uint32(0)
			cfg := trunk.Config{StorePaths: []string{t.TempDir()}, BasePath: base, SlotMinSize: 256, SlotMaxSize: 64 << 10, TrunkFileSize: trunkSize,
				Log:    slog.New(slog.DiscardHandler),
				NextID: func() (uint32, error) { id++; return id, nil },
				Dir:    func(int, uint32) (int, int) { return 0, 0 }}
			os.MkdirAll(trunk.Location{}.Path(cfg.StorePaths[0])+"/..", 0o755)
			os.MkdirAll(base+"/data/trunk", 0o755)
			if tt.dat != "" {
				os.WriteFile(trunk.DataPath(base), []byte(tt.dat), 0o644)
			}
			os.WriteFile(trunk.BinlogPath(base), []byte(tt.binlog), 0o644)
			a, err := trunk.Load(cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), trunk.BinlogPath(base)+tt.err) {
					t.Fatalf("Load: %v, want an error with %q", err, trunk.BinlogPath(base)+tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			got, _ := os.ReadFile(trunk.BinlogPath(base))
			if a.FreeBlocks() != tt.blocks || string(got) != tt.left {
				t.Errorf("%d free blocks, binlog %q; want %d, %q", a.FreeBlocks(), got, tt.blocks, tt.left)
			}
			if tt.alloc == 0 {
				return
			}
			if l, err := a.Alloc(0, tt.alloc); err != nil || l.ID == 1 {
				t.Errorf("Alloc: %v, %v", l, err)
			}
		})
	}
}
