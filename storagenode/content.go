package storagenode

// The bytes of a stored file wherever they are: a whole regular file, or a
// slot of a trunk file (use_trunk_file).

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// content is an open stored file: f holds its size bytes from base on.
type content struct {
	f     *regfile.File
	base  int64 // bytes
	size  int64 // bytes
	mtime time.Time
	slot  *trunk.Slot  // nil for a regular file
	name  *fileid.Name // the file's name (open), nil for a whole trunk file
}

// Close closes the underlying file.
func (c *content) Close() error { return c.f.Close() }

// ReadAt reads the file's bytes at off, relative to its start.
func (c *content) ReadAt(p []byte, off int64) (int, error) {
	if c.slot != nil {
		return c.slot.ReadAt(p, off)
	}
	return c.f.ReadAt(p, off)
}

// open opens the file a resolved name designates. A trunk slot is checked
// against its name (trunk.Open); a link slot is followed once, to a
// regular file or a slot, as upstream's trunk_file_stat does (OpenFollow).
func (st *store) open(n *fileid.Name, path string) (*content, error) {
	if !n.Trunk {
		f, err := regfile.OpenFile(path)
		if err != nil {
			if errors.Is(err, regfile.ErrNotRegular) {
				err = fmt.Errorf("%s is not a regular file: %w", n.Name(), protocol.ErrNotFound)
			}
			return nil, err
		}
		return &content{f: f, size: f.Size(), mtime: f.ModTime(), name: n}, nil
	}
	s, err := trunk.OpenFollow(st.paths, st.subdirs, n)
	if err != nil {
		return nil, err
	}
	return &content{f: s.File, base: s.Base, size: s.Size, mtime: s.Mtime, slot: s, name: n}, nil
}

// openTrunkFile opens a whole trunk file (what upstream's disk recovery
// downloads from a peer).
func (st *store) openTrunkFile(loc trunk.Location) (*content, error) {
	if loc.StorePathIndex >= len(st.paths) || loc.High >= st.subdirs || loc.Low >= st.subdirs {
		return nil, fmt.Errorf("trunk file %s: store path or directory out of range: %w", loc.Trunk(), protocol.ErrInvalid)
	}
	f, err := regfile.OpenFile(loc.Path(st.paths[loc.StorePathIndex]))
	if err != nil {
		if errors.Is(err, regfile.ErrNotRegular) {
			err = fmt.Errorf("trunk file %s is not a regular file: %w", loc.Trunk(), protocol.ErrNotFound)
		}
		return nil, err
	}
	return &content{f: f, size: f.Size(), mtime: f.ModTime()}, nil
}

// stat checks that the file a resolved name designates exists and returns
// its size in bytes and modification time (a slot's: its header's).
func (st *store) stat(n *fileid.Name, path string) (int64, time.Time, error) {
	if !n.Trunk {
		fi, err := os.Stat(path)
		if err != nil {
			return 0, time.Time{}, err
		}
		if fi.IsDir() {
			return 0, time.Time{}, fmt.Errorf("%s is a directory: %w", n.Name(), protocol.ErrNotFound)
		}
		return fi.Size(), fi.ModTime(), nil
	}
	c, err := st.open(n, path)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer c.Close()
	return c.size, c.mtime, nil
}
