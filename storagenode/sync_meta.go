package storagenode

// A file's metadata converges on every member to its newest change.
//
// A metadata file ("<name>-m") is replicated whole, as a file of its own,
// and upstream's storages write whatever copy arrives last. In a group of
// two, a metadata set at A that has not reached B when A goes down, and a
// later set at B meanwhile (the trackers name B while A is down), cross
// when A is back: B takes A's older copy, and A takes B's copy or, once
// B has taken A's, that one (a source sends the file as it holds it
// when it sends a record): B's later set is lost on one storage or both.
// Ours drop a copy older than the change here instead (by the time of
// the change's binlog record, which every member compares alike):
//
//   - A metadata file written here carries the time of the change it
//     holds as its mtime, marked by metaStampNsec in the nanoseconds.
//     A file without the mark (written by upstream's storage, by an older
//     version of ours, or by the scrubber, which does not know the
//     change's time) takes whatever arrives, as before. Disk recovery
//     stamps what it restores with the time of the record it restores.
//   - A peer's copy or delete stamped before the change here is
//     acknowledged and dropped. At the same second the last to arrive
//     wins, as before: records are whole seconds, and a source's changes
//     within one second reach its peers in order.
//   - A delete of the metadata alone (a client's empty overwrite) is
//     remembered (deleteMemory, under the metadata file's name): a copy
//     stamped before it is dropped.
//
// Members' clocks must agree (NTP), as they must for upstream's sync: a
// change stamped by a clock that runs behind loses to one made before it.
// Two changes made at two storages within the same second may still
// cross.

import (
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
// update, op; its size checked against the body) unless it is older than
// the change here.
func (s *Server) handleSyncMeta(cc *conn, req *protocol.SyncFileRequest, idx int, path, key string, op binlog.Op) error {
	if req.FileSize > maxMetaFileSize {
		return fmt.Errorf("metadata file %s of %d bytes exceeds %d: %w", req.Name, req.FileSize, int64(maxMetaFileSize), protocol.ErrInvalid)
	}
	b, err := cc.readBody(req.FileSize)
	if err != nil {
		return err
	}
	ts := int64(req.Timestamp)
	defer s.lockName(key).Unlock()
	held, apply, err := s.metaApplies(req.Name, path, ts, op == binlog.OpReplicaCreate)
	if err != nil {
		return err
	}
	if !apply {
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

// metaApplies reports whether a peer's copy of the metadata file name (at
// path), stamped ts, applies (it is not older than the change here), and
// whether a copy is here. A copy here whose change's time is not known is replaced by an
// update and kept against a create, as before stamps.
func (s *Server) metaApplies(name, path string, ts int64, create bool) (held, apply bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted at ts+1 or later: strictly after the copy's change.
		return false, !s.deletes.covers(name, ts+1), nil
	}
	if err != nil {
		return false, false, err
	}
	v, stamped := metaVersion(fi)
	if !stamped {
		return true, !create, nil
	}
	return true, ts >= v, nil
}

// metaDeleteStale reports whether a peer's delete of the metadata file at
// path, stamped ts, is older than the change the copy here holds.
func metaDeleteStale(fi fs.FileInfo, ts int64) bool {
	v, stamped := metaVersion(fi)
	return stamped && v > ts
}

// noteMetaDelete remembers a delete of the metadata file name made at ts
// while its file stays: a copy of an older change that comes later must
// not bring it back. A delete with the file's own needs no note: the
// file's covers it.
func (s *Server) noteMetaDelete(name string, ts int64) {
	if s.fileHere(name) {
		s.deletes.note(name, ts)
	}
}

// fileHere reports whether the file of the metadata file name is here (a
// regular file, or a trunk file in its slot).
func (s *Server) fileHere(metaName string) bool {
	n, path, err := s.store.resolve(strings.TrimSuffix(metaName, metaSuffix))
	if err != nil {
		return false
	}
	_, _, err = s.store.stat(n, path)
	return err == nil
}
