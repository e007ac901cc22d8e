package trunk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/memtmp"
)

// fuzzLines are trunk binlog lines of upstream's form, some of them out
// of range.
var fuzzLines = []string{
	"1700000000 A 0 0 0 1 0 1048576",
	"1700000000 D 0 0 0 1 0 1048576",
	"1700000000 A 0 0 0 1 256 1048320",
	"1700000001 A 1 0 0 2 0 4096",
	"1700000002 D 0 0 0 1 256 1048320",
	"1700000003 A 0 0 0 3 4294967040 512",
	"1700000004 A 0 255 255 4294967295 4294967295 4294967295",
	"1700000005 A 7 0 0 4 0 256",
	"1700000006 A 0 0 0 5 0 0",
}

// FuzzParseRecord: a line ParseRecord accepts holds values within the
// fields' ranges and is written by AppendRecord as a line that parses to
// the same record; a refusal is protocol.ErrInvalid.
func FuzzParseRecord(f *testing.F) {
	for _, l := range fuzzLines {
		f.Add(l)
	}
	for _, l := range []string{"", "1 A 0 0 0 1 0", "1 X 0 0 0 1 0 256", "1 A 0 0 0 1 0 256 ", "-1 A 0 0 0 1 0 256", "1 A 256 0 0 1 0 256", "+1 A 00 0 0 1 0 256"} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRecord(line)
		if err != nil {
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("ParseRecord(%q): %v, want ErrInvalid", line, err)
			}
			return
		}
		l := r.Block
		if r.Timestamp < 0 || r.Op != OpAdd && r.Op != OpDel || l.StorePathIndex < 0 || l.StorePathIndex > 255 ||
			l.High < 0 || l.High > 255 || l.Low < 0 || l.Low > 255 {
			t.Fatalf("ParseRecord(%q) = %+v: out of range", line, r)
		}
		out := AppendRecord(nil, r)
		again, err := ParseRecord(string(out[:len(out)-1]))
		if err != nil || again != r {
			t.Fatalf("ParseRecord(%q) = %+v, written back as %q: %+v, %v", line, r, out, again, err)
		}
	})
}

// FuzzReadRecords: ReadRecords consumes exactly the whole lines of its
// input (a torn last line is left), passes each well-formed one and
// counts every other as bad.
func FuzzReadRecords(f *testing.F) {
	f.Add([]byte(strings.Join(fuzzLines, "\n") + "\n"))
	f.Add([]byte(strings.Join(fuzzLines, "\n")))
	f.Add([]byte("garbage\n\n1 A 0 0 0 1 0 256\r\n1 A 0 0 0 1 0 256\n\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []Record
		consumed, bad, err := ReadRecords(bytes.NewReader(data), func(r Record) error {
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(bytes.LastIndexByte(data, '\n') + 1); consumed != want {
			t.Fatalf("ReadRecords(%q) consumed %d bytes, want %d", data, consumed, want)
		}
		var want []Record
		lines := 0
		for l := range strings.Lines(string(data[:consumed])) {
			lines++
			if r, err := ParseRecord(strings.TrimSuffix(l, "\n")); err == nil {
				want = append(want, r)
			}
		}
		if !slices.Equal(got, want) || bad != lines-len(want) {
			t.Fatalf("ReadRecords(%q) = %v, %d bad; want %v, %d bad", data, got, bad, want, lines-len(want))
		}
	})
}

// FuzzLoad: whatever storage_trunk.dat and the trunk binlog hold, Load
// refuses them with an error naming the binlog, or gives an index of
// valid blocks (a store path that exists, inside the 4 GiB a trunk offset
// can name, no two overlapping, the free space their sum) over a binlog
// cut to whole records, that a second Load (from the snapshot it saved,
// and from the binlog alone when it came from there) gives again, and
// from which slots are allocated inside their blocks.
func FuzzLoad(f *testing.F) {
	memtmp.Use(f)
	dat, bl := writtenFiles(f)
	f.Add(dat, bl, byte(0))
	f.Add(dat, bl, byte(1))
	f.Add([]byte(nil), bl, byte(0))
	f.Add([]byte("0\n"), append(bl, "1700000009 D 0 0 0 1 0"...), byte(0))
	f.Add([]byte("garbage\n1 A 0 0 0 1 0 256\n"), bl, byte(0))
	f.Add([]byte(fmt.Sprintf("%d\n", len(bl)+100)), bl, byte(0))
	f.Add([]byte(fmt.Sprintf("%d\n", len(bl)+5)), append(bl, "1700000009 D 0 0 0 1 0 256"...), byte(0))
	f.Add([]byte("-5\n"), []byte(strings.Join(fuzzLines, "\n")+"\n"), byte(0))
	f.Add([]byte(strings.Join(fuzzLines, "\n")+"\n"), []byte(nil), byte(0))
	f.Add([]byte("0\n1700000003 A 0 0 0 3 4294967040 512\n"), []byte(nil), byte(0))
	f.Add([]byte(nil), append(bl, make([]byte, 300)...), byte(1))
	f.Fuzz(func(t *testing.T, dat, bl []byte, flags byte) {
		cfg := fuzzConfig(t)
		cfg.ReloadFromBinlog = flags&1 != 0
		if len(dat) > 0 {
			writeFile(t, DataPath(cfg.BasePath), dat)
		}
		writeFile(t, BinlogPath(cfg.BasePath), bl)
		a, err := Load(cfg)
		if err != nil {
			if !strings.Contains(err.Error(), BinlogPath(cfg.BasePath)) {
				t.Fatalf("Load: %v does not name the binlog", err)
			}
			return
		}
		blocks := checkIndex(t, a)
		checkBinlogCut(t, cfg.BasePath, bl)
		a.Close()
		reloads := []bool{false}
		if cfg.ReloadFromBinlog || len(dat) == 0 { // the first load replayed the whole binlog
			reloads = append(reloads, true)
		}
		for _, reload := range reloads {
			cfg.ReloadFromBinlog = reload
			a2, err := Load(cfg)
			if err != nil {
				t.Fatalf("Load again (reload %v): %v", reload, err)
			}
			if again := checkIndex(t, a2); !slices.Equal(again, blocks) {
				t.Fatalf("Load again (reload %v): %v, first %v", reload, again, blocks)
			}
			a2.Close()
		}
		a, err = Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		checkAlloc(t, a, 0, 300)
		checkAlloc(t, a, 1, 5000)
	})
}

// fuzzConfig is an allocator over two store paths of a temp dir, new
// trunk files of 1 MiB in data/00/00.
func fuzzConfig(t testing.TB) Config {
	base := t.TempDir()
	paths := []string{filepath.Join(base, "p0"), filepath.Join(base, "p1")}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Join(p, "data", "00", "00"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	id := uint32(1000)
	return Config{
		StorePaths: paths, BasePath: base, SlotMinSize: 256, SlotMaxSize: 64 << 10, AlignSize: 256,
		TrunkFileSize: 1 << 20, Merge: true,
		NextID: func() (uint32, error) { id++; return id, nil },
		Dir:    func(int, uint32) (int, int) { return 0, 0 },
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Unix(1700000000, 0) },
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writtenFiles returns storage_trunk.dat and the trunk binlog as an
// allocator writes them: allocations, confirmed or not, frees, merges.
func writtenFiles(f *testing.F) (dat, bl []byte) {
	cfg := fuzzConfig(f)
	a, err := Load(cfg)
	if err != nil {
		f.Fatal(err)
	}
	var held []Location
	for i, size := range []int64{300, 5000, 256, 70, 1000, 4000} {
		l, err := a.Alloc(i%2, size)
		if err != nil {
			f.Fatal(err)
		}
		if err := a.Confirm(l, i != 3); err != nil {
			f.Fatal(err)
		}
		held = append(held, l)
	}
	for _, l := range held[:3] {
		if err := a.Free(l); err != nil {
			f.Fatal(err)
		}
	}
	if err := errors.Join(a.Save(), a.Close()); err != nil {
		f.Fatal(err)
	}
	dat, err1 := os.ReadFile(DataPath(cfg.BasePath))
	bl, err2 := os.ReadFile(BinlogPath(cfg.BasePath))
	if err := errors.Join(err1, err2); err != nil {
		f.Fatal(err)
	}
	return dat, bl
}

// checkIndex checks the index of a and returns its blocks.
func checkIndex(t *testing.T, a *Allocator) []Location {
	t.Helper()
	var all []Location
	var free int64
	var prev Location
	a.ix.each(func(l Location, held bool) {
		if l.StorePathIndex < 0 || l.StorePathIndex >= len(a.cfg.StorePaths) || l.Size == 0 || uint64(l.Offset)+uint64(l.Size) > 1<<32 {
			t.Fatalf("block %v (%d+%d) out of range", l, l.Offset, l.Size)
		}
		if keyOf(l) == keyOf(prev) && len(all) > 0 && uint64(prev.Offset)+uint64(prev.Size) > uint64(l.Offset) {
			t.Fatalf("blocks %v and %v overlap", prev, l)
		}
		if !held {
			free += int64(l.Size)
			if !slices.Contains(a.ix.bySize[l.StorePathIndex][l.Size], l) {
				t.Fatalf("free block %v not indexed by size", l)
			}
		}
		all, prev = append(all, l), l
	})
	if free != a.ix.free {
		t.Fatalf("%d bytes free in blocks, the index says %d", free, a.ix.free)
	}
	return all
}

// checkBinlogCut checks that the trunk binlog is bl up to a record
// boundary: whole records only, the next one on a line of its own.
func checkBinlogCut(t *testing.T, base string, bl []byte) {
	t.Helper()
	got, err := os.ReadFile(BinlogPath(base))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(bl, got) || len(got) > 0 && got[len(got)-1] != '\n' {
		t.Fatalf("binlog %q left as %q: not whole records of it", bl, got)
	}
}

// checkAlloc allocates a slot of size bytes on store path p, and checks
// it lies inside what a trunk offset names, then the index.
func checkAlloc(t *testing.T, a *Allocator, p int, size int64) {
	t.Helper()
	l, err := a.Alloc(p, size)
	if err != nil {
		t.Fatalf("Alloc(%d, %d): %v", p, size, err)
	}
	if int64(l.Size) < size || uint64(l.Offset)+uint64(l.Size) > 1<<32 || l.StorePathIndex != p {
		t.Fatalf("Alloc(%d, %d) = %v (%d+%d)", p, size, l, l.Offset, l.Size)
	}
	checkIndex(t, a)
}
