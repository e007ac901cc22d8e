package storagenode

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// lostFiles replays this storage's binlogs and returns the files they say
// it holds that are neither in the index nor on disk: files removed behind
// the storage's back while it was down (the walk at start cannot see what
// is not there). Only names missing from the index are kept during the
// replay, so its memory is that of the lost files, not of every file.
func (s *Server) lostFiles() []string {
	lost := map[string]bool{}
	for i := 0; i <= s.bl.Index(); i++ {
		if err := s.replayForLost(s.bl.Path(i), lost); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("scrub: reading the binlog failed", "file", s.bl.Path(i), "err", err)
			return nil // an incomplete replay would report deleted files as lost
		}
	}
	var out []string
	for name := range lost {
		if s.index.has(name) {
			continue // created meanwhile
		}
		n, path, err := s.store.resolve(name)
		if err != nil {
			continue
		}
		if n.Trunk {
			// Not indexed and with no file of its own: lost when its slot
			// no longer holds it.
			if _, _, err := s.store.stat(n, path); missingFile(err) {
				out = append(out, name)
			}
			continue
		}
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			out = append(out, name)
		}
	}
	return out
}

// replayForLost applies the records of one binlog file to lost: a create
// of a name the index lacks adds it, a delete or the old name of a rename
// removes it.
func (s *Server) replayForLost(path string, lost map[string]bool) error {
	return binlog.EachRecord(path, func(rec *binlog.Record) error {
		if strings.HasSuffix(rec.Name, metaSuffix) {
			return nil
		}
		switch rec.Op.Source() {
		case binlog.OpRename:
			if len(rec.Extra) > 0 {
				delete(lost, rec.Extra[0])
			}
			fallthrough
		case binlog.OpCreate, binlog.OpLink, binlog.OpUpdate:
			if !s.index.has(rec.Name) {
				lost[rec.Name] = true
			}
		case binlog.OpDelete:
			delete(lost, rec.Name)
		}
		return nil
	})
}
