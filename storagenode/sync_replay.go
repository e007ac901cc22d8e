package storagenode

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// replayer sends binlog records to the peer over one connection: each
// record becomes the SYNC_* command that makes the peer's copy what ours
// is now.
type replayer struct {
	w    *syncWorker
	pc   *peerConn
	mark *syncMark // decides which replica records are forwarded
	held *deferred // records the peer refused for now (sync_defer.go); nil: none known

	// lastExist is set when the peer already had the last file created
	// (EEXIST): it then probably has the next ones too (a resumed sync
	// whose mark was behind), so creates are first checked with
	// QUERY_FILE_INFO rather than sent whole. Upstream's last_file_exist.
	lastExist bool
	gaps      gapTracker // creates the peer deleted since it had them (sync_gaps.go)
}

// permanent reports whether a peer's answer will not change on retry, so
// the record is skipped rather than retried forever.
func permanent(code byte) bool {
	switch code {
	case protocol.EINVAL, protocol.EISDIR, protocol.ENAMETOOLONG, protocol.EOPNOTSUPP:
		return true
	}
	return false
}

// replay sends one record to the peer. sent reports whether anything was
// sent; records whose local file is gone are skipped.
func (r *replayer) replay(rec *binlog.Record) (sent bool, err error) {
	op, ok := r.forwarded(rec)
	if !ok {
		return false, nil
	}
	if rec.Op.IsReplica() && r.mark.SyncOldDone {
		return r.replayLate(rec, op)
	}
	switch op {
	case binlog.OpCreate:
		return r.copyFile(rec, protocol.CmdSyncCreateFile)
	case binlog.OpUpdate:
		return r.copyFile(rec, protocol.CmdSyncUpdateFile)
	case binlog.OpDelete:
		return r.syncDelete(rec)
	case binlog.OpAppend, binlog.OpModify:
		return r.syncRange(rec, op)
	case binlog.OpTruncate:
		return r.syncTruncate(rec)
	case binlog.OpRename:
		return r.syncRename(rec, protocol.CmdSyncRenameFile)
	case binlog.OpLink:
		return r.syncRename(rec, protocol.CmdSyncCreateLink)
	}
	r.w.log.Debug("binlog record not replicated", "op", rec.Op.String(), "name", rec.Name)
	return false, nil
}

// forwarded returns the operation to replay for rec, as a source op; false
// when rec is not sent. A replica record came from another peer, which
// syncs everyone itself: it is forwarded only to a storage whose old-file
// sync source we are, when it is no later than the until timestamp the
// trackers gave us (its origin skips those for that storage), and never
// as a partial change, since the whole file goes with its create. Unlike
// upstream, this holds after the old-file sync is done too (replayLate).
func (r *replayer) forwarded(rec *binlog.Record) (binlog.Op, bool) {
	if !rec.Op.IsReplica() {
		return rec.Op, true
	}
	m := r.mark
	if !m.NeedSyncOld || rec.Timestamp > m.Until || rec.Op.Partial() {
		return 0, false
	}
	return rec.Op.Source(), true
}

// replayLate replays a replica record that reached us after the peer's
// old-file sync was done: a peer's upload from before the newcomer joined
// whose replication to us lagged (or was outside the sync window, or the
// peer was down) is written to our binlog past the end that sync stopped
// at, and nobody else sends it to the newcomer (tests/replication
// TestNewStorageFullSync lost such files on a loaded machine). The peer is
// in service by now and may hold a newer copy from the file's origin, so
// only what cannot replace a copy goes: a create, of a file the peer does
// not have (asked first: an upstream storage overwrites a copy of another
// size with a create's content), and a delete (names are never reused).
// A metadata file, which QUERY_FILE_INFO does not answer for, goes as a
// create, which a storage of ours holding one answers EEXIST.
func (r *replayer) replayLate(rec *binlog.Record, op binlog.Op) (bool, error) {
	switch op {
	case binlog.OpCreate:
		if !strings.HasSuffix(rec.Name, metaSuffix) {
			if size, err := r.peerFileSize(rec.Name); err != nil || size >= 0 {
				return false, err
			}
		}
		return r.sendFile(rec, protocol.CmdSyncCreateFile, false)
	case binlog.OpDelete:
		return r.syncDelete(rec)
	}
	r.w.log.Debug("late replica record not forwarded: it could replace a newer copy", "op", rec.Op.String(), "name", rec.Name)
	return false, nil
}

// openLocal opens our copy of a synced file; nil when it no longer exists.
func (w *syncWorker) openLocal(name string) (*regfile.File, int64, error) {
	path, _, n, err := w.s.resolveSync(name)
	if err != nil {
		return nil, 0, err
	}
	// regfile: open and fstat, where os.Open and Stat add four fcntl and
	// a failing epoll_ctl; anything but a regular file is fs.ErrNotExist.
	f, err := regfile.OpenFile(path)
	if err != nil {
		return nil, 0, w.localMissing(n, err)
	}
	return f, f.Size(), nil
}

// localMissing is the error of a record whose file here could not be
// opened (err): nil when it was deleted since (the record is skipped); a
// refusal for now (EIO) when its store path cannot be reached (a disk
// gone or failing, pathhealth.go), so that the record is deferred and
// sent once the disk is back rather than skipped as deleted.
func (w *syncWorker) localMissing(n *fileid.Name, err error) error {
	if !w.s.store.lost(n, err) {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, protocol.ErrNotFound) {
			return nil
		}
		return err
	}
	return fmt.Errorf("%s: its store path here cannot be reached now (%v): %w", n.Name(), err, protocol.ErrIO)
}

// openLocalAt is openLocal for a copy: a trunk file's content is size
// bytes from off in its trunk file; nil when it no longer exists.
func (w *syncWorker) openLocalAt(name string) (*regfile.File, int64, int64, error) {
	if strings.HasSuffix(name, metaSuffix) {
		f, size, err := w.openLocal(name)
		return f, 0, size, err
	}
	n, path, err := w.s.store.resolve(name)
	if err != nil {
		return nil, 0, 0, err
	}
	if !n.Trunk {
		f, size, err := w.openLocal(name)
		return f, 0, size, err
	}
	c, err := w.s.store.open(n, path)
	if err != nil {
		return nil, 0, 0, w.localMissing(n, err) // nil: deleted since, or never here
	}
	return c.f, c.base, c.size, nil
}

// syncDelete sends a delete; a peer without the file agrees.
func (r *replayer) syncDelete(rec *binlog.Record) (bool, error) {
	req := protocol.SyncDeleteRequest{Timestamp: int32(rec.Timestamp), Group: r.w.s.cfg.GroupName, Name: rec.Name}
	st, err := r.pc.request(protocol.CmdSyncDeleteFile, 0, req.Encode(), nil, 0, 0)
	if err != nil {
		return false, err
	}
	if st != 0 && st != protocol.ENOENT {
		return true, protocol.StatusErr(st)
	}
	return true, nil
}

// copyFile sends a whole file (SYNC_CREATE_FILE / SYNC_UPDATE_FILE), or,
// after an EEXIST (lastExist), only its header when the peer's copy has
// the same size: the peer then just logs it.
func (r *replayer) copyFile(rec *binlog.Record, cmd byte) (bool, error) {
	return r.sendFile(rec, cmd, true)
}

// sendFile is copyFile; a create turns into an update of the peer's copy
// (probe) only when mayReplace.
func (r *replayer) sendFile(rec *binlog.Record, cmd byte, mayReplace bool) (bool, error) {
	f, off, size, err := r.w.openLocalAt(rec.Name)
	if err != nil || f == nil {
		return false, err
	}
	defer f.Close()
	if cmd == protocol.CmdSyncUpdateFile {
		if gone, err := r.goneAtPeer(rec.Name); gone || err != nil {
			return gone, err
		}
	}
	var status byte
	if mayReplace {
		if cmd, status, err = r.probe(rec.Name, size, cmd); err != nil {
			return false, err
		}
	}
	req := protocol.SyncFileRequest{Name: rec.Name, FileSize: size, Timestamp: int32(rec.Timestamp), Group: r.w.s.cfg.GroupName}
	n := size
	if status != 0 {
		n = 0
	}
	st, err := r.pc.request(cmd, status, req.Encode(), f, off, n)
	r.w.s.stats.update(func(b *protocol.StatBlock) {
		b.TotalSyncOutBytes += n
		if err == nil && (st == 0 || st == protocol.EEXIST) {
			b.SuccessSyncOutBytes += n
		}
	})
	if err != nil {
		return false, err
	}
	switch st {
	case 0:
		r.lastExist = status == protocol.EEXIST
		return true, nil
	case protocol.EEXIST:
		r.lastExist = true
		return true, r.gaps.peerHasLater(r.w)
	}
	return true, protocol.StatusErr(st)
}

// goneAtPeer reports whether the peer has no copy of the file an update
// is about (of its file, for a metadata file): an update replaces a copy
// and must not create one. Records are replayed in order, so the peer had
// the file's create before; without the file now, it deleted it since,
// which a change made here earlier must not undo. Upstream's storage
// writes whatever update it is sent (ours drops an update older than its
// delete, deletes.go): a metadata change, or a file re-logged after a
// crash (relog.go), sent to a peer that deleted the file meanwhile,
// brought it back there, and its delete then never reached us.
//
// Unless the file's create is among our deferred records (the peer
// refused it for now, or it is a gap): the peer never had it, and the
// update is deferred behind it. Dropped, a metadata change made after the
// metadata file's own create went was lost for good (the create deferred
// as a gap sends the file alone; TestMixedChaos).
func (r *replayer) goneAtPeer(name string) (bool, error) {
	file := strings.TrimSuffix(name, metaSuffix)
	size, err := r.peerFileSize(file)
	if err != nil || size >= 0 {
		return false, err
	}
	if r.held.hasCreate(file) {
		return false, fmt.Errorf("update of %s: the file's create waits among the deferred records: deferred behind it: %w", name, protocol.ErrAgain)
	}
	r.w.log.Debug("update not sent: the peer has deleted the file", "name", name)
	return true, nil
}

// probe decides how a create is sent after an EEXIST: as is when the peer
// has no copy (deferred when that is a gap, sync_gaps.go), as an update
// when its copy differs in size, and without content (status EEXIST) when
// it has the same size. Metadata files and updates are always sent whole.
func (r *replayer) probe(name string, size int64, cmd byte) (byte, byte, error) {
	if !r.lastExist || cmd != protocol.CmdSyncCreateFile || strings.HasSuffix(name, metaSuffix) {
		return cmd, 0, nil
	}
	peerSize, err := r.peerFileSize(name)
	if err != nil {
		if _, answered := peerAnswer(err); !answered {
			return cmd, 0, err
		}
		peerSize = -1
	}
	if peerSize == -1 {
		if r.gaps.gap(name) {
			return cmd, 0, fmt.Errorf("create of %s: %w", name, errGap)
		}
		return cmd, 0, nil
	}
	if err := r.gaps.peerHasLater(r.w); err != nil {
		return cmd, 0, err
	}
	if peerSize == size {
		return cmd, protocol.EEXIST, nil
	}
	return protocol.CmdSyncUpdateFile, 0, nil
}

// syncRange sends an append or modify; ENOENT from the peer (missing or
// diverged copy) resends the whole file.
func (r *replayer) syncRange(rec *binlog.Record, op binlog.Op) (bool, error) {
	off, length, err := rec.Ints()
	if err != nil {
		return false, err
	}
	f, size, err := r.w.openLocal(rec.Name)
	if err != nil || f == nil {
		return false, err
	}
	defer f.Close()
	if size < off+length {
		// Truncated since: the range no longer exists here, so the peer
		// gets the file as it is now (later records then apply or are
		// already contained).
		return r.copyFile(rec, protocol.CmdSyncUpdateFile)
	}
	cmd := protocol.CmdSyncAppendFile
	if op == binlog.OpModify {
		cmd = protocol.CmdSyncModifyFile
	}
	req := protocol.SyncRangeRequest{Name: rec.Name, Offset: off, Length: length, Timestamp: int32(rec.Timestamp), Group: r.w.s.cfg.GroupName}
	st, err := r.pc.request(cmd, 0, req.Encode(), f, off, length)
	if err != nil {
		return false, err
	}
	switch st {
	case 0, protocol.EEXIST:
		return true, nil
	case protocol.ENOENT:
		return r.copyFile(rec, protocol.CmdSyncUpdateFile)
	}
	return true, protocol.StatusErr(st)
}

// syncTruncate sends a truncate; a peer without the file, or whose copy
// has diverged from our latest state, gets it whole.
func (r *replayer) syncTruncate(rec *binlog.Record) (bool, error) {
	oldSize, newSize, err := rec.Ints()
	if err != nil {
		return false, err
	}
	f, size, err := r.w.openLocal(rec.Name)
	if err != nil || f == nil {
		return false, err
	}
	f.Close()
	req := protocol.SyncTruncateRequest{Name: rec.Name, OldSize: oldSize, NewSize: newSize, Timestamp: int32(rec.Timestamp), Group: r.w.s.cfg.GroupName}
	st, err := r.pc.request(protocol.CmdSyncTruncateFile, 0, req.Encode(), nil, 0, 0)
	if err != nil {
		return false, err
	}
	switch st {
	case 0:
		return true, nil
	case protocol.EEXIST:
		// The peer's size was not old_size. If this truncate is our
		// latest state and the peer's size differs from it, its copy has
		// diverged: send it whole.
		if size == newSize {
			return r.checkSize(rec, newSize, protocol.CmdSyncUpdateFile)
		}
		return true, nil
	case protocol.ENOENT:
		return r.copyFile(rec, protocol.CmdSyncUpdateFile)
	}
	return true, protocol.StatusErr(st)
}

// checkSize sends our file whole with cmd when the peer's copy of it is
// not size bytes long.
func (r *replayer) checkSize(rec *binlog.Record, size int64, cmd byte) (bool, error) {
	peerSize, err := r.peerFileSize(rec.Name)
	if err != nil {
		return true, err
	}
	if peerSize == size {
		return true, nil
	}
	return r.copyFile(rec, cmd)
}

// peerFileSize asks the peer for the size of its copy of name
// (QUERY_FILE_INFO without CRC); -1 when it has none.
func (r *replayer) peerFileSize(name string) (int64, error) {
	q := protocol.FileRequest{Group: r.w.s.cfg.GroupName, Name: name}
	b, err := r.pc.call(protocol.CmdQueryFileInfo, protocol.FileInfoNoCRC, q.Encode(), maxSyncReplyBody)
	if errors.Is(err, protocol.ErrNotFound) && r.pc.Clean() {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	info, err := protocol.DecodeFileInfoResponse(b)
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// syncRename replays a two-name record: REGENERATE_APPENDER_FILENAME
// (SYNC_RENAME_FILE: new, old) or a slave link (SYNC_CREATE_LINK: link,
// target). A peer without the old file or the target (or, for a rename,
// with an old copy that differs from the renamed content) gets the named
// file whole. The rename is sent even when the new file is gone here
// (deleted since), so the peer does not keep its copy under the old name.
func (r *replayer) syncRename(rec *binlog.Record, cmd byte) (bool, error) {
	if len(rec.Extra) != 1 {
		return false, fmt.Errorf("%c record of %s without its second name: %w", rec.Op, rec.Name, protocol.ErrInvalid)
	}
	f, size, err := r.w.openLocal(rec.Name)
	if err != nil {
		return false, err
	}
	if f == nil && cmd == protocol.CmdSyncCreateLink {
		return false, nil
	}
	if f != nil {
		f.Close()
	}
	req := protocol.SyncTwoNamesRequest{First: rec.Name, Second: rec.Extra[0], Timestamp: int32(rec.Timestamp), Group: r.w.s.cfg.GroupName}
	st, err := r.pc.request(cmd, 0, req.Encode(), nil, 0, 0)
	if err != nil {
		return false, err
	}
	switch {
	case f == nil && (st == 0 || st == protocol.EEXIST || st == protocol.ENOENT):
		return true, nil
	case st == 0 || st == protocol.EEXIST:
		if cmd == protocol.CmdSyncRenameFile {
			return r.checkRenamed(rec, size)
		}
		return true, nil
	case st == protocol.ENOENT:
		return r.copyFile(rec, protocol.CmdSyncCreateFile)
	}
	return true, protocol.StatusErr(st)
}

// checkRenamed compares the size of the peer's renamed file with ours and
// sends ours whole when they differ. Our own receivers check the content
// before renaming; an upstream storage renames whatever it holds.
func (r *replayer) checkRenamed(rec *binlog.Record, size int64) (bool, error) {
	peerSize, err := r.peerFileSize(rec.Name)
	if err != nil {
		return true, err
	}
	if peerSize == size {
		return true, nil
	}
	r.w.log.Warn("peer's renamed file differs in size, sending it whole", "name", rec.Name, "peer_size", peerSize, "size", size)
	cmd := protocol.CmdSyncUpdateFile
	if peerSize < 0 {
		cmd = protocol.CmdSyncCreateFile
	}
	return r.copyFile(rec, cmd)
}
