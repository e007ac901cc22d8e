package storagenode

// A file's metadata converges on every member to its newest change.
//
// A metadata file ("<name>-m") is replicated whole, as a file of its own,
// and upstream's storages write whatever copy arrives last. In a group of
// two, a metadata set at A that has not reached B when A goes down, and a
// later set at B meanwhile (the trackers name B while A is down), cross
// when A is back: B takes A's older copy, A takes B's newer one, and the
// two storages answer different metadata for good. Ours keep the newest
// change instead (last writer wins, by the time of the change's binlog
// record, which every member compares alike):
//
//   - A metadata file written here carries the time of the change it
//     holds as its mtime, marked by metaStampNsec in the nanoseconds.
//     A file without the mark (written by upstream's storage, by an older
//     version of ours, by disk recovery or the scrubber, which do not
//     know the change's time) takes whatever arrives, as before.
//   - A peer's copy stamped before the one here is acknowledged and
//     dropped; one stamped after replaces it. At the same second the
//     larger content wins (bytes compared), so both members pick the same.
//   - A delete of the metadata alone (a client's empty overwrite) is
//     remembered (deleteMemory, under the metadata file's name): a copy
//     stamped at or before it is dropped, and a peer's delete stamped
//     before the copy here is dropped in turn.
//
// Members' clocks must agree (NTP), as they must for upstream's sync: a
// change stamped by a clock that runs behind loses to one made before it.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// metaStampNsec marks a metadata file's mtime as the time of the change it
// holds: the nanoseconds of a stamped mtime. Any other value (a file
// system that keeps whole seconds only drops it) means the time is not
// known. 1 in a billion files written elsewhere carries it by chance.
const metaStampNsec = 604_231_177

// metaStamp is the mtime of a metadata file holding the change of ts
// (unix seconds).
func metaStamp(ts int64) time.Time { return time.Unix(ts, metaStampNsec) }

// metaVersion is the time of the change the metadata file fi holds, if
// its mtime was stamped with it.
func metaVersion(fi fs.FileInfo) (int64, bool) {
	mt := fi.ModTime()
	return mt.Unix(), mt.Nanosecond() == metaStampNsec
}

// putMeta replaces the metadata file at path (of a file in store path
// idx) with b, stamped with the change of ts: a staged file renamed into
// place. With sync, the file and then its directory are fsynced (a
// client's set, always, as upstream's state files; a replica's copy only
// when acknowledgements must be durable, as any replica's content). The
// stamp goes on once the file is in place (a staged unnamed file has no
// path to stamp): a crash in between leaves the file unstamped, which
// takes whatever arrives, as before stamps. The caller holds the file's
// name lock.
func (s *Server) putMeta(idx int, path string, b []byte, ts int64, sync bool) error {
	f, err := s.staging[idx].Create(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Replace(path); err != nil {
		return err
	}
	if err := os.Chtimes(path, metaStamp(ts), metaStamp(ts)); err != nil {
		return err
	}
	if sync {
		return atomicfile.SyncDir(filepath.Dir(path))
	}
	return nil
}

// handleSyncMeta stores a peer's copy of a metadata file (a create or an
// update, op) if it holds a newer change than the copy here.
func (s *Server) handleSyncMeta(cc *conn, req *protocol.SyncFileRequest, idx int, path, key string, op binlog.Op) error {
	if req.FileSize < 0 || req.FileSize != cc.body.N {
		return fmt.Errorf("sync file size %d, body carries %d: %w", req.FileSize, cc.body.N, protocol.ErrInvalid)
	}
	if req.FileSize > maxMetaFileSize {
		return fmt.Errorf("metadata file %s of %d bytes exceeds %d: %w", req.Name, req.FileSize, int64(maxMetaFileSize), protocol.ErrInvalid)
	}
	b, err := cc.readBody(req.FileSize)
	if err != nil {
		return err
	}
	ts := int64(req.Timestamp)
	defer s.lockName(key).Unlock()
	held, newer, err := s.metaNewer(req.Name, path, ts, b, op == binlog.OpReplicaCreate)
	if err != nil {
		return err
	}
	if !newer {
		s.log.Debug("metadata older than the copy here dropped", "name", req.Name, "timestamp", ts)
		s.synced(cc, req.Timestamp, req.Name)
		if held && op == binlog.OpReplicaCreate {
			return fmt.Errorf("sync create %s: %w", req.Name, protocol.ErrExists)
		}
		return cc.reply(nil)
	}
	if err := s.putMeta(idx, path, b, ts, s.durable()); err != nil {
		return s.refusing(cc, req.Name, req.Timestamp, err)
	}
	if err := s.writeBinlog(time.Unix(ts, 0), op, req.Name, ""); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// metaNewer reports whether a peer's copy b of the metadata file name
// (at path), stamped ts, holds a newer change than what is here, and
// whether a copy is here. A copy here whose change's time is not known
// is replaced by an update and kept against a create, as before stamps.
func (s *Server) metaNewer(name, path string, ts int64, b []byte, create bool) (held, newer bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, !s.deletes.covers(name, ts), nil
	}
	if err != nil {
		return false, false, err
	}
	v, stamped := metaVersion(fi)
	switch {
	case !stamped:
		return true, !create, nil
	case ts > v:
		return true, true, nil
	case ts < v:
		return true, false, nil
	}
	here, err := readBounded(path, maxMetaFileSize)
	if err != nil {
		return true, false, err
	}
	return true, bytes.Compare(b, here) > 0, nil
}

// metaDeleteStale reports whether a peer's delete of the metadata file at
// path, stamped ts, is older than the change the copy here holds.
func metaDeleteStale(fi fs.FileInfo, ts int64) bool {
	v, stamped := metaVersion(fi)
	return stamped && v > ts
}

// noteMetaDelete remembers a delete of the metadata file name (at path)
// made at ts while its file stays: a copy of an older change that comes
// later must not bring it back. A delete with the file's own needs no
// note: the file's covers it.
func (s *Server) noteMetaDelete(name, path string, ts int64) {
	if s.fileHere(path) {
		s.deletes.note(name, ts)
	}
}

// fileHere reports whether the file whose metadata file is at path is
// here.
func (s *Server) fileHere(metaPath string) bool {
	_, err := os.Lstat(strings.TrimSuffix(metaPath, metaSuffix))
	return err == nil
}
