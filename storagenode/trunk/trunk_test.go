package trunk_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/storagenode/trunk/trunktest"
)

func TestHeaderRoundTrip(t *testing.T) {
	cases := []trunk.Header{
		{},
		{Type: trunk.TypeRegular, AllocSize: 256, FileSize: 1, CRC32: 0xDEADBEEF, Mtime: 1700000000, Ext: [7]byte{'1', '2', '.', 'j', 'p', 'g', 0}},
		{Type: trunk.TypeLink, AllocSize: 1 << 31, FileSize: 1<<32 - 1, CRC32: 1, Mtime: 1<<32 - 1},
	}
	for _, h := range cases {
		var b [trunk.HeaderSize]byte
		h.Put(b[:])
		got, err := trunk.ParseHeader(b[:])
		if err != nil || got != h {
			t.Errorf("round trip of %+v: %+v, %v", h, got, err)
		}
		if binary.BigEndian.Uint32(b[1:]) != h.AllocSize || b[0] != h.Type {
			t.Errorf("layout of %+v: % x", h, b)
		}
	}
	if _, err := trunk.ParseHeader(make([]byte, trunk.HeaderSize-1)); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("short header: %v", err)
	}
}

func TestPath(t *testing.T) {
	cases := []struct {
		loc  trunk.Location
		want string
	}{
		{trunk.Location{High: 0, Low: 0, ID: 1}, "/s/data/00/00/000001"},
		{trunk.Location{High: 0xAB, Low: 0x0F, ID: 1234567}, "/s/data/AB/0F/1234567"},
	}
	for _, c := range cases {
		if got := c.loc.Path("/s"); got != c.want {
			t.Errorf("%+v: %s, want %s", c.loc, got, c.want)
		}
	}
}

func parse(t *testing.T, id string) *fileid.Name {
	t.Helper()
	_, name, err := fileid.Split(id)
	if err != nil {
		t.Fatal(err)
	}
	n, err := fileid.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readAll(t *testing.T, s *trunk.Slot) []byte {
	t.Helper()
	b := make([]byte, s.Size+10)
	n, err := s.ReadAt(b, 0)
	if err != io.EOF && !(err == nil && int64(n) == s.Size) {
		t.Fatalf("read slot: %d, %v", n, err)
	}
	return b[:n]
}

// TestOpenUpstreamStore reads every file of a store path the upstream
// storage wrote with trunks on.
func TestOpenUpstreamStore(t *testing.T) {
	store, files := trunktest.Unpack(t)
	trunks := 0
	for _, f := range files {
		n := parse(t, f.ID)
		if !n.Trunk {
			continue
		}
		trunks++
		s, err := trunk.Open([]string{store}, n)
		if f.Deleted {
			if !errors.Is(err, protocol.ErrNotFound) {
				t.Errorf("%s deleted by upstream: %v", f.ID, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", f.ID, err)
		}
		if got := readAll(t, s); !bytes.Equal(got, f.Content) {
			t.Errorf("%s: %d bytes, want %d", f.ID, len(got), len(f.Content))
		}
		if s.Mtime.Unix() != n.Timestamp {
			t.Errorf("%s: mtime %v", f.ID, s.Mtime)
		}
		s.Close()
	}
	if trunks < 4 {
		t.Fatalf("fixture has %d trunk files", trunks)
	}
}

// forge returns n's ID with its trunk location replaced.
func forge(n *fileid.Name, id, offset, size uint32) *fileid.Name {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:], id)
	binary.BigEndian.PutUint32(b[4:], offset)
	binary.BigEndian.PutUint32(b[8:], size)
	m := *n
	m.File = n.File[:fileid.Base64Len] + fileid.EncodeBase64(b[:]) + n.File[fileid.Base64Len+fileid.TrunkInfoLen:]
	m.TrunkFileID, m.TrunkOffset, m.TrunkAllocSize = id, offset, size
	return &m
}

// TestOpenBadInput: forged IDs, corrupt headers and truncated trunk files
// are refused with a clear status, and nothing is served.
func TestOpenBadInput(t *testing.T) {
	var good []trunktest.File
	store, files := trunktest.Unpack(t)
	for _, f := range files {
		if !f.Deleted && parse(t, f.ID).Trunk {
			good = append(good, f)
		}
	}
	a, b := parse(t, good[1].ID), parse(t, good[2].ID)
	trunkPath := trunk.Of(a).Path(store)
	cases := []struct {
		name   string
		n      *fileid.Name
		damage func(t *testing.T)
		want   error
	}{
		{"other slot's offset", forge(a, a.TrunkFileID, b.TrunkOffset, a.TrunkAllocSize), nil, protocol.ErrNotFound},
		{"offset inside the slot", forge(a, a.TrunkFileID, a.TrunkOffset+24, a.TrunkAllocSize), nil, protocol.ErrNotFound},
		{"alloc size differs", forge(a, a.TrunkFileID, a.TrunkOffset, a.TrunkAllocSize+256), nil, protocol.ErrNotFound},
		{"alloc smaller than the file", forge(a, a.TrunkFileID, a.TrunkOffset, 16), nil, protocol.ErrInvalid},
		{"offset past the trunk file", forge(a, a.TrunkFileID, 1<<31, a.TrunkAllocSize), nil, protocol.ErrInvalid},
		{"no such trunk file", forge(a, 77, a.TrunkOffset, a.TrunkAllocSize), nil, fs.ErrNotExist},
		{"corrupt header", a, func(t *testing.T) { patch(t, trunkPath, int64(a.TrunkOffset)+9, 0xFF) }, protocol.ErrNotFound},
		{"corrupt type", a, func(t *testing.T) { patch(t, trunkPath, int64(a.TrunkOffset), 'X') }, protocol.ErrNotFound},
		{"trunk file truncated", b, func(t *testing.T) {
			if err := os.Truncate(trunkPath, int64(b.TrunkOffset)+30); err != nil {
				t.Fatal(err)
			}
		}, protocol.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.damage != nil {
				c.damage(t)
			}
			s, err := trunk.Open([]string{store}, c.n)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Open: %v, want %v", err, c.want)
			}
		})
	}
}

// patch overwrites one byte of a file.
func patch(t *testing.T, path string, off int64, v byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{v}, off); err != nil {
		t.Fatal(err)
	}
}

// TestClear: a cleared slot is free (ENOENT) and its neighbours intact.
func TestClear(t *testing.T) {
	store, files := trunktest.Unpack(t)
	var live []trunktest.File
	for _, f := range files {
		if !f.Deleted && parse(t, f.ID).Trunk {
			live = append(live, f)
		}
	}
	victim := parse(t, live[1].ID)
	if err := trunk.Clear(store, trunk.Of(victim)); err != nil {
		t.Fatal(err)
	}
	if _, err := trunk.Open([]string{store}, victim); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("cleared slot: %v", err)
	}
	for _, f := range []trunktest.File{live[0], live[2]} {
		s, err := trunk.Open([]string{store}, parse(t, f.ID))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readAll(t, s), f.Content) {
			t.Errorf("neighbour %s changed", f.ID)
		}
		s.Close()
	}
}

func TestBinlogRecords(t *testing.T) {
	r := trunk.Record{Timestamp: 1700000000, Op: trunk.OpAdd, Block: trunk.Location{StorePathIndex: 1, High: 2, Low: 3, ID: 4, Offset: 5, Size: 6}}
	line := string(trunk.AppendRecord(nil, r))
	if line != "1700000000 A 1 2 3 4 5 6\n" {
		t.Fatalf("record %q", line)
	}
	if got, err := trunk.ParseRecord(line[:len(line)-1]); err != nil || got != r {
		t.Errorf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{
		"", "1700000000 A 1 2 3 4 5", "1700000000 A 1 2 3 4 5 6 7", "1700000000 X 1 2 3 4 5 6",
		"1700000000 AD 1 2 3 4 5 6", "1700000000 A 256 2 3 4 5 6", "1700000000 A 1 2 3 4 5 4294967296",
		"1700000000 A -1 2 3 4 5 6", "x A 1 2 3 4 5 6", "1700000000 A 1 2 3 4 5 6 ",
	} {
		if _, err := trunk.ParseRecord(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ParseRecord(%q): %v", bad, err)
		}
	}
	in := "1 A 0 0 0 1 0 256\ngarbage\n2 D 0 0 0 1 0 256\n3 A 0 0 0 1 0"
	var got []trunk.Record
	n, bad, err := trunk.ReadRecords(strings.NewReader(in), func(r trunk.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil || bad != 1 || len(got) != 2 || n != int64(strings.LastIndexByte(in, '\n')+1) {
		t.Errorf("ReadRecords: %d records, %d bad, %d bytes, %v", len(got), bad, n, err)
	}
}

// TestParseFileName: a whole trunk file's logical name, and what is not one.
func TestParseFileName(t *testing.T) {
	for _, c := range []struct {
		name string
		want trunk.Location
		ok   bool
	}{
		{"M00/00/00/000001", trunk.Location{ID: 1}, true},
		{"M01/0A/FF/123456", trunk.Location{StorePathIndex: 1, High: 10, Low: 255, ID: 123456}, true},
		{"M00/00/00/1234567", trunk.Location{ID: 1234567}, true},
		{"M00/00/00/00001", trunk.Location{}, false},   // five digits
		{"M00/00/00/0000001", trunk.Location{}, false}, // not the canonical form
		{"M00/0a/00/000001", trunk.Location{}, false},  // lower-case hex
		{"M00/00/00/000001.txt", trunk.Location{}, false},
		{"M00/00/00/-00001", trunk.Location{}, false},
		{"M00/00/00/+00001", trunk.Location{}, false},
		{"M00/00/00/99999999999", trunk.Location{}, false}, // past uint32
		{"M00/00/00/wKgBZWVfHW2AAAAAAAAAAAAAAAA123.txt", trunk.Location{}, false},
		{"M00/00/00/00000x", trunk.Location{}, false},
		{"M0G/00/00/000001", trunk.Location{}, false},
		{"M00-00/00/000001", trunk.Location{}, false},
		{"M00/00/00/", trunk.Location{}, false},
		{"M00/00/00/4294967296", trunk.Location{}, false}, // uint32 + 1
		{"M00/00/00/4294967295", trunk.Location{ID: 4294967295}, true},
		{"", trunk.Location{}, false},
	} {
		got, ok := trunk.ParseFileName(c.name)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("ParseFileName(%q) = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
		if ok && got.Name() != c.name {
			t.Errorf("%q: Name() = %q", c.name, got.Name())
		}
	}
}
