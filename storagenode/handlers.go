package storagenode

import (
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Name length limits of the appender commands (upstream checks them before
// parsing): at least a normal name, less than the 128-byte name buffer.
const (
	minAppenderNameLen = protocol.AppendMinFilenameLen
	maxNameLen         = protocol.MaxStorageFilenameLn
	sendChunk          = 4 << 20  // bytes per sendfile call; the write deadline is renewed per chunk
	smallDownload      = 64 << 10 // downloads up to this many bytes go out in one write with their header
	maxMetaFileSize    = 16 << 20
	tempPattern        = ".upload-*.tmp" // hidden temp files: never a valid file id
)

func (s *Server) checkGroup(g string) error {
	if g != s.cfg.GroupName {
		return fmt.Errorf("group %q is not ours (%q): %w", g, s.cfg.GroupName, protocol.ErrInvalid)
	}
	return nil
}

// lockName serialises the appender operations on one file name.
func (s *Server) lockName(name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(name))
	m := &s.fileLocks[h.Sum32()%uint32(len(s.fileLocks))]
	m.Lock()
	return m
}

// source returns bytes 0–3 of new names: the numeric server id in id mode
// (use_storage_id + id_type_in_filename=id), else our IPv4 address as
// bind_addr, as the trackers see it (GET_MY_IP), or as this connection's
// local address.
func (s *Server) source(cc *conn) fileid.Source {
	p := s.params.Load()
	if p.UseStorageID && p.IDInFilename {
		if src, err := fileid.SourceFromID(*s.myID.Load()); err == nil {
			return src
		}
	}
	candidates := []string{s.cfg.BindAddr, *s.myIP.Load()}
	if a, ok := cc.c.LocalAddr().(*net.TCPAddr); ok {
		candidates = append(candidates, a.IP.String())
	}
	for _, ip := range candidates {
		ip, _, _ = strings.Cut(ip, ",")
		if src, err := fileid.SourceFromIP(ip); err == nil {
			return src
		}
	}
	return fileid.Source{}
}

// receive streams size bytes of the request body into a new temp file in
// dir, using the space hold reserved for them, and returns its path and
// the CRC32 of the content. On any error the temp file is removed.
func (s *Server) receive(cc *conn, dir string, size int64, hold *reservation) (string, uint32, error) {
	f, err := os.CreateTemp(dir, tempPattern)
	s.countOpen(err == nil)
	if err != nil {
		return "", 0, fmt.Errorf("create temp file in %s: %w", dir, err)
	}
	// Stored files are world-readable as upstream makes them (0644), so
	// that an nginx serving the store paths directly keeps working.
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", 0, err
	}
	if size == 0 {
		// Upstream's disk thread writes the empty content once.
		s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileWriteCount, &b.SuccessFileWriteCount, true) })
	}
	crc, err := s.copyIn(cc, f, size, true, hold)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, err
	}
	return f.Name(), crc, nil
}

// copyIn copies size bytes from the request body to f at its current
// offset through one buff_size buffer, fsyncing every
// fsync_after_written_bytes and at the end when that is set. Each write is
// accounted to hold, the space reserved for it.
func (s *Server) copyIn(cc *conn, f *os.File, size int64, wantCRC bool, hold *reservation) (uint32, error) {
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	buf := *bp
	h := crc32.NewIEEE()
	var sinceSync int64
	every := s.cfg.FsyncAfterWrittenBytes
	for size > 0 {
		n := int(min(int64(len(buf)), size))
		if _, err := io.ReadFull(&cc.body, buf[:n]); err != nil {
			return 0, err
		}
		_, err := f.Write(buf[:n])
		s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileWriteCount, &b.SuccessFileWriteCount, err == nil) })
		if err != nil {
			return 0, err
		}
		hold.wrote(int64(n))
		if wantCRC {
			h.Write(buf[:n])
		}
		size -= int64(n)
		sinceSync += int64(n)
		if every > 0 && sinceSync >= every {
			if err := f.Sync(); err != nil {
				return 0, err
			}
			sinceSync = 0
		}
	}
	if every > 0 && sinceSync > 0 {
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	return h.Sum32(), nil
}

// place moves the temp file tmp to a fresh final name built from f (up to
// maxNameRetries attempts at a unique name) and returns the name. keepExt,
// when non-empty, replaces the generated 7-character extension area.
func (s *Server) place(tmp string, idx, high, low int, f fileid.Fields, ext, keepExt string) (string, error) {
	for range maxNameRetries {
		name, err := fileid.Generate(idx, high, low, f, ext)
		if err != nil {
			return "", err
		}
		if keepExt != "" {
			name = name[:len(name)-len(keepExt)] + keepExt
		}
		if !s.store.reserve(name) {
			continue
		}
		n, path, err := s.store.resolve(name)
		if err != nil || n == nil {
			s.store.release(name)
			return "", err
		}
		err = os.Link(tmp, path)
		s.store.release(name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		os.Remove(tmp)
		return name, nil
	}
	return "", fmt.Errorf("can't generate a unique file name: %w", protocol.ErrExists)
}

func (s *Server) writeBinlog(ts time.Time, op binlog.Op, name, extra string) error {
	if err := s.bl.Write(ts.Unix(), op, name, extra); err != nil {
		s.log.Error("binlog write failed", "op", string(op), "name", name, "err", err)
		return fmt.Errorf("binlog: %w", protocol.ErrIO)
	}
	return nil
}

// writeCounters selects the total/success count and byte counters of one
// kind of content-carrying write in the stat block.
type writeCounters func(b *protocol.StatBlock) (total, success, totalBytes, successBytes *int64)

func uploadCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalUploadCount, &b.SuccessUploadCount, &b.TotalUploadBytes, &b.SuccessUploadBytes
}

func appendCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalAppendCount, &b.SuccessAppendCount, &b.TotalAppendBytes, &b.SuccessAppendBytes
}

func modifyCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalModifyCount, &b.SuccessModifyCount, &b.TotalModifyBytes, &b.SuccessModifyBytes
}

// Requests are counted as upstream counts them: in the callback of their
// disk I/O, so only once they got past the checks upstream makes before it
// queues that I/O. A request refused by those checks (bad arguments, file
// missing or not regular, not an appender file, offset past the end,
// nothing to do) is counted nowhere, not even in total_*_count, and
// neither are its file opens; nor is one whose connection failed while its
// content was moving (upstream drops the task without calling back). The
// ioAttempt of a request records how far it got.
type ioAttempt struct {
	reached  bool  // got to its disk I/O
	bodyLeft int64 // request body bytes not read yet at that point
	link     bool  // a delete of a symbolic link (delete_link counters)
}

// reach marks the start of the request's disk I/O.
func (a *ioAttempt) reach(cc *conn) {
	a.reached = true
	a.bodyLeft = cc.body.N
}

func isConnError(err error) bool {
	var ce *connError
	return errors.As(err, &ce)
}

// errNotRegular marks an open refused because the path is not a regular
// file.
var errNotRegular = errors.New("not a regular file")

// missingFile tells the open failures upstream finds with its stat before
// any disk I/O: no such file, or not a regular file.
func missingFile(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, protocol.ErrNotFound) || errors.Is(err, errNotRegular) ||
		errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR)
}

// countOpen counts a file open (upstream: dio_open_file).
func (s *Server) countOpen(ok bool) {
	s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileOpenCount, &b.SuccessFileOpenCount, ok) })
}

// handleChange runs op, a change of a stored file, counts it with count if
// it got to its disk I/O (ok when op succeeded, which also stamps the last
// source update), then replies.
func (s *Server) handleChange(cc *conn, op func(start time.Time, a *ioAttempt) ([]byte, error), count func(b *protocol.StatBlock, ok bool, a *ioAttempt)) error {
	start := time.Now()
	var a ioAttempt
	reply, err := op(start, &a)
	if a.reached && !isConnError(err) {
		s.stats.update(func(b *protocol.StatBlock) {
			count(b, err == nil, &a)
			if err == nil {
				b.LastSourceUpdate = start.Unix()
			}
		})
	}
	if err != nil {
		return err
	}
	return cc.reply(reply)
}

// handleWrite runs a content-carrying write, counts it and its bytes
// (success only when op succeeded; a failed one adds the content bytes it
// received, as upstream adds what it received), then replies.
func (s *Server) handleWrite(cc *conn, counters writeCounters, op func(start time.Time, a *ioAttempt, size *int64) ([]byte, error)) error {
	var size int64
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return op(start, a, &size) }, func(b *protocol.StatBlock, ok bool, a *ioAttempt) {
		total, success, totalBytes, successBytes := counters(b)
		tally(total, success, ok)
		if ok {
			*totalBytes += size
			*successBytes += size
		} else {
			*totalBytes += a.bodyLeft - cc.body.N
		}
	})
}

// readAttempt records how far a read request (download, get metadata) got,
// for its counters.
type readAttempt struct {
	reached bool  // got past the checks made before upstream's disk read
	want    int64 // content bytes to send
	read    bool  // every byte was read from the file
	fileErr bool  // the file failed the transfer, not the client
	sent    int64 // content bytes sent
}

// countRead counts a read request as upstream's done callback: success
// once the last bytes were read from the file (upstream calls back before
// it sends them), total only for a failure of the file; a connection that
// failed earlier is not counted. totalBytes and successBytes may be nil.
func (s *Server) countRead(r *readAttempt, err error, counters writeCounters) {
	if !r.reached {
		return
	}
	ok := r.read && (err == nil || isConnError(err))
	if !ok && isConnError(err) && !r.fileErr {
		return
	}
	s.stats.update(func(b *protocol.StatBlock) {
		total, success, totalBytes, successBytes := counters(b)
		tally(total, success, ok)
		switch {
		case totalBytes == nil:
		case ok:
			*totalBytes += r.want
			*successBytes += r.want
		default:
			*totalBytes += r.sent
		}
	})
}

// tally counts one attempt in total and, when ok, in success.
func tally(total, success *int64, ok bool) {
	*total++
	if ok {
		*success++
	}
}

func (s *Server) handleUpload(cc *conn, h protocol.Header, appender bool) error {
	return s.handleWrite(cc, uploadCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.upload(cc, h, appender, start, a, size)
	})
}

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
	src := s.source(cc)
	provisional := fileid.Encode20(src, start.Unix(), fileid.MaskSize(req.FileSize, appender, false), rand.Uint32())
	high, low := s.store.nextDir(provisional)
	a.reach(cc)
	tmp, crc, err := s.receive(cc, s.store.dirOf(idx, high, low), req.FileSize, hold)
	if err != nil {
		return nil, err
	}
	*size = req.FileSize
	fi, err := os.Stat(tmp)
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	f := fileid.Fields{Source: src, Timestamp: fi.ModTime().Unix(), Size: req.FileSize, CRC32: crc, Appender: appender}
	name, err := s.place(tmp, idx, high, low, f, req.Ext, "")
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := s.writeBinlog(start, binlog.OpCreate, name, ""); err != nil {
		return nil, err
	}
	return (&protocol.FileResponse{Group: s.cfg.GroupName, Name: name}).Encode(), nil
}

func (s *Server) handleUploadSlave(cc *conn, h protocol.Header) error {
	return s.handleWrite(cc, uploadCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.uploadSlave(cc, h, start, a, size)
	})
}

func (s *Server) uploadSlave(cc *conn, h protocol.Header, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	if h.Length < protocol.UploadSlaveHeadLen {
		return nil, fmt.Errorf("slave upload body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	head, err := cc.readBody(protocol.UploadSlaveHeadLen)
	if err != nil {
		return nil, err
	}
	masterLen := int64FromBE(head[0:8])
	fileSize := int64FromBE(head[8:16])
	if masterLen <= protocol.SlaveMasterMinLen || masterLen >= maxNameLen {
		return nil, fmt.Errorf("master name length %d: %w", masterLen, protocol.ErrInvalid)
	}
	if fileSize < 0 || fileSize != h.Length-protocol.UploadSlaveHeadLen-masterLen {
		return nil, fmt.Errorf("slave file_size %d does not match the body: %w", fileSize, protocol.ErrInvalid)
	}
	master, err := cc.readBody(masterLen)
	if err != nil {
		return nil, err
	}
	req, _, err := protocol.DecodeUploadSlaveRequest(append(head, master...))
	if err != nil {
		return nil, err
	}
	if req.Prefix == "" {
		return nil, fmt.Errorf("empty slave prefix: %w", protocol.ErrInvalid)
	}
	mn, mpath, err := s.store.resolve(req.MasterName)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(mpath); err != nil {
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
	tmp, _, err := s.receive(cc, s.store.dirOf(mn.StorePathIndex, mn.High, mn.Low), req.FileSize, hold)
	if err != nil {
		return nil, err
	}
	*size = req.FileSize
	err = os.Link(tmp, spath)
	os.Remove(tmp)
	if err != nil {
		return nil, fmt.Errorf("slave %s: %w", slave, err)
	}
	if err := s.writeBinlog(start, binlog.OpCreate, slave, ""); err != nil {
		return nil, err
	}
	return (&protocol.FileResponse{Group: s.cfg.GroupName, Name: slave}).Encode(), nil
}

func int64FromBE(b []byte) int64 {
	d := protocol.NewDecoder(b)
	return d.Int64()
}

func downloadCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalDownloadCount, &b.SuccessDownloadCount, &b.TotalDownloadBytes, &b.SuccessDownloadBytes
}

func getMetaCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalGetMetaCount, &b.SuccessGetMetaCount, nil, nil
}

func (s *Server) handleDownload(cc *conn, h protocol.Header) error {
	var r readAttempt
	err := s.download(cc, &r)
	s.countRead(&r, err, downloadCounters)
	return err
}

func (s *Server) download(cc *conn, r *readAttempt) error {
	body, err := cc.readRest()
	if err != nil {
		return err
	}
	req, err := protocol.DecodeDownloadRequest(body)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	if req.Offset < 0 || req.Length < 0 {
		return fmt.Errorf("download offset %d length %d: %w", req.Offset, req.Length, protocol.ErrInvalid)
	}
	_, path, err := s.store.resolve(req.Name)
	if err != nil {
		return err
	}
	rf, err := s.openFile(path)
	if err != nil {
		if !missingFile(err) {
			r.reached = true
			s.countOpen(false)
		}
		return err
	}
	defer rf.Close()
	size := rf.Size()
	if req.Offset >= size {
		return fmt.Errorf("download offset %d >= file size %d: %w", req.Offset, size, protocol.ErrInvalid)
	}
	n := size - req.Offset
	if req.Length > 0 && req.Length < n {
		n = req.Length
	}
	r.reached, r.want = true, n
	s.countOpen(true)
	if n <= smallDownload {
		return s.sendSmall(cc, rf, req.Offset, n, r)
	}
	f := rf.OS()
	defer f.Close()
	if _, err := f.Seek(req.Offset, io.SeekStart); err != nil {
		return err
	}
	if err := protocol.WriteHeader(cc, protocol.Header{Length: n, Cmd: protocol.CmdResp}); err != nil {
		return err
	}
	return s.sendFile(cc, f, n, r)
}

// sendSmall answers a download of n <= smallDownload bytes with one write
// of header and content read into a pooled buffer: the client gets the
// whole answer in one segment, where a header write and a sendfile cost
// two writes here and usually two reads there.
func (s *Server) sendSmall(cc *conn, f *regfile.File, offset, n int64, r *readAttempt) error {
	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	buf := (*bp)[:protocol.HeaderSize+n]
	_, err := f.ReadAt(buf[protocol.HeaderSize:], offset)
	s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileReadCount, &b.SuccessFileReadCount, err == nil) })
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The file shrank between the stat and the read.
			err = fmt.Errorf("file truncated during download: %w", protocol.ErrInvalid)
		}
		return err
	}
	r.read = true
	protocol.Header{Length: n, Cmd: protocol.CmdResp}.Put(buf)
	cc.c.SetWriteDeadline(time.Now().Add(s.cfg.NetworkTimeout))
	if _, err := cc.c.Write(buf); err != nil {
		return &connError{err}
	}
	r.sent += n
	return nil
}

// smallBufs holds the header+content buffers of sendSmall.
var smallBufs = sync.Pool{New: func() any {
	b := make([]byte, protocol.HeaderSize+smallDownload)
	return &b
}}

// sendFile copies n bytes from f to the client with sendfile (io.Copy from
// an *os.File into a *net.TCPConn), renewing the write deadline per chunk.
func (s *Server) sendFile(cc *conn, f *os.File, n int64, r *readAttempt) error {
	for n > 0 {
		chunk := min(n, sendChunk)
		cc.c.SetWriteDeadline(time.Now().Add(s.cfg.NetworkTimeout))
		w, err := io.Copy(cc.c, io.LimitReader(f, chunk))
		r.sent += w
		n -= w
		s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileReadCount, &b.SuccessFileReadCount, err == nil) })
		if err != nil {
			return &connError{err}
		}
		if w < chunk {
			// The file shrank under us: the announced length cannot be met.
			r.fileErr = true
			return &connError{fmt.Errorf("file truncated during download")}
		}
	}
	r.read = true
	return nil
}

// openRegular opens path for reading, refusing anything but a regular file
// (a symlink to one is fine: slave links), and returns its FileInfo.
func (s *Server) openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := s.openFile(path)
	if err != nil {
		return nil, nil, err
	}
	fi := f.Info()
	return f.OS(), fi, nil
}

// openFile is openRegular without an *os.File (regfile.File: fewer
// syscalls for a file read in one call). Neither counts the open: callers
// do, where upstream's disk I/O would open the file.
func (s *Server) openFile(path string) (*regfile.File, error) {
	f, err := regfile.OpenFile(path)
	if errors.Is(err, regfile.ErrNotRegular) {
		err = fmt.Errorf("%s is not a regular file: %w", filepath.Base(path), protocol.ErrNotFound)
	}
	return f, err
}

// readFileRequest reads a "group16 + name" body and resolves the name.
func (s *Server) readFileRequest(cc *conn) (*fileid.Name, string, error) {
	body, err := cc.readRest()
	if err != nil {
		return nil, "", err
	}
	req, err := protocol.DecodeFileRequest(body)
	if err != nil {
		return nil, "", err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return nil, "", err
	}
	return s.store.resolve(req.Name)
}

func (s *Server) handleDelete(cc *conn, h protocol.Header) error {
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return s.delete(cc, start, a) }, func(b *protocol.StatBlock, ok bool, a *ioAttempt) {
		if a.link {
			tally(&b.TotalDeleteLinkCount, &b.SuccessDeleteLinkCount, ok)
		} else {
			tally(&b.TotalDeleteCount, &b.SuccessDeleteCount, ok)
		}
	})
}

func (s *Server) delete(cc *conn, start time.Time, a *ioAttempt) ([]byte, error) {
	n, path, err := s.readFileRequest(cc)
	if err != nil {
		return nil, err
	}
	name := n.Name()
	defer s.lockName(name).Unlock()
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory: %w", name, protocol.ErrNotFound)
	}
	a.reach(cc)
	a.link = fi.Mode()&fs.ModeSymlink != 0
	if err := os.Remove(path); err != nil {
		return nil, err
	}
	if err := s.writeBinlog(start, binlog.OpDelete, name, ""); err != nil {
		return nil, err
	}
	if err := os.Remove(path + "-m"); err == nil {
		if err := s.writeBinlog(start, binlog.OpDelete, name+"-m", ""); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Server) handleSetMetadata(cc *conn, h protocol.Header) error {
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return s.setMetadata(cc, start, a) }, func(b *protocol.StatBlock, ok bool, _ *ioAttempt) {
		tally(&b.TotalSetMetaCount, &b.SuccessSetMetaCount, ok)
	})
}

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
	name := n.Name()
	defer s.lockName(name).Unlock()
	if _, err := os.Stat(path); err != nil {
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
	if err := atomicfile.WriteFile(metaPath, protocol.PackMeta(meta), fileMode); err != nil {
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

func (s *Server) handleGetMetadata(cc *conn, h protocol.Header) error {
	var r readAttempt
	err := s.getMetadata(cc, &r)
	s.countRead(&r, err, getMetaCounters)
	return err
}

func (s *Server) getMetadata(cc *conn, r *readAttempt) error {
	_, path, err := s.readFileRequest(cc)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	f, fi, err := s.openRegular(path + "-m")
	if err != nil {
		if !missingFile(err) {
			r.reached = true
			s.countOpen(false)
		}
		return err
	}
	defer f.Close()
	r.reached, r.want = true, fi.Size()
	s.countOpen(true)
	if fi.Size() == 0 {
		// Upstream's disk thread reads the empty file once.
		s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileReadCount, &b.SuccessFileReadCount, true) })
	}
	if err := protocol.WriteHeader(cc, protocol.Header{Length: fi.Size(), Cmd: protocol.CmdResp}); err != nil {
		return err
	}
	return s.sendFile(cc, f, fi.Size(), r)
}

func (s *Server) handleQueryFileInfo(cc *conn, h protocol.Header) error {
	n, path, err := s.readFileRequest(cc)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: %w", n.Name(), protocol.ErrNotFound)
	}
	crc := n.CRC32
	if n.Appender || n.Slave {
		crc = 0
		if h.Status&protocol.FileInfoNoCRC == 0 {
			if crc, err = s.fileCRC(path); err != nil {
				return err
			}
		}
	}
	p := s.params.Load()
	ip := n.SourceIP
	if n.SourceID != "" {
		if ips := p.StorageIDs[n.SourceID]; len(ips) > 0 {
			ip = ips[0]
		}
	}
	resp := protocol.FileInfoResponse{Size: fi.Size(), CreateTime: fi.ModTime().Unix(), CRC32: crc, SourceIP: ip}
	return cc.reply(resp.Encode(p.ResponseIPSize))
}

// fileCRC computes the CRC32 of a whole file through a pooled buffer.
// It counts the open and each buffer read, as upstream's disk thread does
// when it computes a CRC32 (an empty file is read once).
func (s *Server) fileCRC(path string) (uint32, error) {
	f, _, err := s.openRegular(path)
	s.countOpen(err == nil)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	h := crc32.NewIEEE()
	read := func(ok bool) {
		s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileReadCount, &b.SuccessFileReadCount, ok) })
	}
	for reads := 0; ; reads++ {
		n, err := io.ReadFull(f, *bp)
		h.Write((*bp)[:n])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if n > 0 || reads == 0 {
				read(true)
			}
			return h.Sum32(), nil
		}
		read(err == nil)
		if err != nil {
			return 0, err
		}
	}
}

// readAppenderHead reads the fixed head and the name of an append, modify
// or truncate request, applies upstream's length checks and resolves the
// name, which must be an appender file.
func (s *Server) readAppenderHead(cc *conn, h protocol.Header, headLen int) ([]byte, *fileid.Name, string, error) {
	if h.Length < int64(headLen) {
		return nil, nil, "", fmt.Errorf("body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	head, err := cc.readBody(int64(headLen))
	if err != nil {
		return nil, nil, "", err
	}
	nameLen := int64FromBE(head[0:8])
	if nameLen < minAppenderNameLen || nameLen >= maxNameLen || nameLen > cc.body.N {
		return nil, nil, "", fmt.Errorf("file name length %d: %w", nameLen, protocol.ErrInvalid)
	}
	nb, err := cc.readBody(nameLen)
	if err != nil {
		return nil, nil, "", err
	}
	n, path, err := s.store.resolve(string(nb))
	if err != nil {
		return nil, nil, "", err
	}
	if !n.Appender {
		return nil, nil, "", fmt.Errorf("%s is not an appender file: %w", n.Name(), protocol.ErrInvalid)
	}
	return head, n, path, nil
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

func (s *Server) handleAppend(cc *conn, h protocol.Header) error {
	return s.handleWrite(cc, appendCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.appendFile(cc, h, start, a, size)
	})
}

func (s *Server) appendFile(cc *conn, h protocol.Header, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	head, n, path, err := s.readAppenderHead(cc, h, protocol.AppendHeadLen)
	if err != nil {
		return nil, err
	}
	length := int64FromBE(head[8:16])
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
	if err := s.writeAt(cc, f, at, length, at, hold); err != nil {
		return nil, err
	}
	*size = length
	if err := s.writeBinlog(start, binlog.OpAppend, name, fmt.Sprintf("%d %d", at, length)); err != nil {
		return nil, err
	}
	return nil, nil
}

// writeAt streams length body bytes into f at offset, accounting them to
// hold (reserveWrite). If the transfer fails the file is cut back to
// restoreSize (-1: leave it), so a dropped append leaves no partial tail.
func (s *Server) writeAt(cc *conn, f *os.File, offset, length, restoreSize int64, hold *reservation) error {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	_, err := s.copyIn(cc, f, length, false, hold)
	if err != nil && restoreSize >= 0 {
		if terr := f.Truncate(restoreSize); terr != nil {
			s.log.Error("cannot undo a failed append", "file", f.Name(), "err", terr)
		}
	}
	return err
}

func (s *Server) handleModify(cc *conn, h protocol.Header) error {
	return s.handleWrite(cc, modifyCounters, func(start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
		return s.modifyFile(cc, h, start, a, size)
	})
}

func (s *Server) modifyFile(cc *conn, h protocol.Header, start time.Time, a *ioAttempt, size *int64) ([]byte, error) {
	head, n, path, err := s.readAppenderHead(cc, h, protocol.ModifyHeadLen)
	if err != nil {
		return nil, err
	}
	offset, length := int64FromBE(head[8:16]), int64FromBE(head[16:24])
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
	restore := int64(-1)
	if offset == cur {
		restore = cur
	}
	hold, err := s.reserveWrite(n.StorePathIndex, cur, offset, length)
	if err != nil {
		return nil, err
	}
	defer hold.release()
	if err := s.writeAt(cc, f, offset, length, restore, hold); err != nil {
		return nil, err
	}
	*size = length
	if err := s.writeBinlog(start, binlog.OpModify, name, fmt.Sprintf("%d %d", offset, length)); err != nil {
		return nil, err
	}
	return nil, nil
}

func (s *Server) handleTruncate(cc *conn, h protocol.Header) error {
	return s.handleChange(cc, func(start time.Time, a *ioAttempt) ([]byte, error) { return s.truncateFile(cc, h, start, a) }, func(b *protocol.StatBlock, ok bool, _ *ioAttempt) {
		tally(&b.TotalTruncateCount, &b.SuccessTruncateCount, ok)
	})
}

func (s *Server) truncateFile(cc *conn, h protocol.Header, start time.Time, a *ioAttempt) ([]byte, error) {
	head, n, path, err := s.readAppenderHead(cc, h, protocol.TruncateHeadLen)
	if err != nil {
		return nil, err
	}
	if cc.body.N != 0 {
		return nil, fmt.Errorf("truncate body has %d extra bytes: %w", cc.body.N, protocol.ErrInvalid)
	}
	newSize := int64FromBE(head[8:16])
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
	if err := f.Truncate(newSize); err != nil {
		return nil, err
	}
	if err := s.writeBinlog(start, binlog.OpTruncate, name, fmt.Sprintf("%d %d", cur, newSize)); err != nil {
		return nil, err
	}
	return nil, nil
}

func (s *Server) handleRegenerate(cc *conn, h protocol.Header) error {
	start := time.Now()
	if h.Length < minAppenderNameLen || h.Length >= maxNameLen {
		return fmt.Errorf("regenerate body of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	body, err := cc.readRest()
	if err != nil {
		return err
	}
	n, path, err := s.store.resolve(string(body))
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
	name, err := s.place(path, n.StorePathIndex, n.High, n.Low, f, n.Ext, keep)
	if err != nil {
		return err
	}
	if err := s.writeBinlog(start, binlog.OpRename, name, old); err != nil {
		return err
	}
	return cc.reply((&protocol.FileResponse{Group: s.cfg.GroupName, Name: name}).Encode())
}
