package trunk

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// HeaderSize is the slot header in bytes (FDFS_TRUNK_FILE_HEADER_SIZE).
const HeaderSize = 17 + fileid.ExtMaxLen + 1

// Slot file types (first header byte).
const (
	TypeNone    byte = 0   // free slot
	TypeRegular byte = 'F' // file content follows the header
	TypeLink    byte = 'L' // the content is the logical name of the source
)

// Header is the slot header as upstream packs it (trunk_pack_header).
type Header struct {
	Type      byte
	AllocSize uint32 // bytes of the slot, header included
	FileSize  uint32 // bytes of content
	CRC32     uint32
	Mtime     uint32                     // unix seconds
	Ext       [fileid.ExtMaxLen + 1]byte // the name's formatted extension area
}

// Put packs h into b[:HeaderSize].
func (h *Header) Put(b []byte) {
	_ = b[HeaderSize-1]
	b[0] = h.Type
	binary.BigEndian.PutUint32(b[1:], h.AllocSize)
	binary.BigEndian.PutUint32(b[5:], h.FileSize)
	binary.BigEndian.PutUint32(b[9:], h.CRC32)
	binary.BigEndian.PutUint32(b[13:], h.Mtime)
	copy(b[17:HeaderSize], h.Ext[:])
}

// ParseHeader unpacks b[:HeaderSize].
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("trunk: slot header of %d bytes, want %d: %w", len(b), HeaderSize, protocol.ErrInvalid)
	}
	h := Header{
		Type:      b[0],
		AllocSize: binary.BigEndian.Uint32(b[1:]),
		FileSize:  binary.BigEndian.Uint32(b[5:]),
		CRC32:     binary.BigEndian.Uint32(b[9:]),
		Mtime:     binary.BigEndian.Uint32(b[13:]),
	}
	copy(h.Ext[:], b[17:HeaderSize])
	return h, nil
}

// Location is where a slot is: the trunk file (store path, HH/LL, id) and
// the slot in it (FDFSTrunkFullInfo without the status).
type Location struct {
	StorePathIndex int
	High, Low      int
	ID             uint32
	Offset         uint32 // bytes from the start of the trunk file
	Size           uint32 // alloc size in bytes, header included
}

// Of returns the location a trunk file ID names.
func Of(n *fileid.Name) Location {
	return Location{StorePathIndex: n.StorePathIndex, High: n.High, Low: n.Low,
		ID: n.TrunkFileID, Offset: n.TrunkOffset, Size: n.TrunkAllocSize}
}

// Path returns the trunk file's path under storePath: data/HH/LL/NNNNNN.
func (l Location) Path(storePath string) string {
	return filepath.Join(storePath, "data", fmt.Sprintf("%02X", l.High), fmt.Sprintf("%02X", l.Low), FileName(l.ID))
}

// FileName is a trunk file's base name: the id in at least six digits.
func FileName(id uint32) string {
	s := strconv.FormatUint(uint64(id), 10)
	for len(s) < 6 {
		s = "0" + s
	}
	return s
}

// Trunk returns the trunk file the slot is in (same path, offset and size 0).
func (l Location) Trunk() Location {
	return Location{StorePathIndex: l.StorePathIndex, High: l.High, Low: l.Low, ID: l.ID}
}

// String is for logs and errors.
func (l Location) String() string {
	return fmt.Sprintf("M%02X/%02X/%02X/%s@%d+%d", l.StorePathIndex, l.High, l.Low, FileName(l.ID), l.Offset, l.Size)
}

// Expected returns the header a slot named by n must carry (what upstream
// rebuilds from the name and compares byte for byte with the disk).
func Expected(n *fileid.Name, typ byte) Header {
	h := Header{Type: typ, AllocSize: n.TrunkAllocSize, FileSize: uint32(n.Size),
		CRC32: n.CRC32, Mtime: uint32(n.Timestamp)}
	copy(h.Ext[:], n.File[len(n.File)-len(h.Ext):])
	return h
}

// Name is the logical name of the trunk file the location is in,
// "Mxx/HH/LL/NNNNNN": what upstream's disk recovery asks a peer for to get
// a trunk file whole (DOWNLOAD_FILE).
func (l Location) Name() string {
	return fmt.Sprintf("M%02X/%02X/%02X/%s", l.StorePathIndex, l.High, l.Low, FileName(l.ID))
}

// ParseFileName parses a whole trunk file's logical name (Name); ok is
// false for anything else, a name not in that exact form included. Every
// download's file name passes here, so it is parsed by hand: fmt.Sscanf,
// which fails a regular file's name by panicking and recovering, took 7%
// of a storage's CPU under FastDFS's test_download.
func ParseFileName(name string) (l Location, ok bool) {
	if l.StorePathIndex, l.High, l.Low, ok = fileid.ParsePrefix(name); !ok || len(name) == fileid.PathPrefixLen {
		return Location{}, false
	}
	var id uint64
	for _, c := range []byte(name[fileid.PathPrefixLen:]) {
		if c < '0' || c > '9' {
			return Location{}, false
		}
		if id = id*10 + uint64(c-'0'); id > math.MaxUint32 {
			return Location{}, false
		}
	}
	l.ID = uint32(id)
	return l, l.Name() == name
}
