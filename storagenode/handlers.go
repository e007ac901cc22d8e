package storagenode

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/internal/tmpfile"
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
	tempGlob           = ".upload-*.tmp" // hidden temp files: never a valid file id; ours are tempPattern
)

func (s *Server) checkGroup(g string) error {
	if g != s.cfg.GroupName {
		return fmt.Errorf("group %q is not ours (%q): %w", g, s.cfg.GroupName, protocol.ErrInvalid)
	}
	return nil
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

// receive streams size bytes of the request body into a new file in dir
// (a data directory of store path idx), using the space hold reserved for
// them, and returns it, still open and without its final name (Link or
// Replace gives it; Close drops a file never placed), and the CRC32 of the
// content. On any error nothing is left.
func (s *Server) receive(cc *conn, idx int, dir string, size int64, hold *reservation) (*tmpfile.File, uint32, error) {
	// Stored files are world-readable as upstream makes them (0644, see
	// fileMode), so that an nginx serving the store paths directly keeps
	// working.
	f, err := s.staging[idx].Create(dir)
	s.countOpen(err == nil)
	if err != nil {
		return nil, 0, fmt.Errorf("create a file in %s: %w", dir, err)
	}
	if size == 0 {
		// Upstream's disk thread writes the empty content once.
		s.stats.update(func(b *protocol.StatBlock) { tally(&b.TotalFileWriteCount, &b.SuccessFileWriteCount, true) })
	}
	crc, err := s.copyIn(cc, f, size, true, hold)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, crc, nil
}

// syncWriter is a file being written: an *os.File or a *tmpfile.File.
type syncWriter interface {
	io.Writer
	Sync() error
}

// copyIn copies size bytes from the request body to f at its current
// offset through one buff_size buffer, fsyncing every
// fsync_after_written_bytes and at the end when that is set. Each write is
// accounted to hold, the space reserved for it.
func (s *Server) copyIn(cc *conn, f syncWriter, size int64, wantCRC bool, hold *reservation) (uint32, error) {
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

// place gives a file a fresh final name built from f (up to maxNameRetries
// attempts at a unique name) and returns the name: link names it at a path
// and fails with fs.ErrExist when the path is taken. keepExt, when
// non-empty, replaces the generated 7-character extension area.
func (s *Server) place(link func(path string) error, idx, high, low int, f fileid.Fields, ext, keepExt string) (string, error) {
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
		err = link(path)
		s.store.release(name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("can't generate a unique file name: %w", protocol.ErrExists)
}

// writeBinlog records a change in the binlog, the only way the other
// storages of the group learn of it: a change whose record is lost is never
// replicated, so a failure is the request's failure (EIO), and the caller
// undoes what it placed (unplace, unrename) so that a failed answer leaves
// nothing behind for the client to not know about.
func (s *Server) writeBinlog(ts time.Time, op binlog.Op, name, extra string) error {
	if s.durable() {
		if err := s.syncEntry(op, name); err != nil {
			s.log.Error("fsync of a directory failed", "op", string(op), "name", name, "err", err)
			return fmt.Errorf("fsync of the directory of %s: %w", name, protocol.ErrIO)
		}
	}
	if err := s.bl.Write(ts.Unix(), op, name, extra); err != nil {
		s.log.Error("binlog write failed", "op", string(op), "name", name, "err", err)
		return fmt.Errorf("binlog: %w", protocol.ErrIO)
	}
	s.note(op, name, extra)
	if op.Source() == binlog.OpDelete && !strings.HasSuffix(name, metaSuffix) {
		s.deletes.note(name, ts.Unix())
	}
	if s.durable() {
		if err := s.bl.Sync(); err != nil {
			s.log.Error("binlog fsync failed", "op", string(op), "name", name, "err", err)
			return fmt.Errorf("binlog fsync: %w", protocol.ErrIO)
		}
	}
	return nil
}

// durable reports whether an acknowledgement must survive a power loss:
// fsync_after_written_bytes > 0. Then, before the reply, the file's data
// is fsynced (copyIn, truncate), its directory when the operation adds,
// removes or renames a name (syncEntry), and the binlog record.
// Otherwise the kernel writes them back when it will (a process crash
// loses nothing acknowledged; a power loss can), and the binlog is
// fsynced every sync_binlog_buff_interval.
func (s *Server) durable() bool { return s.cfg.FsyncAfterWrittenBytes > 0 }

// syncEntry fsyncs the directory holding name when op changes its entries
// (a create, delete, link or rename, made here or replayed).
func (s *Server) syncEntry(op binlog.Op, name string) error {
	switch op.Source() {
	case binlog.OpCreate, binlog.OpUpdate, binlog.OpDelete, binlog.OpLink, binlog.OpRename:
	default:
		return nil
	}
	_, path, err := s.store.resolve(name)
	if err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// truncate sets f's size, fsyncing it when acknowledgements are durable.
func (s *Server) truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	if s.durable() {
		return f.Sync()
	}
	return nil
}

// unplace removes the file a create placed under name when its binlog
// record could not be written: the client is told the upload failed, so
// the file would be an orphan nobody can name, never replicated and never
// deleted.
func (s *Server) unplace(name string) {
	_, path, err := s.store.resolve(name)
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil {
		s.log.Error("cannot remove a file whose binlog record failed", "name", name, "err", err)
	}
}

// unrename moves a regenerated appender file back to its old path when the
// rename record could not be written: the client keeps the old name, which
// must still be the file's.
func (s *Server) unrename(name, oldPath string) {
	_, path, err := s.store.resolve(name)
	if err == nil {
		err = os.Rename(path, oldPath)
	}
	if err != nil {
		s.log.Error("cannot undo a rename whose binlog record failed", "name", name, "err", err)
	}
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
	// name is the stored file the change is about, once resolved: a
	// missing one on a store path that is gone is answered EIO (the
	// file is not gone from the group: unreachable here).
	name *fileid.Name
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
	if err != nil && a.name != nil && missingFile(err) {
		err = s.store.absent(err, a.name)
	}
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
	s.writes.begin(time.Now())
	defer func() { s.writes.end(time.Now()) }()
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
