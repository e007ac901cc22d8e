package storagenode

// Delete and set-metadata: changes of a stored file that carry no content.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// handleDelete serves DELETE_FILE (12). Deleting a slave link is counted
// in the delete_link counters, as upstream.
func (s *Server) handleDelete(cc *conn, h protocol.Header) error {
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return s.delete(cc, start, a) }, func(b *protocol.StatBlock, ok bool, a *ioAttempt) {
		if a.link {
			tally(&b.TotalDeleteLinkCount, &b.SuccessDeleteLinkCount, ok)
		} else {
			tally(&b.TotalDeleteCount, &b.SuccessDeleteCount, ok)
		}
	})
}

// delete removes the file, then its metadata file, each with its own
// binlog record so that peers remove both (removeLogged). A failed record
// answers EIO; the file is gone all the same (the peers keep their copy
// until a later delete).
func (s *Server) delete(cc *conn, start time.Time, a *ioAttempt) ([]byte, error) {
	n, path, err := s.readFileRequest(cc)
	if err != nil {
		return nil, err
	}
	a.name = n
	name := n.Name()
	defer s.lockName(name).Unlock()
	if n.Trunk {
		// A slot has no tombstone: it is zeroed, then its record written.
		if err := s.deleteSlot(cc, n, a); err != nil {
			return nil, err
		}
		if err := s.writeBinlog(start, binlog.OpDelete, name, ""); err != nil {
			return nil, err
		}
	} else if err := s.deleteFile(cc, start, name, path, a); err != nil {
		return nil, err
	}
	if err := s.removeLogged(start, name+"-m", path+"-m"); errors.Is(err, fs.ErrNotExist) && n.Source != s.source(cc) {
		// A storage other than the file's source may not have received
		// metadata the source set: the record deletes it there too
		// (a peer without it answers ENOENT).
		if err := s.writeBinlog(start, binlog.OpDelete, name+"-m", ""); err != nil {
			return nil, err
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if !n.Trunk {
		s.store.noteFreed(n.StorePathIndex, s.params.Load().Reserved)
	}
	return nil, nil
}

// deleteFile removes the regular file (or slave link) of a delete, with
// its record (removeLogged).
func (s *Server) deleteFile(cc *conn, start time.Time, name, path string, a *ioAttempt) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: %w", name, protocol.ErrNotFound)
	}
	a.reach(cc)
	a.link = fi.Mode()&fs.ModeSymlink != 0
	return s.removeLogged(start, name, path)
}

// tombPrefix names a file being deleted: hidden, so never a valid name.
const tombPrefix = ".delete-"

// removeLogged removes the file at path and writes its delete record in
// three steps, so that a crash between any two leaves a trace the next
// start finishes (afterCrash): rename to a tombstone (atomic: the name is
// gone for readers), the record, removal of the tombstone. Removed first,
// a file killed before its record stayed on every peer for good (the
// unlink of a large file takes milliseconds).
func (s *Server) removeLogged(start time.Time, name, path string) error {
	tomb := filepath.Join(filepath.Dir(path), tombPrefix+filepath.Base(path))
	if err := os.Rename(path, tomb); err != nil {
		return err
	}
	err := s.writeBinlog(start, binlog.OpDelete, name, "")
	if rerr := os.Remove(tomb); err == nil {
		err = rerr
	}
	return err
}

// handleSetMetadata serves SET_METADATA (13).
func (s *Server) handleSetMetadata(cc *conn, h protocol.Header) error {
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return s.setMetadata(cc, start, a) }, func(b *protocol.StatBlock, ok bool, _ *ioAttempt) {
		tally(&b.TotalSetMetaCount, &b.SuccessSetMetaCount, ok)
	})
}

// setMetadata overwrites or merges the "-m" metadata file of a stored
// file. The -m file is replicated as a file of its own (create, update or
// delete record on its name), which is why an empty overwrite deletes it
// rather than leaving an empty file, and why a merge re-writes it whole.
func (s *Server) setMetadata(cc *conn, start time.Time, a *ioAttempt) ([]byte, error) {
	body, err := cc.readRest()
	if err != nil {
		return nil, err
	}
	req, err := protocol.DecodeSetMetadataRequest(body)
	if err != nil {
		return nil, err
	}
	if req.Flag != protocol.MetaOverwrite && req.Flag != protocol.MetaMerge {
		return nil, fmt.Errorf("metadata op flag %q: %w", req.Flag, protocol.ErrInvalid)
	}
	if err := s.checkGroup(req.Group); err != nil {
		return nil, err
	}
	n, path, err := s.store.resolve(req.Name)
	if err != nil {
		return nil, err
	}
	a.name = n
	name := n.Name()
	defer s.lockName(name).Unlock()
	if _, _, err := s.store.stat(n, path); err != nil {
		return nil, err
	}
	a.reach(cc)
	meta, err := protocol.UnpackMeta(req.Meta)
	if err != nil {
		return nil, err
	}
	metaPath, metaName := path+"-m", name+"-m"
	old, err := readBounded(metaPath, maxMetaFileSize)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(req.Meta) == 0 {
		if req.Flag == protocol.MetaMerge || !exists {
			return nil, nil
		}
		if err := os.Remove(metaPath); err != nil {
			return nil, err
		}
		if err := s.writeBinlog(start, binlog.OpDelete, metaName, ""); err != nil {
			return nil, err
		}
		s.deletes.note(metaName, start.Unix()) // sync_meta.go
		return nil, nil
	}
	if req.Flag == protocol.MetaMerge && exists {
		merged, err := protocol.UnpackMeta(old)
		if err != nil {
			return nil, err
		}
		for k, v := range meta {
			merged[k] = v
		}
		meta = merged
	}
	if err := s.putMeta(n.StorePathIndex, metaPath, protocol.PackMeta(meta), start.Unix(), true); err != nil {
		return nil, err
	}
	op := binlog.OpCreate
	if exists {
		op = binlog.OpUpdate
	}
	if err := s.writeBinlog(start, op, metaName, ""); err != nil {
		return nil, err
	}
	return nil, nil
}

// readBounded reads a whole small file, refusing files over max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s exceeds %d bytes: %w", filepath.Base(path), max, protocol.ErrInvalid)
	}
	return b, nil
}
