package storagenode

// The appender-file handlers: append, modify, truncate and regenerate,
// each serialised per file name (lockName).

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/tmpfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// readHead reads the fixed head of an append, modify or truncate request
// for decode, refusing a body shorter than the head as upstream does
// before it parses anything.
func readHead[T any](cc *conn, h protocol.Header, headLen int, decode func([]byte) (T, error)) (T, error) {
	var zero T
	if h.Length < int64(headLen) {
		return zero, fmt.Errorf("body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	b, err := cc.readBody(int64(headLen))
	if err != nil {
		return zero, err
	}
	return decode(b)
}

// readAppenderName reads the nameLen-byte name that follows the head of an
// append, modify or truncate request, applies upstream's length checks
// (a name at least as long as a normal one, within the body) and resolves
// the name, which must be an appender file.
func (s *Server) readAppenderName(cc *conn, nameLen int64) (*fileid.Name, string, error) {
	if nameLen < minAppenderNameLen || nameLen >= maxNameLen || nameLen > cc.body.N {
		return nil, "", fmt.Errorf("file name length %d: %w", nameLen, protocol.ErrInvalid)
	}
	nb, err := cc.readBody(nameLen)
	if err != nil {
		return nil, "", err
	}
	n, path, err := s.store.resolve(string(nb))
	if err != nil {
		return nil, "", err
	}
	if !n.Appender {
		return nil, "", fmt.Errorf("%s is not an appender file: %w", n.Name(), protocol.ErrInvalid)
	}
	return n, path, nil
}

// openAppender opens an existing appender file for writing and counts the
// open.
func (s *Server) openAppender(path string) (*os.File, int64, error) {
	f, size, opened, err := openWritable(path)
	s.countOpen(opened)
	return f, size, err
}

// openWritable opens an existing regular file for writing and returns its
// size; opened tells whether the open itself succeeded.
func openWritable(path string) (f *os.File, size int64, opened bool, err error) {
	f, err = os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, 0, false, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, true, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, true, fmt.Errorf("%s is %w: %w", filepath.Base(path), errNotRegular, protocol.ErrInvalid)
	}
	return f, fi.Size(), true, nil
}

// openForChange opens the appender file of an append, modify or truncate
// without counting the open: on a failure upstream finds with its stat
// before any disk I/O it returns the error uncounted, on any other it
// counts the failed open and a reached as upstream's disk thread would.
func (s *Server) openForChange(cc *conn, path string, a *ioAttempt) (*os.File, int64, error) {
	f, size, opened, err := openWritable(path)
	if err != nil && !missingFile(err) {
		a.reach(cc)
		s.countOpen(opened)
	}
	return f, size, err
}

// changeReached marks the disk I/O of an append, modify or truncate, with
// the open of its file.
func (s *Server) changeReached(cc *conn, a *ioAttempt) {
	a.reach(cc)
	s.countOpen(true)
}

// handleAppend serves APPEND_FILE (24).
func (s *Server) handleAppend(cc *conn, h protocol.Header) error {
	return s.handleWrite(cc, appendCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.appendFile(cc, h, start, a, size)
	})
}

// appendFile appends the content at the file's current end under the
// name's lock (appends to one file are serialised, as upstream's single
// disk thread per path does). An empty append is answered before any disk
// I/O and writes no record.
func (s *Server) appendFile(cc *conn, h protocol.Header, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	head, err := readHead(cc, h, protocol.AppendHeadLen, protocol.DecodeAppendHead)
	if err != nil {
		return nil, err
	}
	n, path, err := s.readAppenderName(cc, head.NameLen)
	if err != nil {
		return nil, err
	}
	a.name = n
	length := head.Length
	if length < 0 || length != cc.body.N {
		return nil, fmt.Errorf("append length %d, body carries %d: %w", length, cc.body.N, protocol.ErrInvalid)
	}
	name := n.Name()
	defer s.lockName(name).Unlock()
	f, at, err := s.openForChange(cc, path, a)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if length == 0 {
		return nil, nil
	}
	s.changeReached(cc, a)
	hold, err := s.reserveSpace(n.StorePathIndex, length)
	if err != nil {
		return nil, err
	}
	defer hold.release()
	if err := s.writeAt(cc, f, at, length, hold); err != nil {
		return nil, err
	}
	*size = length
	if err := s.writeBinlog(start, binlog.OpAppend, name, fmt.Sprintf("%d %d", at, length)); err != nil {
		return nil, err
	}
	return nil, nil
}

// writeAt receives length body bytes, then writes them into f at offset;
// the body is accounted to hold (reserveWrite). Staged so that f never
// holds part of a change: a transfer that fails, or is cut by a crash,
// leaves f as it was, and no reader sees a change half received. A body
// that fits one buff_size buffer is received into it and written with one
// pwrite (a small append costs half as much as through a temp file);
// a larger one goes to a temp file beside f (swept at the next start
// after a crash) and is then copied in, the only step that is not atomic.
func (s *Server) writeAt(cc *conn, f *os.File, offset, length int64, hold *reservation) error {
	bp := s.bufPool.Get().(*[]byte)
	if length <= int64(len(*bp)) {
		defer s.bufPool.Put(bp)
		return s.writeWhole(cc, f, offset, (*bp)[:length], hold)
	}
	s.bufPool.Put(bp)
	tmp, err := tmpfile.CreateTemp(filepath.Dir(f.Name()), s.tempPattern, fileMode)
	if err != nil {
		return fmt.Errorf("create temp file beside %s: %w", filepath.Base(f.Name()), err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if _, err := s.copyIn(cc, tmp, length, false, hold); err != nil {
		return err
	}
	body, err := os.Open(tmp.Name()) // tmp is write-only
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	n, err := io.Copy(f, body)
	if err == nil && n != length {
		err = fmt.Errorf("copied %d of %d bytes: %w", n, length, io.ErrShortWrite)
	}
	if err == nil && s.cfg.FsyncAfterWrittenBytes > 0 {
		err = f.Sync()
	}
	return err
}

// writeWhole receives a body whole into buf, then writes it into f at
// offset with one pwrite, fsyncing f when acknowledgements are durable.
func (s *Server) writeWhole(cc *conn, f *os.File, offset int64, buf []byte, hold *reservation) error {
	if len(buf) == 0 {
		return nil // nothing to write: no write counted, as upstream
	}
	if _, err := io.ReadFull(&cc.body, buf); err != nil {
		return err
	}
	_, err := f.WriteAt(buf, offset)
	s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileWriteCount, &b.SuccessFileWriteCount, err == nil) })
	if err != nil {
		return err
	}
	hold.wrote(int64(len(buf)))
	if s.cfg.FsyncAfterWrittenBytes > 0 {
		return f.Sync()
	}
	return nil
}

// handleModify serves MODIFY_FILE (34).
func (s *Server) handleModify(cc *conn, h protocol.Header) error {
	return s.handleWrite(cc, modifyCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.modifyFile(cc, h, start, a, size)
	})
}

// modifyFile overwrites a range of an appender file; an offset at the end
// is an append, which is why only then a failed transfer cuts the file
// back (a range inside the file has no old content to restore).
func (s *Server) modifyFile(cc *conn, h protocol.Header, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	head, err := readHead(cc, h, protocol.ModifyHeadLen, protocol.DecodeModifyHead)
	if err != nil {
		return nil, err
	}
	n, path, err := s.readAppenderName(cc, head.NameLen)
	if err != nil {
		return nil, err
	}
	a.name = n
	offset, length := head.Offset, head.Length
	if offset < 0 || length < 0 || length != cc.body.N {
		return nil, fmt.Errorf("modify offset %d length %d, body carries %d: %w", offset, length, cc.body.N, protocol.ErrInvalid)
	}
	name := n.Name()
	defer s.lockName(name).Unlock()
	f, cur, err := s.openForChange(cc, path, a)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if offset > cur {
		return nil, fmt.Errorf("modify offset %d > file size %d: %w", offset, cur, protocol.ErrInvalid)
	}
	if length > 0 { // upstream answers an empty modify before any disk I/O
		s.changeReached(cc, a)
	}
	hold, err := s.reserveWrite(n.StorePathIndex, cur, offset, length)
	if err != nil {
		return nil, err
	}
	defer hold.release()
	if err := s.writeAt(cc, f, offset, length, hold); err != nil {
		return nil, err
	}
	*size = length
	if err := s.writeBinlog(start, binlog.OpModify, name, fmt.Sprintf("%d %d", offset, length)); err != nil {
		return nil, err
	}
	return nil, nil
}

// handleTruncate serves TRUNCATE_FILE (36).
func (s *Server) handleTruncate(cc *conn, h protocol.Header) error {
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return s.truncateFile(cc, h, start, a) }, func(b *protocol.StatBlock, ok bool, _ *ioAttempt) {
		tally(&b.TotalTruncateCount, &b.SuccessTruncateCount, ok)
	})
}

// truncateFile cuts or extends an appender file; the record carries the
// old size too, which lets a peer tell an already applied truncate.
func (s *Server) truncateFile(cc *conn, h protocol.Header, start time.Time, a *ioAttempt) ([]byte, error) {
	head, err := readHead(cc, h, protocol.TruncateHeadLen, protocol.DecodeTruncateHead)
	if err != nil {
		return nil, err
	}
	n, path, err := s.readAppenderName(cc, head.NameLen)
	if err != nil {
		return nil, err
	}
	a.name = n
	if cc.body.N != 0 {
		return nil, fmt.Errorf("truncate body has %d extra bytes: %w", cc.body.N, protocol.ErrInvalid)
	}
	newSize := head.NewSize
	if newSize < 0 {
		return nil, fmt.Errorf("truncate to %d: %w", newSize, protocol.ErrInvalid)
	}
	name := n.Name()
	defer s.lockName(name).Unlock()
	f, cur, err := s.openForChange(cc, path, a)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if newSize == cur {
		return nil, nil
	}
	s.changeReached(cc, a)
	if err := s.truncate(f, newSize); err != nil {
		return nil, err
	}
	if err := s.writeBinlog(start, binlog.OpTruncate, name, fmt.Sprintf("%d %d", cur, newSize)); err != nil {
		return nil, err
	}
	return nil, nil
}

// handleRegenerate serves REGENERATE_APPENDER_FILENAME (38): an appender
// file becomes a normal file under a new name that carries its final size
// and CRC32 (the old name's are stale once it was appended to). The file
// is linked under the new name and the old one removed (place), so a
// crash leaves one of the two names, never none; if the rename record
// cannot be written the file is moved back to its old name.
func (s *Server) handleRegenerate(cc *conn, h protocol.Header) error {
	start := time.Now()
	if h.Length < minAppenderNameLen || h.Length >= maxNameLen {
		return fmt.Errorf("regenerate body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	body, err := cc.readRest()
	if err != nil {
		return err
	}
	req, err := protocol.DecodeRegenerateRequest(body)
	if err != nil {
		return err
	}
	n, path, err := s.store.resolve(req.Name)
	if err != nil {
		return err
	}
	if !n.Appender {
		return fmt.Errorf("%s is not an appender file: %w", n.Name(), protocol.ErrInvalid)
	}
	old := n.Name()
	defer s.lockName(old).Unlock()
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	crc, err := s.fileCRC(path)
	if err != nil {
		return err
	}
	// The 7-character extension area of the old name is kept, as upstream.
	keep := old[len(old)-7:]
	f := fileid.Fields{Source: s.source(cc), Timestamp: start.Unix(), Size: fi.Size(), CRC32: crc}
	rename := func(to string) error { return tmpfile.RenameNoReplace(path, to) }
	name, err := s.place(rename, n.StorePathIndex, n.High, n.Low, f, n.Ext, keep)
	if err != nil {
		return err
	}
	if err := s.writeBinlog(start, binlog.OpRename, name, old); err != nil {
		s.unrename(name, path)
		return err
	}
	return cc.reply((&protocol.FileResponse{Group: s.cfg.GroupName, Name: name}).Encode())
}
