package storagenode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Receiving side of storage ↔ storage replication (protocol.md §7): a
// peer's sync thread replays its binlog here. Every applied change is
// appended to our binlog as a replica (lower-case) record carrying the
// source's op timestamp, so it is not re-forwarded except during the
// old-file sync of a new storage.

// metaSuffix marks metadata files ("<name>-m"), synced like data files.
const metaSuffix = "-m"

// dispatchSync serves the storage ↔ storage commands; handled is false for
// any other command.
func (s *Server) dispatchSync(cc *conn, h protocol.Header) (handled bool, err error) {
	switch h.Cmd {
	case protocol.CmdReportServerID, protocol.CmdSyncCreateFile, protocol.CmdSyncUpdateFile,
		protocol.CmdSyncDeleteFile, protocol.CmdSyncAppendFile, protocol.CmdSyncModifyFile,
		protocol.CmdSyncTruncateFile, protocol.CmdSyncRenameFile, protocol.CmdSyncCreateLink:
		if err := s.syncAllowed(cc, h.Cmd); err != nil {
			return true, err
		}
	}
	switch h.Cmd {
	case protocol.CmdReportServerID:
		return true, s.handleReportServerID(cc, h)
	case protocol.CmdSyncCreateFile:
		return true, s.handleSyncFile(cc, h, false)
	case protocol.CmdSyncUpdateFile:
		return true, s.handleSyncFile(cc, h, true)
	case protocol.CmdSyncDeleteFile:
		return true, s.handleSyncDelete(cc, h)
	case protocol.CmdSyncAppendFile:
		return true, s.handleSyncRange(cc, h, true)
	case protocol.CmdSyncModifyFile:
		return true, s.handleSyncRange(cc, h, false)
	case protocol.CmdSyncTruncateFile:
		return true, s.handleSyncTruncate(cc, h)
	case protocol.CmdSyncRenameFile:
		return true, s.handleSyncRename(cc, h)
	case protocol.CmdSyncCreateLink:
		return true, s.handleSyncLink(cc, h)
	}
	return false, nil
}

// handleReportServerID records which storage this sync connection comes
// from (its id; its IP in IP mode): received timestamps are credited to it.
func (s *Server) handleReportServerID(cc *conn, h protocol.Header) error {
	body, err := cc.readFixed(h, protocol.ReportServerIDLen, "report server id")
	if err != nil {
		return err
	}
	r, err := protocol.DecodeReportServerIDRequest(body)
	if err != nil {
		return err
	}
	if r.ID == "" {
		return fmt.Errorf("empty server id: %w", protocol.ErrInvalid)
	}
	cc.syncPeer = r.ID
	if cc.in.Buffered() == 0 {
		recycle(cc.in)
		cc.in = bufio.NewReaderSize(socketReader{cc}, syncBufSize)
	}
	return cc.reply(nil)
}

// resolveSync resolves a synced name: a data file name or the metadata
// file "<name>-m" of one. It returns the physical path and the data file
// name (the key of the per-name lock).
func (s *Server) resolveSync(name string) (path, lockKey string, n *fileid.Name, err error) {
	base := strings.TrimSuffix(name, metaSuffix)
	n, p, err := s.store.resolve(base)
	if err != nil {
		return "", "", nil, err
	}
	if base != name {
		p += metaSuffix
	}
	return p, n.Name(), n, nil
}

// resolveSyncHere is resolveSync for a peer's change to apply here: a
// file whose store path is gone (pathhealth.go) is refused for now (EIO),
// so the peer defers the change until the disk is back or refilled; a
// delete answered ENOENT would be taken as done, and the file be back
// with its disk.
func (s *Server) resolveSyncHere(name string) (path, lockKey string, n *fileid.Name, err error) {
	path, lockKey, n, err = s.resolveSync(name)
	if err == nil && s.store.gone(n) {
		err = fmt.Errorf("%s: its store path cannot be reached now: %w", name, protocol.ErrIO)
	}
	return path, lockKey, n, err
}

// syncHead reads the fixed head and the names of a sync request, refusing
// bodies shorter than the head and names of impossible lengths.
func (s *Server) syncHead(cc *conn, h protocol.Header) ([]byte, error) {
	hl := protocol.HeadLen(h.Cmd)
	switch h.Cmd {
	case protocol.CmdSyncDeleteFile, protocol.CmdSyncTruncateFile, protocol.CmdSyncRenameFile, protocol.CmdSyncCreateLink:
		// No content: the whole body must fit the buffer, as upstream.
		if h.Length >= s.cfg.BuffSize {
			return nil, fmt.Errorf("cmd %d body of %d bytes exceeds buff_size: %w", h.Cmd, h.Length, protocol.ErrInvalid)
		}
	}
	if h.Length < int64(hl) {
		return nil, fmt.Errorf("cmd %d body of %d bytes: %w", h.Cmd, h.Length, protocol.ErrInvalid)
	}
	head, err := cc.readBody(int64(hl))
	if err != nil {
		return nil, err
	}
	prefix, err := protocol.PrefixLen(h.Cmd, head)
	if err != nil {
		return nil, err
	}
	if prefix < 0 {
		prefix = h.Length
	}
	if prefix > h.Length {
		return nil, fmt.Errorf("cmd %d names exceed the body: %w", h.Cmd, protocol.ErrInvalid)
	}
	rest, err := cc.readBody(prefix - int64(hl))
	if err != nil {
		return nil, err
	}
	return append(head, rest...), nil
}

// synced credits a received record about names to its source for
// SYNC_REPORT (and ends any refusal of those names, sync_holdback.go).
func (s *Server) synced(cc *conn, ts int32, names ...string) {
	if cc.syncPeer != "" {
		s.repl.noteReceived(cc.syncPeer, int64(ts), names)
	}
	s.stats.update(func(b *protocol.StatBlock) { b.LastSyncUpdate = time.Now().Unix() })
}

// discardBody drops the unread content of a request answered without it.
func discardBody(cc *conn) error {
	_, err := io.Copy(io.Discard, &cc.body)
	return err
}

// handleSyncFile serves SYNC_CREATE_FILE (16) and SYNC_UPDATE_FILE (18).
// The content goes to a temp file next to the target, then is linked into
// place (create: EEXIST when the file is already there) or renamed over it
// (update). Header status EEXIST is the sender's "you already have a
// same-size copy": no content, only the record is logged.
func (s *Server) handleSyncFile(cc *conn, h protocol.Header, update bool) error {
	b, err := s.syncHead(cc, h)
	if err != nil {
		return err
	}
	req, _, err := protocol.DecodeSyncFileRequest(b)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	path, key, n, err := s.resolveSyncHere(req.Name)
	if err != nil {
		return err
	}
	op := binlog.OpReplicaCreate
	if update {
		op = binlog.OpReplicaUpdate
	}
	if n.Trunk && req.Name == n.Name() {
		return s.handleSyncSlot(cc, h, req, n, op)
	}
	if s.staleChange(req.Name, path, req.Timestamp) {
		return s.dropStale(cc, req.Name, req.Timestamp)
	}
	if h.Status == protocol.EEXIST {
		return s.syncHeld(cc, req, path, op)
	}
	if req.FileSize < 0 || req.FileSize != cc.body.N {
		return fmt.Errorf("sync file size %d, body carries %d: %w", req.FileSize, cc.body.N, protocol.ErrInvalid)
	}
	if strings.HasSuffix(req.Name, metaSuffix) {
		return s.handleSyncMeta(cc, req, n.StorePathIndex, path, key, op)
	}
	if !update {
		if _, err := os.Lstat(path); err == nil {
			if err := discardBody(cc); err != nil {
				return err
			}
			s.synced(cc, req.Timestamp, req.Name)
			return fmt.Errorf("sync create %s: %w", req.Name, protocol.ErrExists)
		}
	}
	return s.storeReplica(cc, req, n, path, key, op)
}

// syncHeld serves a sync whose sender says we already hold a same-size
// copy (header status EEXIST): it carries no content, and only the record
// is logged, provided the file is here.
func (s *Server) syncHeld(cc *conn, req *protocol.SyncFileRequest, path string, op binlog.Op) error {
	if cc.body.N != 0 {
		return fmt.Errorf("sync file without content carries %d bytes: %w", cc.body.N, protocol.ErrInvalid)
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	if err := s.writeBinlog(time.Unix(int64(req.Timestamp), 0), op, req.Name, ""); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// storeReplica receives a sync's content into a temp file and puts it at
// path: linked into place for a create (EEXIST when the file is there by
// then), renamed over the old copy for an update (op).
func (s *Server) storeReplica(cc *conn, req *protocol.SyncFileRequest, n *fileid.Name, path, key string, op binlog.Op) error {
	// A replica that does not fit is refused (ENOSPC) before its content
	// reaches the disk.
	hold, err := s.reserveSpace(n.StorePathIndex, req.FileSize)
	if err != nil {
		return s.refusing(cc, req.Name, req.Timestamp, err)
	}
	defer hold.release()
	tmp, _, err := s.receive(cc, n.StorePathIndex, filepath.Dir(path), req.FileSize, hold)
	s.stats.update(func(b *protocol.StatBlock) {
		b.TotalSyncInBytes += req.FileSize
		if err == nil {
			b.SuccessSyncInBytes += req.FileSize
		}
	})
	if err != nil {
		return s.refusing(cc, req.Name, req.Timestamp, err)
	}
	defer tmp.Close()
	unlock := s.lockName(key)
	if op == binlog.OpReplicaUpdate {
		err = tmp.Replace(path)
	} else {
		err = tmp.Link(path)
	}
	unlock.Unlock()
	if errors.Is(err, fs.ErrExist) {
		s.synced(cc, req.Timestamp, req.Name)
		return fmt.Errorf("sync create %s: %w", req.Name, protocol.ErrExists)
	}
	if err != nil {
		return err
	}
	if err := s.writeBinlog(time.Unix(int64(req.Timestamp), 0), op, req.Name, ""); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// handleSyncSlot is handleSyncFile for a trunk file: its content goes
// into the same slot of our trunk file (trunk files are never updated).
func (s *Server) handleSyncSlot(cc *conn, h protocol.Header, req *protocol.SyncFileRequest, n *fileid.Name, op binlog.Op) error {
	defer s.lockName(n.Name()).Unlock()
	if s.deletes.covers(n.Name(), int64(req.Timestamp)) {
		if _, _, err := s.store.stat(n, ""); missingFile(err) {
			return s.dropStale(cc, req.Name, req.Timestamp) // deleted here since
		}
	}
	ts := time.Unix(int64(req.Timestamp), 0)
	if h.Status == protocol.EEXIST {
		if cc.body.N != 0 {
			return fmt.Errorf("sync file without content carries %d bytes: %w", cc.body.N, protocol.ErrInvalid)
		}
		if _, _, err := s.store.stat(n, ""); err != nil {
			return err
		}
	} else {
		if req.FileSize < 0 || req.FileSize != cc.body.N {
			return fmt.Errorf("sync file size %d, body carries %d: %w", req.FileSize, cc.body.N, protocol.ErrInvalid)
		}
		hold, err := s.reserveSpace(n.StorePathIndex, req.FileSize)
		if err != nil {
			return s.refusing(cc, req.Name, req.Timestamp, err)
		}
		err = s.receiveSlot(cc, n, req.FileSize, hold)
		hold.release()
		s.stats.update(func(b *protocol.StatBlock) {
			b.TotalSyncInBytes += req.FileSize
			if err == nil {
				b.SuccessSyncInBytes += req.FileSize
			}
		})
		if err != nil {
			if derr := discardBody(cc); derr != nil {
				return derr
			}
			if errors.Is(err, protocol.ErrExists) {
				s.synced(cc, req.Timestamp, req.Name)
			}
			return s.refusing(cc, req.Name, req.Timestamp, err)
		}
	}
	if err := s.writeBinlog(ts, op, req.Name, ""); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// handleSyncDelete serves SYNC_DELETE_FILE (17).
func (s *Server) handleSyncDelete(cc *conn, h protocol.Header) error {
	b, err := s.syncHead(cc, h)
	if err != nil {
		return err
	}
	req, err := protocol.DecodeSyncDeleteRequest(b)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	path, key, n, err := s.resolveSyncHere(req.Name)
	if err != nil {
		return err
	}
	defer s.lockName(key).Unlock()
	ts := time.Unix(int64(req.Timestamp), 0)
	if n.Trunk && req.Name == n.Name() {
		// The replica's slot is zeroed; the space is the source's to free
		// (its delete told the trunk server). A slot that no longer holds
		// the file (a replica of the file the trunk server gave the slot
		// to next got here first, receiveSlot) leaves the name listed by
		// the index: it goes.
		if err := s.clearSlot(n); err != nil {
			if s.store.lost(n, err) {
				return fmt.Errorf("%s: its store path cannot be reached now (%v): %w", req.Name, err, protocol.ErrIO)
			}
			if missingFile(err) {
				if werr := s.logAbsentDelete(ts, req.Name); werr != nil {
					return werr
				}
			}
			s.synced(cc, req.Timestamp, req.Name)
			return err
		}
		if err := s.writeBinlog(ts, binlog.OpReplicaDelete, req.Name, ""); err != nil {
			return err
		}
		s.synced(cc, req.Timestamp, req.Name)
		return cc.reply(nil)
	}
	meta := strings.HasSuffix(req.Name, metaSuffix)
	fi, err := os.Lstat(path)
	if err != nil && s.store.lost(n, err) {
		return fmt.Errorf("%s: its store path cannot be reached now (%v): %w", req.Name, err, protocol.ErrIO)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && (!meta || s.fileHere(req.Name)) {
			if werr := s.logAbsentDelete(ts, req.Name); werr != nil {
				return werr
			}
		}
		s.synced(cc, req.Timestamp, req.Name)
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: %w", req.Name, protocol.ErrInvalid)
	}
	if meta && metaDeleteStale(fi, ts.Unix()) {
		s.log.Debug("metadata delete older than the copy here dropped", "name", req.Name, "timestamp", req.Timestamp)
		s.synced(cc, req.Timestamp, req.Name)
		return cc.reply(nil)
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	s.store.noteFreed(n.StorePathIndex, s.params.Load().Reserved)
	if err := s.writeBinlog(ts, binlog.OpReplicaDelete, req.Name, ""); err != nil {
		return err
	}
	if meta {
		s.noteMetaDelete(req.Name, ts.Unix())
	} else if err := s.dropMetaOf(ts, req.Name, path); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// dropMetaOf removes the metadata file of a file a peer deleted, with its
// record. The peer sends the delete of its own metadata file after the
// file's, but it may have none: a file deleted at a replica that had not
// yet received the metadata its source had set (deletes.go).
func (s *Server) dropMetaOf(ts time.Time, name, path string) error {
	err := os.Remove(path + metaSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.writeBinlog(ts, binlog.OpReplicaDelete, name+metaSuffix, "")
}

// handleSyncRange serves SYNC_APPEND_FILE (25) and SYNC_MODIFY_FILE (35).
// An append applies only when our size equals its start offset; when our
// copy already covers the range it is EEXIST (applied before). A copy the
// range cannot apply to is ENOENT, which makes the sender resend the whole
// file.
func (s *Server) handleSyncRange(cc *conn, h protocol.Header, isAppend bool) error {
	b, err := s.syncHead(cc, h)
	if err != nil {
		return err
	}
	req, _, err := protocol.DecodeSyncRangeRequest(b)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	if req.Offset < 0 || req.Length < 0 || req.Length != cc.body.N {
		return fmt.Errorf("sync range offset %d length %d, body carries %d: %w", req.Offset, req.Length, cc.body.N, protocol.ErrInvalid)
	}
	path, key, n, err := s.resolveSyncHere(req.Name)
	if err != nil {
		return err
	}
	defer s.lockName(key).Unlock()
	f, size, err := s.openAppender(path)
	if errors.Is(err, fs.ErrNotExist) && s.staleChange(req.Name, path, req.Timestamp) {
		return s.dropStale(cc, req.Name, req.Timestamp)
	}
	if err != nil {
		if derr := discardBody(cc); derr != nil {
			return derr
		}
		return err
	}
	defer f.Close()
	op := binlog.OpReplicaModify
	if isAppend {
		op = binlog.OpReplicaAppend
		if size != req.Offset {
			if size >= req.Offset+req.Length {
				if err := s.checkApplied(cc, path, req); err != nil {
					return err
				}
				s.synced(cc, req.Timestamp, req.Name)
				return fmt.Errorf("append at %d to %s of size %d: %w", req.Offset, req.Name, size, protocol.ErrExists)
			}
			if derr := discardBody(cc); derr != nil {
				return derr
			}
			return fmt.Errorf("append at %d to %s of size %d: %w", req.Offset, req.Name, size, protocol.ErrNotFound)
		}
	} else if req.Offset > size {
		if derr := discardBody(cc); derr != nil {
			return derr
		}
		return fmt.Errorf("modify at %d of %s of size %d: %w", req.Offset, req.Name, size, protocol.ErrNotFound)
	}
	hold, err := s.reserveWrite(n.StorePathIndex, size, req.Offset, req.Length)
	if err != nil {
		return s.refusing(cc, req.Name, req.Timestamp, err)
	}
	defer hold.release()
	err = s.writeAt(cc, f, req.Offset, req.Length, hold)
	s.stats.update(func(b *protocol.StatBlock) {
		b.TotalSyncInBytes += req.Length
		if err == nil {
			b.SuccessSyncInBytes += req.Length
		}
	})
	if err != nil {
		return s.refusing(cc, req.Name, req.Timestamp, err)
	}
	extra := fmt.Sprintf("%d %d", req.Offset, req.Length)
	if err := s.writeBinlog(time.Unix(int64(req.Timestamp), 0), op, req.Name, extra); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// checkApplied reads a peer's append whose range the copy at path already
// holds (an append sent again after a crash or a broken connection) and
// compares it with those bytes. Bytes that differ mean the copies have
// diverged: two clients appended to the file at two storages at once
// (the trackers name another storage while the file's source is down),
// each storage holding its own append where the other holds the other's.
// Both appends were acknowledged; choosing one would lose the other for
// good, so the copy here is kept and the conflict is logged and counted
// (fdfs_storage_sync_append_conflicts_total) for an operator to settle.
// Upstream's storage answers EEXIST without looking.
func (s *Server) checkApplied(cc *conn, path string, req *protocol.SyncRangeRequest) error {
	f, err := regfile.OpenFile(path)
	if err != nil {
		if derr := discardBody(cc); derr != nil {
			return derr
		}
		return err
	}
	defer f.Close()
	buf := make([]byte, 2*min(req.Length, 64<<10))
	in, here := buf[:len(buf)/2], buf[len(buf)/2:]
	same := true
	for off := req.Offset; off < req.Offset+req.Length; {
		n := min(int64(len(in)), req.Offset+req.Length-off)
		if _, err := io.ReadFull(&cc.body, in[:n]); err != nil {
			return err
		}
		if same {
			_, err := f.ReadAt(here[:n], off)
			same = err == nil && bytes.Equal(in[:n], here[:n])
		}
		off += n
	}
	if !same {
		s.appendConflicts.Add(1)
		s.log.Warn("a peer's append differs from the bytes this copy holds there: the file's copies diverged (two appends at two storages at once); this copy is kept",
			"name", req.Name, "peer", cc.syncPeer, "offset", req.Offset, "length", req.Length, "timestamp", req.Timestamp)
	}
	return nil
}

// handleSyncTruncate serves SYNC_TRUNCATE_FILE (37): applied when our size
// is the old size, EEXIST otherwise (as the reference server answers).
func (s *Server) handleSyncTruncate(cc *conn, h protocol.Header) error {
	b, err := s.syncHead(cc, h)
	if err != nil {
		return err
	}
	req, err := protocol.DecodeSyncTruncateRequest(b)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	if req.NewSize < 0 {
		return fmt.Errorf("truncate to %d: %w", req.NewSize, protocol.ErrInvalid)
	}
	path, key, _, err := s.resolveSyncHere(req.Name)
	if err != nil {
		return err
	}
	defer s.lockName(key).Unlock()
	f, size, err := s.openAppender(path)
	if errors.Is(err, fs.ErrNotExist) && s.staleChange(req.Name, path, req.Timestamp) {
		return s.dropStale(cc, req.Name, req.Timestamp)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if size != req.OldSize {
		s.synced(cc, req.Timestamp, req.Name)
		return fmt.Errorf("truncate %s: size %d is not %d: %w", req.Name, size, req.OldSize, protocol.ErrExists)
	}
	if err := s.truncate(f, req.NewSize); err != nil {
		return err
	}
	extra := fmt.Sprintf("%d %d", req.OldSize, req.NewSize)
	if err := s.writeBinlog(time.Unix(int64(req.Timestamp), 0), binlog.OpReplicaTruncate, req.Name, extra); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.Name)
	return cc.reply(nil)
}

// syncTwoNames reads the body of a two-name sync command (19, 40), checks
// the group, resolves both names inside the store paths and locks them;
// the caller runs unlock when done.
func (s *Server) syncTwoNames(cc *conn, h protocol.Header) (req *protocol.SyncTwoNamesRequest, first, second string, unlock func(), err error) {
	b, err := s.syncHead(cc, h)
	if err != nil {
		return nil, "", "", nil, err
	}
	req, err = protocol.DecodeSyncTwoNamesRequest(b)
	if err != nil {
		return nil, "", "", nil, err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return nil, "", "", nil, err
	}
	first, firstKey, _, err := s.resolveSyncHere(req.First)
	if err != nil {
		return nil, "", "", nil, err
	}
	second, secondKey, _, err := s.resolveSyncHere(req.Second)
	if err != nil {
		return nil, "", "", nil, err
	}
	return req, first, second, s.lockTwoNames(firstKey, secondKey), nil
}

// handleSyncRename serves SYNC_RENAME_FILE (40): the appender file renamed
// by REGENERATE_APPENDER_FILENAME. The new name carries the size and CRC32
// of the content the source renamed, so the rename applies only to an old
// copy with exactly that content: a copy that missed changes (the source
// may skip records of a file it renamed before replaying them) is dropped
// and ENOENT makes the sender send the new file whole. EEXIST if the new
// name is here already (a stale old copy is then dropped too); ENOENT if
// the old one is missing.
func (s *Server) handleSyncRename(cc *conn, h protocol.Header) error {
	req, newPath, oldPath, unlock, err := s.syncTwoNames(cc, h)
	if err != nil {
		return err
	}
	defer unlock()
	ts := time.Unix(int64(req.Timestamp), 0)
	if _, err := os.Lstat(newPath); err == nil {
		if err := s.dropRenamed(ts, oldPath, req.Second); err != nil {
			return err
		}
		s.synced(cc, req.Timestamp, req.First, req.Second)
		return fmt.Errorf("rename to %s: %w", req.First, protocol.ErrExists)
	}
	if _, err := os.Lstat(oldPath); err != nil {
		return err
	}
	match, err := s.holdsNamedContent(oldPath, req.First)
	if err != nil {
		return err
	}
	if !match {
		if err := s.dropRenamed(ts, oldPath, req.Second); err != nil {
			return err
		}
		return fmt.Errorf("rename %s to %s: our copy differs from the renamed content: %w", req.Second, req.First, protocol.ErrNotFound)
	}
	if err := os.Link(oldPath, newPath); err != nil {
		return err
	}
	if err := os.Remove(oldPath); err != nil {
		return err
	}
	if err := s.writeBinlog(ts, binlog.OpReplicaRename, req.First, req.Second); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.First, req.Second)
	return cc.reply(nil)
}

// holdsNamedContent reports whether the file at path has the size and
// CRC32 that name (a normal file name, as REGENERATE_APPENDER_FILENAME
// makes) carries. Names that carry no content fields (appender, slave,
// trunk) match any content.
func (s *Server) holdsNamedContent(path, name string) (bool, error) {
	n, err := fileid.Parse(name)
	if err != nil {
		return false, err
	}
	if n.Appender || n.Slave || n.Trunk || n.Size < 0 {
		return true, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if fi.Size() != n.Size {
		return false, nil
	}
	crc, err := s.fileCRC(path)
	if err != nil {
		return false, err
	}
	return crc == n.CRC32, nil
}

// dropRenamed removes a copy left under the old name of a file the source
// renamed (the name never comes back there) and logs it as a replica
// delete. A missing copy is not an error.
func (s *Server) dropRenamed(ts time.Time, oldPath, oldName string) error {
	err := os.Remove(oldPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("dropped a stale copy of a renamed appender file", "name", oldName)
	return s.writeBinlog(ts, binlog.OpReplicaDelete, oldName, "")
}

// handleSyncLink serves SYNC_CREATE_LINK (19): a slave stored as a
// symbolic link to its master (store_slave_file_use_link). EEXIST if the
// link name exists, ENOENT if the target is missing here (the sender then
// sends the content).
func (s *Server) handleSyncLink(cc *conn, h protocol.Header) error {
	req, linkPath, target, unlock, err := s.syncTwoNames(cc, h)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Lstat(linkPath); err == nil {
		s.synced(cc, req.Timestamp, req.First, req.Second)
		return fmt.Errorf("link %s: %w", req.First, protocol.ErrExists)
	}
	if _, err := os.Stat(target); err != nil {
		return err
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	if err := os.Symlink(abs, linkPath); err != nil {
		return err
	}
	if err := s.writeBinlog(time.Unix(int64(req.Timestamp), 0), binlog.OpReplicaLink, req.First, req.Second); err != nil {
		return err
	}
	s.synced(cc, req.Timestamp, req.First, req.Second)
	return cc.reply(nil)
}
