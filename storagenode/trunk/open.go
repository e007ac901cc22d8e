package trunk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/regfile"
)

// Slot is an open slot: the trunk file and the window of content in it.
// Close closes the trunk file.
type Slot struct {
	File *regfile.File
	Loc  Location
	Base int64 // offset of the content in File, bytes
	Size int64 // content bytes
	// Mtime is the header's (the name's) create time.
	Mtime time.Time
	// Link is set for a link slot: the logical name of its source.
	Link string
}

// Close closes the trunk file.
func (s *Slot) Close() error { return s.File.Close() }

// ReadAt reads the content at off (relative to the content start) and
// never past its end.
func (s *Slot) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.Size {
		return 0, io.EOF
	}
	if rest := s.Size - off; int64(len(p)) > rest {
		n, err := s.File.ReadAt(p[:rest], s.Base+off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return s.File.ReadAt(p, s.Base+off)
}

// Open opens the slot a trunk file ID names under storePaths and checks
// it: the slot must lie inside the trunk file and inside its alloc size,
// and its header must be exactly the one the name implies (a free, reused
// or overwritten slot is ENOENT, as upstream). A truncated trunk file or
// an ID pointing past its end is EINVAL. The name must be a trunk name
// (n.Trunk) that passed fileid's Check.
func Open(storePaths []string, n *fileid.Name) (*Slot, error) {
	loc := Of(n)
	if n.StorePathIndex >= len(storePaths) {
		return nil, fmt.Errorf("trunk: %s: store path index out of range: %w", loc, protocol.ErrInvalid)
	}
	if uint64(n.Size)+HeaderSize > uint64(loc.Size) {
		return nil, fmt.Errorf("trunk: %s: file size %d does not fit alloc size %d: %w", loc, n.Size, loc.Size, protocol.ErrInvalid)
	}
	f, err := regfile.OpenFile(loc.Path(storePaths[n.StorePathIndex]))
	if err != nil {
		if errors.Is(err, regfile.ErrNotRegular) {
			err = fmt.Errorf("trunk: %s is not a regular file: %w", loc, protocol.ErrNotFound)
		}
		return nil, err
	}
	s, err := check(f, loc, n)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func check(f *regfile.File, loc Location, n *fileid.Name) (*Slot, error) {
	if end := int64(loc.Offset) + HeaderSize + n.Size; end > f.Size() {
		return nil, fmt.Errorf("trunk: %s: slot ends at byte %d, past the trunk file's %d bytes: %w",
			loc, end, f.Size(), protocol.ErrInvalid)
	}
	var b [HeaderSize]byte
	if _, err := f.ReadAt(b[:], int64(loc.Offset)); err != nil {
		return nil, fmt.Errorf("trunk: %s: reading the slot header: %w", loc, err)
	}
	typ := b[0]
	if typ != TypeRegular && typ != TypeLink {
		return nil, fmt.Errorf("trunk: %s: slot is free (type %d): %w", loc, typ, protocol.ErrNotFound)
	}
	var want [HeaderSize]byte
	h := Expected(n, typ)
	h.Put(want[:])
	if want != b {
		return nil, fmt.Errorf("trunk: %s: slot header does not match the file ID: %w", loc, protocol.ErrNotFound)
	}
	s := &Slot{File: f, Loc: loc, Base: int64(loc.Offset) + HeaderSize, Size: n.Size,
		Mtime: time.Unix(n.Timestamp, 0)}
	if typ == TypeLink {
		if n.Size > fileid.MaxNameLen {
			return nil, fmt.Errorf("trunk: %s: link of %d bytes: %w", loc, n.Size, protocol.ErrInvalid)
		}
		buf := make([]byte, n.Size)
		if _, err := s.ReadAt(buf, 0); err != nil {
			return nil, fmt.Errorf("trunk: %s: reading the link: %w", loc, err)
		}
		s.Link = string(buf)
	}
	return s, nil
}

// zeros is what a freed slot is overwritten with.
var zeros [64 << 10]byte

// Clear overwrites the slot at loc (all its alloc size) with zeros, as
// upstream's trunk_file_delete: its header then says free, and whatever
// ID named it is ENOENT from then on.
func Clear(storePath string, loc Location) error {
	f, err := os.OpenFile(loc.Path(storePath), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	off, left := int64(loc.Offset), int64(loc.Size)
	for left > 0 {
		n := min(left, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			f.Close()
			return fmt.Errorf("trunk: clearing %s: %w", loc, err)
		}
		off, left = off+n, left-n
	}
	return f.Close()
}

// OpenFollow is Open, following a link slot once as upstream's
// trunk_file_stat does: to another slot, or to a regular file (a Slot with
// Base 0 then). subdirs is subdir_count_per_path, to check the link's
// target like any name from outside.
func OpenFollow(storePaths []string, subdirs int, n *fileid.Name) (*Slot, error) {
	s, err := Open(storePaths, n)
	if err != nil || s.Link == "" {
		return s, err
	}
	s.Close()
	src, err := fileid.Parse(s.Link)
	if err == nil {
		err = src.Check(len(storePaths), subdirs)
	}
	if err != nil {
		return nil, fmt.Errorf("trunk: link %s -> %q: %w", s.Loc, s.Link, err)
	}
	if src.Trunk {
		ls, err := Open(storePaths, src)
		if err == nil && ls.Link != "" {
			ls.Close()
			return nil, fmt.Errorf("trunk: link %s -> %s is a link again: %w", s.Loc, src.Name(), protocol.ErrNotFound)
		}
		return ls, err
	}
	f, err := regfile.OpenFile(src.Path(storePaths))
	if err != nil {
		if errors.Is(err, regfile.ErrNotRegular) {
			err = fmt.Errorf("trunk: link target %s is not a regular file: %w", src.Name(), protocol.ErrNotFound)
		}
		return nil, err
	}
	return &Slot{File: f, Loc: s.Loc, Size: f.Size(), Mtime: f.ModTime()}, nil
}
