package storagenode

// The read handlers: download, metadata and file info, and the sendfile
// path they share.

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

func downloadCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalDownloadCount, &b.SuccessDownloadCount, &b.TotalDownloadBytes, &b.SuccessDownloadBytes
}

func getMetaCounters(b *protocol.StatBlock) (*int64, *int64, *int64, *int64) {
	return &b.TotalGetMetaCount, &b.SuccessGetMetaCount, nil, nil
}

// handleDownload serves DOWNLOAD_FILE (14). The counters are settled after
// the transfer (countRead), as upstream's done callback settles them.
func (s *Server) handleDownload(cc *conn, h protocol.Header) error {
	var r readAttempt
	err := s.download(cc, &r)
	s.countRead(&r, err, downloadCounters)
	return err
}

// download sends the requested range: small ones in one write with their
// header (sendSmall), larger ones by sendfile. Length 0 means to the end;
// an offset at or past the end is EINVAL, as upstream, but for what
// openDownload serves to the group's members (membersOnly).
func (s *Server) download(cc *conn, r *readAttempt) error {
	body, err := cc.readRest()
	if err != nil {
		return err
	}
	rf, offset, n, err := s.openDownload(body, r, math.MaxInt64, false)
	var mo *membersOnly
	if errors.As(err, &mo) {
		if s.syncAllowed(cc, protocol.CmdDownloadFile) != nil {
			return mo.err
		}
		rf, offset, n, err = s.openDownload(body, r, math.MaxInt64, true)
	}
	if addrs := s.peersFor(cc.c.RemoteAddr(), err); addrs != nil {
		return s.readFromPeers(cc, protocol.CmdDownloadFile, 0, body, addrs, err, r)
	}
	if err != nil {
		return err
	}
	defer rf.Close()
	if n <= smallDownload {
		err := s.sendSmall(cc, rf, offset, n, r)
		if addrs := s.peersFor(cc.c.RemoteAddr(), err); addrs != nil {
			return s.readFromPeers(cc, protocol.CmdDownloadFile, 0, body, addrs, err, r)
		}
		return err
	}
	f := rf.f.OS()
	defer f.Close()
	if _, err := f.Seek(rf.base+offset, io.SeekStart); err != nil {
		return err
	}
	if err := protocol.WriteHeader(cc, protocol.Header{Length: n, Cmd: protocol.CmdResp}); err != nil {
		return err
	}
	return s.sendFile(cc, f, n, r)
}

// errNotSmall is openDownload's answer for a range longer than its limit.
var errNotSmall = errors.New("download longer than the limit")

// membersOnly is openDownload's answer, when the caller has not checked
// that a member of the group asks, for what it serves to members only;
// err is the answer for anybody else. Upstream's disk recovery downloads
// every file of its peer's binlog and retries one refused for good: trunk
// files whole, by their own names ("M00/HH/LL/NNNNNN"; to anybody else
// that would hand out every file in them without their IDs, EPERM), and
// empty files (EINVAL to a client, as upstream answers; upstream's own
// recovery stalls on one).
type membersOnly struct{ err error }

func (e *membersOnly) Error() string { return e.err.Error() }
func (e *membersOnly) Unwrap() error { return e.err }

// openDownload opens the file a DOWNLOAD_FILE body names and returns the
// range to send (offset, n bytes), counting the open. A range longer
// than limit bytes is errNotSmall, the file closed again and nothing
// counted (the loop hands such a download to serveConn, which opens it
// once more: one open more per download over 64 KiB). What is served to
// members only (a whole trunk file, an empty file) is when member says a
// member of the group asks, else the answer is a *membersOnly.
func (s *Server) openDownload(body []byte, r *readAttempt, limit int64, member bool) (rf *content, offset, n int64, err error) {
	req, err := protocol.DecodeDownloadRequest(body)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return nil, 0, 0, err
	}
	if req.Offset < 0 || req.Length < 0 {
		return nil, 0, 0, fmt.Errorf("download offset %d length %d: %w", req.Offset, req.Length, protocol.ErrInvalid)
	}
	if loc, ok := trunk.ParseFileName(req.Name); ok {
		if !member {
			return nil, 0, 0, &membersOnly{fmt.Errorf("whole trunk file %s, served to the group's members only: %w", req.Name, protocol.ErrPermission)}
		}
		rf, err = s.store.openTrunkFile(loc)
	} else {
		var name *fileid.Name
		var path string
		if name, path, err = s.store.resolve(req.Name); err != nil {
			return nil, 0, 0, err
		}
		rf, err = s.store.open(name, path)
		err = s.store.absent(err, name)
	}
	if err != nil {
		if !missingFile(err) {
			r.reached = true
			s.countOpen(false)
		}
		return nil, 0, 0, err
	}
	size := rf.size
	if req.Offset >= size {
		err := fmt.Errorf("download offset %d >= file size %d: %w", req.Offset, size, protocol.ErrInvalid)
		if size == 0 && req.Offset == 0 {
			if member {
				r.reached = true
				s.countOpen(true)
				return rf, 0, 0, nil
			}
			err = &membersOnly{err}
		}
		rf.Close()
		return nil, 0, 0, err
	}
	n = size - req.Offset
	if req.Length > 0 && req.Length < n {
		n = req.Length
	}
	if n > limit {
		rf.Close()
		return nil, 0, 0, errNotSmall
	}
	r.reached, r.want = true, n
	s.countOpen(true)
	return rf, req.Offset, n, nil
}

// sendSmall answers a download of n <= smallDownload bytes with one write
// of header and content read into a pooled buffer: the client gets the
// whole answer in one segment, where a header write and a sendfile cost
// two writes here and usually two reads there.
func (s *Server) sendSmall(cc *conn, f *content, offset, n int64, r *readAttempt) error {
	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	buf, err := s.appendSmall((*bp)[:0], f, offset, n, r)
	if err != nil {
		return err
	}
	if _, err := cc.Write(buf); err != nil {
		return err
	}
	r.sent += n
	return nil
}

// appendSmall appends the reply to a download of n bytes, its header and
// the content read from f at offset, to out. On error out comes back as
// it was.
func (s *Server) appendSmall(out []byte, f *content, offset, n int64, r *readAttempt) ([]byte, error) {
	start := len(out)
	out = slices.Grow(out, protocol.HeaderSize+int(n))[:start+protocol.HeaderSize+int(n)]
	_, err := f.ReadAt(out[start+protocol.HeaderSize:], offset)
	s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileReadCount, &b.SuccessFileReadCount, err == nil) })
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The file shrank between the stat and the read.
			err = fmt.Errorf("file truncated during download: %w", protocol.ErrInvalid)
		} else if f.name != nil {
			err = s.store.absent(err, f.name) // a disk fault: lost
		}
		return out[:start], err
	}
	r.read = true
	protocol.Header{Length: n, Cmd: protocol.CmdResp}.Put(out[start:])
	return out, nil
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
		cc.sent += w
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
	return s.fileRequest(body)
}

// fileRequest decodes a "group16 + name" body and resolves the name.
func (s *Server) fileRequest(body []byte) (*fileid.Name, string, error) {
	req, err := protocol.DecodeFileRequest(body)
	if err != nil {
		return nil, "", err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return nil, "", err
	}
	return s.store.resolve(req.Name)
}

// handleGetMetadata serves GET_METADATA (15): the packed -m file as is.
func (s *Server) handleGetMetadata(cc *conn, h protocol.Header) error {
	var r readAttempt
	err := s.getMetadata(cc, &r)
	s.countRead(&r, err, getMetaCounters)
	return err
}

// getMetadata checks the file itself first: metadata of a deleted file is
// ENOENT even if a stray -m file is left.
func (s *Server) getMetadata(cc *conn, r *readAttempt) error {
	body, err := cc.readRest()
	if err != nil {
		return err
	}
	n, path, err := s.fileRequest(body)
	if err != nil {
		return err
	}
	if _, _, err := s.store.stat(n, path); err != nil {
		err = s.store.absent(err, n)
		if addrs := s.peersFor(cc.c.RemoteAddr(), err); addrs != nil {
			return s.readFromPeers(cc, protocol.CmdGetMetadata, 0, body, addrs, err, r)
		}
		return err
	}
	f, fi, err := s.openRegular(path + "-m")
	if err != nil {
		if !missingFile(err) {
			r.reached = true
			s.countOpen(false)
		}
		if diskFault(err) {
			err = s.store.absent(err, n)
			if addrs := s.peersFor(cc.c.RemoteAddr(), err); addrs != nil {
				return s.readFromPeers(cc, protocol.CmdGetMetadata, 0, body, addrs, err, r)
			}
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

// appendMetadata appends GET_METADATA's whole reply for body to out, as
// getMetadata sends it, when the metadata file is at most smallDownload
// bytes; errNotSmall (nothing counted) when it is larger.
func (s *Server) appendMetadata(body, out []byte, r *readAttempt) ([]byte, error) {
	n, path, err := s.fileRequest(body)
	if err != nil {
		return out, err
	}
	if _, _, err := s.store.stat(n, path); err != nil {
		return out, s.store.absent(err, n)
	}
	f, err := s.openFile(path + metaSuffix)
	if err != nil {
		if !missingFile(err) {
			r.reached = true
			s.countOpen(false)
		}
		if diskFault(err) {
			err = s.store.absent(err, n) // asked of the peers (loop: handed off)
		}
		return out, err
	}
	defer f.Close()
	size := f.Size()
	if size > smallDownload {
		return out, errNotSmall
	}
	r.reached, r.want = true, size
	s.countOpen(true)
	start := len(out)
	out = slices.Grow(out, protocol.HeaderSize+int(size))[:start+protocol.HeaderSize+int(size)]
	_, err = f.ReadAt(out[start+protocol.HeaderSize:], 0)
	s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileReadCount, &b.SuccessFileReadCount, err == nil) })
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("metadata of %s shrank while read: %w", n.Name(), protocol.ErrAgain)
		}
		return out[:start], err
	}
	r.read = true
	protocol.Header{Length: size, Cmd: protocol.CmdResp}.Put(out[start:])
	return out, nil
}

// handleQueryFileInfo serves QUERY_FILE_INFO (22). A normal file's CRC32
// is in its name; appender and slave files change or are derived after
// naming, so theirs is computed from the content unless the client set
// FileInfoNoCRC in the header status. The source IP is the id's first
// address in id mode, as upstream resolves it from storage_ids.
func (s *Server) handleQueryFileInfo(cc *conn, h protocol.Header) error {
	body, err := cc.readRest()
	if err != nil {
		return err
	}
	n, path, err := s.fileRequest(body)
	if err != nil {
		return err
	}
	resp, err := s.fileInfo(n, path, h.Status)
	if addrs := s.peersFor(cc.c.RemoteAddr(), err); addrs != nil {
		return s.readFromPeers(cc, protocol.CmdQueryFileInfo, h.Status, body, addrs, err, &readAttempt{})
	}
	if err != nil {
		return err
	}
	return cc.reply(resp)
}

// needsCRC reports whether QUERY_FILE_INFO must read the whole file: the
// CRC32 of an appender or slave file, unless the client set FileInfoNoCRC.
func needsCRC(n *fileid.Name, flags byte) bool {
	return (n.Appender || n.Slave) && flags&protocol.FileInfoNoCRC == 0
}

// fileInfo is QUERY_FILE_INFO's reply body for the resolved name n at path
// and the header's flags.
func (s *Server) fileInfo(n *fileid.Name, path string, flags byte) ([]byte, error) {
	size, mtime, err := s.store.stat(n, path)
	if err != nil {
		return nil, s.store.absent(err, n)
	}
	crc := n.CRC32
	if n.Appender || n.Slave {
		crc = 0
		if needsCRC(n, flags) {
			if crc, err = s.fileCRC(path); err != nil {
				return nil, err
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
	resp := protocol.FileInfoResponse{Size: size, CreateTime: mtime.Unix(), CRC32: crc, SourceIP: ip}
	return resp.Encode(p.ResponseIPSize), nil
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
