package storagenode

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// TestRefillSlot: the scrubber's write of a verified copy into a trunk
// slot fills a free slot and rewrites one carrying the file's own header,
// refuses a slot holding another file, content that does not match the
// name and a name whose size does not fit its slot, and never writes a
// byte outside the slot.
func TestRefillSlot(t *testing.T) {
	const slot = 256 // bytes, header included
	data := bytes.Repeat([]byte("trunk "), 30)
	named := func(t *testing.T, off uint32, size int64, crc uint32) *fileid.Name {
		name, err := fileid.Generate(0, 1, 2, fileid.Fields{Timestamp: 1_700_000_000, Size: size, CRC32: crc,
			Trunk: true, TrunkFileID: 1, TrunkOffset: off, TrunkAllocSize: slot}, "bin")
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, name)
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *os.File, n *fileid.Name) // the slot at offset slot before the write
		size    int64                                          // the name's size; len(data) when 0
		content []byte
		wantErr error
	}{
		{"free slot", func(*testing.T, *os.File, *fileid.Name) {}, 0, data, nil},
		{"own header, bad content", func(t *testing.T, f *os.File, n *fileid.Name) {
			seal(t, f, n)
			f.WriteAt([]byte("rot"), int64(slot)+trunk.HeaderSize+5)
		}, 0, data, nil},
		{"another file's header", func(t *testing.T, f *os.File, _ *fileid.Name) {
			seal(t, f, named(t, slot, 10, 7))
		}, 0, data, protocol.ErrExists},
		{"content not matching the name", func(*testing.T, *os.File, *fileid.Name) {}, 0, []byte("something else"), protocol.ErrInvalid},
		{"size past the slot", func(*testing.T, *os.File, *fileid.Name) {}, slot, bytes.Repeat([]byte{1}, slot), protocol.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, testConfig(t))
			size := tt.size
			if size == 0 {
				size = int64(len(data))
			}
			n := named(t, slot, size, crc32.ChecksumIEEE(data))
			if tt.size != 0 {
				n = named(t, slot, size, crc32.ChecksumIEEE(tt.content))
			}
			path := trunk.Of(n).Path(s.store.paths[0])
			if err := trunk.CreateFile(nil, path, 4*slot); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Neighbours on both sides that must stay as they are.
			f.WriteAt(bytes.Repeat([]byte{0xAA}, slot), 0)
			f.WriteAt(bytes.Repeat([]byte{0xBB}, slot), 2*slot)
			tt.prepare(t, f, n)
			before, _ := os.ReadFile(path)

			err = s.refillSlot(n, func(w io.Writer) error {
				_, err := w.Write(tt.content)
				return err
			}, true)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("refillSlot: %v, want %v", err, tt.wantErr)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before[:slot], after[:slot]) || !bytes.Equal(before[2*slot:], after[2*slot:]) {
				t.Fatal("a neighbouring slot changed")
			}
			if tt.wantErr != nil {
				if errors.Is(tt.wantErr, protocol.ErrExists) && !bytes.Equal(before, after) {
					t.Fatal("the other file's slot changed")
				}
				return
			}
			sl, err := trunk.Open(s.store.paths, n)
			if err != nil {
				t.Fatal(err)
			}
			defer sl.Close()
			got := make([]byte, sl.Size)
			if _, err := sl.ReadAt(got, 0); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("slot holds %q", got)
			}
		})
	}
}

// seal writes the header of n into its slot.
func seal(t *testing.T, f *os.File, n *fileid.Name) {
	t.Helper()
	var h [trunk.HeaderSize]byte
	hd := trunk.Expected(n, trunk.TypeRegular)
	hd.Put(h[:])
	if _, err := f.WriteAt(h[:], int64(n.TrunkOffset)); err != nil {
		t.Fatal(err)
	}
}
