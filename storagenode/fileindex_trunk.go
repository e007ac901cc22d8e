package storagenode

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// Trunk files in the file index. A trunk file has no file of its own for
// the walk at start to find (the walk sees the trunk containers, whose
// six-digit names are not file IDs), and its slot header lacks what its
// name needs (the source's address, the random bits), so the names come
// from this storage's binlogs: every create or link of a trunk name not
// deleted after, kept only while its slot still holds it (the header
// check of trunk.Open: a freed or reused slot is not the file). The
// binlogs are replayed only when the walk saw a trunk container: a store
// that never used trunks pays nothing.

// trunkEntry returns the index entry of trunk file n; false when its slot
// does not hold it. A link slot lists with its target's size, as a
// symbolic link of a normal file does.
func (s *Server) trunkEntry(n *fileid.Name) (indexEvent, bool) {
	sl, err := trunk.Open(s.store.paths, n)
	if err != nil {
		return indexEvent{}, false
	}
	if sl.Link != "" {
		sl.Close()
		if sl, err = trunk.OpenFollow(s.store.paths, s.store.subdirs, n); err != nil {
			return indexEvent{}, false
		}
	}
	sl.Close()
	return indexEvent{add: true, name: n.Name(), size: sl.Size, crc: n.CRC32, time: n.Timestamp}, true
}

// entryFor is the index entry of the file of n at path, trunk or not.
func (s *Server) entryFor(n *fileid.Name, path string, restat bool) (indexEvent, bool) {
	if n.Trunk {
		return s.trunkEntry(n)
	}
	return entryOf(n, path, restat)
}

// trunkContainer reports whether a data directory entry is a trunk file
// (trunk.FileName: six decimal digits or more), not a file of its own.
func trunkContainer(name string) bool {
	return len(name) >= 6 && strings.Trim(name, "0123456789") == ""
}

// walkTrunk appends the trunk files this storage holds: the trunk names
// its binlogs created and did not delete, whose slots still hold them.
func (s *Server) walkTrunk(out []indexEvent) []indexEvent {
	names := map[string]struct{}{}
	for i := 0; i <= s.bl.Index(); i++ {
		err := binlog.EachRecord(s.bl.Path(i), func(rec *binlog.Record) error {
			trunkReplay(names, rec)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("file index: reading the binlog failed", "file", s.bl.Path(i), "err", err)
		}
	}
	for name := range names {
		n, _, err := s.store.resolve(name)
		if err != nil {
			continue
		}
		if ev, ok := s.trunkEntry(n); ok {
			out = append(out, ev)
		}
	}
	return out
}

// trunkReplay applies one binlog record to the trunk names a storage
// holds: a create or link of a trunk name adds it, a delete removes it.
// Trunk files are never renamed, updated or appended to.
func trunkReplay(names map[string]struct{}, rec *binlog.Record) {
	n, err := fileid.Parse(rec.Name)
	if err != nil || !n.Trunk || n.Name() != rec.Name {
		return
	}
	switch rec.Op.Source() {
	case binlog.OpCreate, binlog.OpLink:
		names[rec.Name] = struct{}{}
	case binlog.OpDelete:
		delete(names, rec.Name)
	}
}
