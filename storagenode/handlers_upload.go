package storagenode

// The upload handlers: a new file, its name made from its content, or a
// slave file named after its master.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// handleUpload serves UPLOAD_FILE (11) and UPLOAD_APPENDER_FILE (23). It
// goes through handleWrite so that the request is counted as upstream
// counts it: only once it got to its disk I/O.
func (s *Server) handleUpload(cc *conn, h protocol.Header, appender bool) error {
	return s.handleWrite(cc, uploadCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.upload(cc, h, appender, start, a, size)
	})
}

// upload streams the content into a temp file in the data directory it
// will live in, then links it under its final name and records the create.
// The name carries the content's size and CRC32, known only once the last
// byte is in, so it cannot be chosen first; the temp file must yet be in
// its final directory (a link cannot cross file systems, and a rename
// within one directory is what makes the file appear whole or not at all).
// If the binlog record cannot be written the placed file is removed again:
// the client is told the upload failed, so nothing of it may stay.
func (s *Server) upload(cc *conn, h protocol.Header, appender bool, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	if h.Length < protocol.UploadHeadLen {
		return nil, fmt.Errorf("upload body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	head, err := cc.readBody(protocol.UploadHeadLen)
	if err != nil {
		return nil, err
	}
	req, _, err := protocol.DecodeUploadRequest(head)
	if err != nil {
		return nil, err
	}
	if req.FileSize < 0 || req.FileSize != h.Length-protocol.UploadHeadLen {
		return nil, fmt.Errorf("upload file_size %d, body carries %d: %w", req.FileSize, h.Length-protocol.UploadHeadLen, protocol.ErrInvalid)
	}
	if err := fileid.ValidateExt(req.Ext); err != nil {
		return nil, err
	}
	idx := -1
	if req.StorePathIndex != protocol.StoreAnyPath {
		idx = int(req.StorePathIndex)
		if idx >= len(s.store.paths) {
			return nil, fmt.Errorf("store path index %d >= %d: %w", idx, len(s.store.paths), protocol.ErrInvalid)
		}
	}
	// The space is reserved before the content is read: a file that does
	// not fit is refused (ENOSPC) before any of it reaches the disk.
	hold, err := s.store.choosePath(idx, s.params.Load(), req.FileSize)
	if err != nil {
		return nil, err
	}
	defer hold.release()
	idx = hold.path
	if s.intoTrunk(req.FileSize, appender) {
		name, err := s.uploadTrunk(cc, req, hold, start, a)
		if err != nil {
			return nil, err
		}
		*size = req.FileSize
		return (&protocol.FileResponse{Group: s.cfg.GroupName, Name: name}).Encode(), nil
	}
	src := s.source(cc)
	// The provisional name only picks the directory: in random distribution
	// mode upstream hashes a name made before the content arrives (source,
	// start time, size, a random number), since the real name is not known
	// yet; in round-robin mode it is unused. It is never a file's name.
	provisional := fileid.Encode20(src, start.Unix(), fileid.MaskSize(req.FileSize, appender, false), rand.Uint32())
	high, low := s.store.nextDir(provisional)
	a.reach(cc)
	tmp, crc, err := s.receive(cc, idx, s.store.dirOf(idx, high, low), req.FileSize, hold)
	if err != nil {
		return nil, err
	}
	defer tmp.Close()
	*size = req.FileSize
	mtime, err := tmp.ModTime()
	if err != nil {
		return nil, err
	}
	// The name's timestamp is the new file's mtime, not the request's start:
	// the link keeps that mtime, so the create time QUERY_FILE_INFO reports
	// (the stored file's mtime) and the one decoded from the name agree, as
	// upstream's do (it names the file after writing it).
	f := fileid.Fields{Source: src, Timestamp: mtime.Unix(), Size: req.FileSize, CRC32: crc, Appender: appender}
	name, err := s.place(tmp.Link, idx, high, low, f, req.Ext, "")
	if err != nil {
		return nil, err
	}
	if err := s.writeBinlog(start, binlog.OpCreate, name, ""); err != nil {
		s.unplace(name)
		return nil, err
	}
	return (&protocol.FileResponse{Group: s.cfg.GroupName, Name: name}).Encode(), nil
}

// handleUploadSlave serves UPLOAD_SLAVE_FILE (21), counted as an upload.
func (s *Server) handleUploadSlave(cc *conn, h protocol.Header) error {
	return s.handleWrite(cc, uploadCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.uploadSlave(cc, h, start, a, size)
	})
}

// uploadSlave stores a slave file, whose name is derived from its master's
// (prefix and extension added), next to the master: unlike a normal upload
// the name is known before the content, so it is reserved first and an
// existing slave is EEXIST before any byte is read into the store. A
// failed binlog record removes the slave again, as in upload.
func (s *Server) uploadSlave(cc *conn, h protocol.Header, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	if h.Length < protocol.UploadSlaveHeadLen {
		return nil, fmt.Errorf("slave upload body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	b, err := cc.readBody(protocol.UploadSlaveHeadLen)
	if err != nil {
		return nil, err
	}
	head, err := protocol.DecodeUploadSlaveHead(b)
	if err != nil {
		return nil, err
	}
	if head.MasterLen <= protocol.SlaveMasterMinLen {
		return nil, fmt.Errorf("master name length %d: %w", head.MasterLen, protocol.ErrInvalid)
	}
	if head.FileSize < 0 || head.FileSize != h.Length-protocol.UploadSlaveHeadLen-head.MasterLen {
		return nil, fmt.Errorf("slave file_size %d does not match the body: %w", head.FileSize, protocol.ErrInvalid)
	}
	master, err := cc.readBody(head.MasterLen)
	if err != nil {
		return nil, err
	}
	req := head.Request(master)
	if req.Prefix == "" {
		return nil, fmt.Errorf("empty slave prefix: %w", protocol.ErrInvalid)
	}
	mn, mpath, err := s.store.resolve(req.MasterName)
	if err != nil {
		return nil, err
	}
	a.name = mn
	if _, _, err := s.store.stat(mn, mpath); err != nil {
		return nil, fmt.Errorf("master %s: %w", req.MasterName, err)
	}
	slave, err := fileid.SlaveName(req.MasterName, req.Prefix, req.Ext)
	if err != nil {
		return nil, err
	}
	_, spath, err := s.store.resolve(slave)
	if err != nil {
		return nil, err
	}
	if !s.store.reserve(slave) {
		return nil, fmt.Errorf("slave %s is being written: %w", slave, protocol.ErrExists)
	}
	defer s.store.release(slave)
	if _, err := os.Lstat(spath); err == nil {
		return nil, fmt.Errorf("slave %s: %w", slave, protocol.ErrExists)
	}
	hold, err := s.reserveSpace(mn.StorePathIndex, req.FileSize)
	if err != nil {
		return nil, err
	}
	defer hold.release()
	a.reach(cc)
	tmp, _, err := s.receive(cc, mn.StorePathIndex, s.store.dirOf(mn.StorePathIndex, mn.High, mn.Low), req.FileSize, hold)
	if err != nil {
		return nil, err
	}
	*size = req.FileSize
	err = tmp.Link(spath)
	tmp.Close()
	if err != nil {
		return nil, fmt.Errorf("slave %s: %w", slave, err)
	}
	if err := s.writeBinlog(start, binlog.OpCreate, slave, ""); err != nil {
		s.unplace(slave)
		return nil, err
	}
	return (&protocol.FileResponse{Group: s.cfg.GroupName, Name: slave}).Encode(), nil
}
