package storagenode

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/internal/backoff"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Disk recovery (protocol.md §7 "Disk recovery"): a store path that was
// wiped while the storage is an established group member is refilled from
// an ACTIVE peer. The storage holds the RECOVERY status on the trackers
// meanwhile, so no reads or writes are routed to it. Per store path the
// state lives in <store_path>/data, with upstream's file names:
//
//	.recovery.flag        fetch_binlog_done=0|1 (and upstream's other keys)
//	.binlog.recovery.0    the peer's create records of this path
//	.recovery.mark.0      binlog_offset=<bytes of it already restored>
//
// Every step is resumable: a restart finds the flag file and continues.

// Recovery file names inside <store_path>/data.
const (
	recoveryFlagFile   = ".recovery.flag"
	recoveryBinlogFile = ".binlog.recovery.0"
	recoveryMarkFile   = ".recovery.mark.0"
)

// Recovery limits and pacing.
const (
	// recoveryStreamLen is the pkg_len of a FETCH_ONE_PATH_BINLOG reply:
	// upstream's INFINITE_FILE_SIZE, "read until the peer closes".
	recoveryStreamLen = int64(1) << 58
	// maxRecoveryBinlog bounds a fetched binlog (bytes): the peer's whole
	// binlog history of one path, which rotates at 1 GiB per file.
	maxRecoveryBinlog = int64(64) << 30
	// minRecoveryTimeout is the least per-I/O timeout of the binlog fetch:
	// the peer scans its binlogs while we wait (upstream uses 600 s).
	minRecoveryTimeout = 600 * time.Second
	// recoveryMarkFreq is how many restored records go by between two
	// writes of the mark file.
	recoveryMarkFreq = 100
	// maxRecoveryBackoff caps the pause between two attempts (no source
	// yet, source gone...).
	maxRecoveryBackoff = 5 * time.Second
	// maxMetaReply bounds a GET_METADATA reply (bytes).
	maxMetaReply = 1 << 20
)

// errStreamDone ends a connection after a reply whose end is the close.
var errStreamDone = errors.New("stream sent")

// recovery is the disk recovery state of a server.
type recovery struct {
	paths    []int          // store paths with a .recovery.flag, in order
	progress []pathProgress // of each of paths (recovery_progress.go)
	restored atomic.Int64   // files restored since start
	pending  atomic.Bool    // recovery not finished: JOIN is followed by CHANGE_STATUS RECOVERY
	ended    chan struct{}  // closed when the recovery is finished
	mu       sync.Mutex     // orders that CHANGE_STATUS against the end of recovery
}

// markWipedPaths runs before the store is opened: a store path whose data
// directories are gone although .data_init_flag says
// this storage finished its initial sync lost its files. Each gets a
// .recovery.flag before anything else is recreated, so a crash from here on
// still finds it.
func markWipedPaths(c *conf.Storage) ([]int, error) {
	flag, err := loadIni(filepath.Join(c.BasePath, "data", dataInitFlagFile))
	if err != nil {
		return nil, err
	}
	if flag.get(flagSyncOldDone) != flagDone {
		return nil, nil // a new storage: its files come from the initial sync
	}
	var wiped []int
	last := fmt.Sprintf("%02X", c.SubdirCountPerPath-1)
	for i, p := range c.StorePaths {
		data := filepath.Join(strings.TrimRight(p, "/"), "data")
		// As upstream: the data directories, not the mark file (absent
		// on paths kept with check_store_path_mark = false), tell a wiped
		// path.
		if isDir(filepath.Join(data, "00", "00")) && isDir(filepath.Join(data, last, last)) {
			continue
		}
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(data, recoveryFlagFile)); err == nil {
			continue
		}
		if err := writeRecoveryFlag(data, false); err != nil {
			return nil, err
		}
		wiped = append(wiped, i)
	}
	return wiped, nil
}

func writeRecoveryFlag(data string, fetched bool) error {
	done := 0
	if fetched {
		done = 1
	}
	body := fmt.Appendf(nil, "saved_storage_status=%d\nfetch_binlog_done=%d\nrecovery_threads=1\n", protocol.StatusActive, done)
	return atomicfile.WriteFile(filepath.Join(data, recoveryFlagFile), body, fileMode)
}

// newRecovery lists the store paths with a recovery in progress.
func (s *Server) newRecovery() *recovery {
	r := &recovery{ended: make(chan struct{})}
	for i, p := range s.store.paths {
		if _, err := os.Stat(filepath.Join(p, "data", recoveryFlagFile)); err == nil {
			r.paths = append(r.paths, i)
		}
	}
	r.progress = make([]pathProgress, len(r.paths))
	for i := range r.progress {
		r.progress[i].size.Store(-1)
	}
	r.pending.Store(len(r.paths) > 0)
	if len(r.paths) == 0 {
		close(r.ended)
	}
	return r
}

// holdRecovery follows a JOIN while recovering: the join turned us ONLINE,
// CHANGE_STATUS puts us back to RECOVERY before a beat could make us
// ACTIVE. It says whether it did: the session then holds the status until
// the recovery ends (recoveryHeld).
func (s *Server) holdRecovery(c *trackerConn) (bool, error) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if !s.rec.pending.Load() {
		return false, nil
	}
	if _, err := c.call(protocol.CmdStorageChangeStatus, []byte{protocol.StatusRecovery}); err != nil {
		return false, fmt.Errorf("CHANGE_STATUS RECOVERY: %w", err)
	}
	s.setStatus(protocol.StatusRecovery)
	return true, nil
}

// recoveryHeld keeps a tracker session that holds RECOVERY from sending
// beats and disk usage until the recovery ends: upstream's tracker turns
// a storage that beats or reports its disk usage ACTIVE whatever its
// status (tracker_mem_active_store_server), which would route reads to a
// store path still being refilled. ACTIVE_TEST every heart_beat_interval
// keeps the connection up meanwhile. At the end, CHANGE_STATUS OFFLINE
// (which both trackers take from RECOVERY; a REPORT_STATUS about
// ourselves upstream's tracker ignores) and the beats that follow make
// us ACTIVE.
func (s *Server) recoveryHeld(c *trackerConn) error {
	tick := time.NewTicker(s.cfg.HeartBeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return net.ErrClosed
		case <-tick.C:
			if _, err := c.call(protocol.CmdActiveTest, nil); err != nil {
				return fmt.Errorf("ACTIVE_TEST while recovering: %w", err)
			}
		case <-s.rec.ended:
			if _, err := c.call(protocol.CmdStorageChangeStatus, []byte{protocol.StatusOffline}); err != nil {
				return fmt.Errorf("CHANGE_STATUS OFFLINE after recovery: %w", err)
			}
			s.setStatus(protocol.StatusOffline)
			return nil
		}
	}
}

// startRecovery runs the recovery in the background when one is pending.
func (s *Server) startRecovery() {
	if !s.rec.pending.Load() {
		return
	}
	s.goTracked(s.runRecovery)
}

func (s *Server) recoveryStopped() bool {
	select {
	case <-s.ctx.Done():
		return true
	default:
		return false
	}
}

// pause waits d; false when the server is closing.
func (s *Server) pause(d time.Duration) bool {
	return backoff.Sleep(s.ctx, d)
}

func (s *Server) runRecovery() {
	log := s.log.With("op", "disk recovery")
	// Our own name (GET_MY_IP, and the id in id mode) is needed to tell
	// us from the peers: wait for the first JOIN, which comes after both.
	for s.status.Load() == 0 {
		if !s.pause(50 * time.Millisecond) {
			return
		}
	}
	for k, idx := range s.rec.paths {
		retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: maxRecoveryBackoff}
		for {
			err := s.recoverPath(idx, &s.rec.progress[k])
			if err == nil {
				s.rec.progress[k].finished.Store(true)
				break
			}
			if s.recoveryStopped() {
				return
			}
			pause := retry.Next()
			log.Warn("recovery attempt failed", "store_path", s.store.paths[idx], "err", err, "retry_in", pause)
			if !s.pause(pause) {
				return
			}
		}
	}
	s.rec.mu.Lock()
	s.rec.pending.Store(false)
	close(s.rec.ended)
	s.rec.mu.Unlock()
	log.Info("disk recovery done")
}

// recoverPath recovers store path idx: fetch the peer's records of the
// path once, then restore them from the mark on.
func (s *Server) recoverPath(idx int, p *pathProgress) error {
	data := filepath.Join(s.store.paths[idx], "data")
	flag, err := loadIni(filepath.Join(data, recoveryFlagFile))
	if err != nil {
		return err
	}
	src, err := s.recoverySource()
	if errors.Is(err, protocol.ErrNotFound) {
		s.log.Info("no other storage in the group, nothing to recover", "store_path", s.store.paths[idx])
		return finishRecovery(data)
	}
	if err != nil {
		return err
	}
	if !fetchedWhole(flag) {
		if err := s.fetchPathBinlog(src, idx, data); err != nil {
			return fmt.Errorf("fetch binlog from %s: %w", src, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(data, recoveryMarkFile), []byte("binlog_offset=0\n"), fileMode); err != nil {
			return err
		}
		if err := writeRecoveryFlag(data, true); err != nil {
			return err
		}
	}
	if err := s.restorePath(src, data, p); err != nil {
		return fmt.Errorf("restore from %s: %w", src, err)
	}
	return finishRecovery(data)
}

// fetchedWhole says whether .binlog.recovery.0 holds every record left to
// restore. Ours writes the flag with recovery_threads=1; upstream's
// storage run with disk_recovery_threads = N > 1 (3 in the stock
// storage.conf) splits the records over .binlog.recovery.0 to N-1, each
// with its mark. This storage reads one: taking over such a path (the
// daemons swapped during a recovery) it fetches the binlog again, and the
// files already restored are downloaded again.
func fetchedWhole(flag *iniFile) bool {
	threads := flag.get("recovery_threads")
	return flag.get("fetch_binlog_done") == "1" && (threads == "" || threads == "1")
}

// finishRecovery removes the recovery files of a path, the flag last:
// ours, and the parts and marks upstream's threads left (.binlog.recovery.N,
// .recovery.mark.N, their .tmp files).
func finishRecovery(data string) error {
	entries, err := os.ReadDir(data)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".binlog.recovery.") || strings.HasPrefix(n, ".recovery.mark.") {
			files = append(files, n)
		}
	}
	for _, f := range append(files, recoveryFlagFile) {
		if err := os.Remove(filepath.Join(data, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// recoverySource asks the trackers for an ACTIVE peer of our group
// ("ip:port"); ErrNotFound when we are alone in the group.
func (s *Server) recoverySource() (string, error) {
	var lastErr error
	for _, addr := range s.cfg.TrackerServers {
		list, err := s.groupStorages(addr)
		if err != nil {
			lastErr = err
			continue
		}
		me, others := s.selfID(), 0
		for _, st := range list {
			if st.ID == me {
				continue
			}
			others++
			if st.Status == protocol.StatusActive {
				return net.JoinHostPort(st.IP, strconv.FormatInt(st.StoragePort, 10)), nil
			}
		}
		if others == 0 {
			return "", fmt.Errorf("group %s has no other storage: %w", s.cfg.GroupName, protocol.ErrNotFound)
		}
		lastErr = fmt.Errorf("no ACTIVE peer in group %s yet: %w", s.cfg.GroupName, protocol.ErrBusy)
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no tracker configured: %w", protocol.ErrInvalid)
	}
	return "", lastErr
}

// fetchPathBinlog sends FETCH_ONE_PATH_BINLOG (26) and stores the streamed
// records as .binlog.recovery.0 (replaced atomically and durably: the
// recovery flag that says it is complete is written after it).
func (s *Server) fetchPathBinlog(src string, idx int, data string) error {
	pc, err := s.dialPeer(s.ctx, src)
	if err != nil {
		return err
	}
	defer pc.hangUp()
	req := protocol.FetchPathBinlogRequest{Group: s.cfg.GroupName, StorePathIndex: byte(idx)}
	if err := pc.Send(protocol.CmdFetchOnePathBinlog, 0, req.Encode(), nil, 0); err != nil {
		return err
	}
	// The source scans all its binlogs before the first record comes.
	rd := pc.Reader(max(s.cfg.NetworkTimeout, minRecoveryTimeout))
	h, err := protocol.ReadHeader(rd)
	if err != nil {
		return err
	}
	if h.Cmd != protocol.CmdResp || h.Length < 0 {
		return fmt.Errorf("bad reply cmd %d length %d: %w", h.Cmd, h.Length, protocol.ErrInvalid)
	}
	if h.Status != 0 {
		return protocol.StatusErr(h.Status)
	}
	if h.Length != recoveryStreamLen && h.Length > maxRecoveryBinlog {
		return fmt.Errorf("recovery binlog of %d bytes: %w", h.Length, protocol.ErrNoSpace)
	}
	var n int64
	fill := func(w io.Writer) (err error) {
		n, err = copyRecoveryBinlog(w, rd, h.Length)
		return err
	}
	// Mode 0600 as before (a CreateTemp file): it never leaves this storage.
	if err := atomicfile.Write(filepath.Join(data, recoveryBinlogFile), 0o600, fill); err != nil {
		return err
	}
	s.log.Info("fetched recovery binlog", "source", src, "store_path", s.store.paths[idx], "bytes", n)
	return nil
}

// restorePath downloads every file named in .binlog.recovery.0 from the
// mark on, saving the mark as it goes.
func (s *Server) restorePath(src, data string, p *pathProgress) error {
	markPath := filepath.Join(data, recoveryMarkFile)
	offset, err := recoveryMarkOffset(markPath)
	if err != nil {
		// Refusing it would retry the recovery for ever; restoring a
		// file again only writes it again.
		s.log.Warn("bad recovery mark, restoring from the start", "err", err)
		offset = 0
	}
	f, err := os.Open(filepath.Join(data, recoveryBinlogFile))
	if err != nil {
		return err
	}
	defer f.Close()
	if offset, err = recoveryResume(f, offset); err != nil {
		return err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	if err := p.start(f, offset); err != nil {
		return err
	}
	pc, err := s.dialPeer(s.ctx, src)
	if err != nil {
		return err
	}
	defer pc.hangUp()
	saveMark := func() error {
		return atomicfile.WriteFile(markPath, fmt.Appendf(nil, "binlog_offset=%d\n", offset), fileMode)
	}
	br := bufio.NewReaderSize(f, binlog.MaxLine)
	var restored, missing, unsaved int
	for {
		if s.recoveryStopped() {
			return saveMark()
		}
		line, n, err := readRecoveryLine(br)
		if err == io.EOF {
			break // a trailing partial line cannot come from a complete fetch
		}
		if err != nil {
			return fmt.Errorf("recovery binlog at offset %d: %w", offset, err)
		}
		ok, err := s.restoreRecord(pc, line)
		if err != nil {
			if serr := saveMark(); serr != nil {
				s.log.Warn("writing recovery mark failed", "err", serr)
			}
			return err
		}
		if ok {
			restored++
			s.rec.restored.Add(1)
		} else {
			missing++
		}
		offset += n
		p.done.Store(offset)
		if unsaved++; unsaved >= recoveryMarkFreq {
			if err := saveMark(); err != nil {
				return err
			}
			unsaved = 0
		}
	}
	s.log.Info("store path restored", "store_path", filepath.Dir(data), "source", src, "files", restored, "gone", missing)
	return saveMark()
}

// recoveryMarkOffset reads the restore position a recovery mark holds.
func recoveryMarkOffset(path string) (int64, error) {
	mark, err := loadIni(path)
	if err != nil {
		return 0, err
	}
	offset, err := strconv.ParseInt(mark.get("binlog_offset"), 10, 64)
	if err != nil || offset < 0 {
		return 0, fmt.Errorf("%s: bad binlog_offset %q: %w", path, mark.get("binlog_offset"), protocol.ErrInvalid)
	}
	return offset, nil
}

// recoveryResume returns where restoring resumes in the recovery binlog
// f, the mark saying offset: the start of the record the offset falls
// in, or the start of the file when the offset is past its end. A mark is
// only ever saved at a record boundary inside the file; a damaged one must
// not skip records (their files would never be restored), while a file
// restored again is only written again.
func recoveryResume(f *os.File, offset int64) (int64, error) {
	fi, err := f.Stat()
	if err != nil || offset > fi.Size() {
		return 0, err
	}
	return binlog.RecordEnd(f, offset)
}

// readRecoveryLine returns the next line of the recovery binlog (without
// its newline) and its length in the file; io.EOF at the end or before a
// partial last line. A line longer than a record can be (garbage a disk
// fault left) is returned as "" with its whole length, so that the mark
// moves past it: stopping there would retry the recovery for ever.
func readRecoveryLine(br *bufio.Reader) (string, int64, error) {
	line, err := br.ReadSlice('\n')
	n := int64(len(line))
	for err == bufio.ErrBufferFull {
		line = nil
		var more []byte
		more, err = br.ReadSlice('\n')
		n += int64(len(more))
	}
	if err != nil {
		return "", 0, err
	}
	return strings.TrimSuffix(string(line), "\n"), n, nil
}

// restoreRecord restores the file of one record; false when the source no
// longer has it (deleted since) or the record is not a restorable one.
func (s *Server) restoreRecord(pc *peerConn, line string) (bool, error) {
	rec, err := binlog.Parse(line)
	if err != nil {
		s.log.Warn("skipping bad recovery record", "record", line)
		return false, nil
	}
	switch rec.Op {
	case binlog.OpCreate, binlog.OpReplicaCreate, binlog.OpUpdate, binlog.OpReplicaUpdate,
		binlog.OpLink, binlog.OpReplicaLink, binlog.OpRename, binlog.OpReplicaRename:
		// A peer that streams links or renames as they are gets the
		// named file's current content downloaded too.
	default:
		return false, nil
	}
	path, _, n, err := s.resolveSync(rec.Name)
	if err != nil {
		s.log.Warn("skipping recovery record with a bad name", "record", line, "err", err)
		return false, nil
	}
	var content func(w io.Writer) error
	switch {
	case strings.HasSuffix(rec.Name, metaSuffix):
		content = func(w io.Writer) error { return pc.meta(strings.TrimSuffix(rec.Name, metaSuffix), w) }
	case n.Size == 0 && !n.Appender:
		// Empty by name: nothing to download, only to check it still exists.
		content = func(io.Writer) error { return pc.checkEmpty(rec.Name) }
	default:
		content = func(w io.Writer) error { return pc.download(rec.Name, w) }
	}
	mtime := time.Unix(rec.Timestamp, 0)
	if strings.HasSuffix(rec.Name, metaSuffix) {
		// The peer's metadata as it is now, stamped with the time of
		// the record: the change it holds or, where later records
		// restore it again, an earlier one, which only lets more
		// copies through until the last record stamps it exactly
		// (sync_meta.go).
		mtime = metaStamp(rec.Timestamp)
	}
	if n.Trunk && rec.Name == n.Name() {
		err = s.restoreSlot(n, content)
	} else {
		err = s.writeRestored(path, mtime, content)
	}
	var ce *connError
	var se *protocol.StatusError
	switch {
	case err == nil && n.Trunk && rec.Name == n.Name():
		// A restored trunk file has no file of its own for the index's
		// walk at start to find: a replica record keeps it in our binlog
		// (replica records go only to a new member's old-file sync, which
		// must get it too).
		return true, s.writeBinlog(time.Unix(rec.Timestamp, 0), binlog.OpReplicaCreate, rec.Name, "")
	case err == nil:
		s.note(binlog.OpCreate, rec.Name, "")
		return true, nil
	case errors.Is(err, protocol.ErrNotFound):
		return false, nil // deleted since
	case !errors.As(err, &ce) && errors.As(err, &se):
		// The source refuses this one file (the connection is still in
		// step): retrying would not change its answer.
		s.log.Warn("source cannot serve a file to recover", "name", rec.Name, "err", err)
		return false, nil
	}
	return false, err
}

// writeRestored writes a file via a temp file (named like upload temps, so
// a crash leaves nothing the sweep does not remove), fsync, rename and
// fsync of the directory, with the record's time as mtime (upstream does
// the same). atomicfile.Write is not used: it names its temp files after
// the target and cannot set the mtime before the rename.
func (s *Server) writeRestored(path string, ts time.Time, content func(io.Writer) error) error {
	tmp, err := s.stageFile(filepath.Dir(path), ts, content)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The recovery mark moves past this record once it returns: the
	// rename must be on disk before that.
	return atomicfile.SyncDir(filepath.Dir(path))
}

// stageFile writes content to a new temp file in dir (named like upload
// temps: the sweep after a crash removes it), mode fileMode, fsynced and
// closed, with mtime ts, and returns its path; nothing is left on error.
func (s *Server) stageFile(dir string, ts time.Time, content func(io.Writer) error) (string, error) {
	tmp, err := os.CreateTemp(dir, s.tempPattern)
	if err != nil {
		return "", err
	}
	err = tmp.Chmod(fileMode)
	if err == nil {
		err = content(tmp)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp.Name(), ts, ts)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// download copies a whole file from the peer (DOWNLOAD_FILE); EINVAL
// may mean an empty appender file, which QUERY_FILE_INFO tells apart.
func (pc *peerConn) download(name string, w io.Writer) error {
	req := protocol.DownloadRequest{Group: pc.s.cfg.GroupName, Name: name}
	if err := pc.Send(protocol.CmdDownloadFile, 0, req.Encode(), nil, 0); err != nil {
		return &connError{err}
	}
	h, err := pc.RecvHeader()
	if err != nil {
		if h.Status == protocol.EINVAL && h.Length == 0 && pc.Clean() {
			return pc.checkEmpty(name)
		}
		return fmt.Errorf("download %s: %w", name, pc.failure(err))
	}
	if _, err := pc.RecvTo(h, w); err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	return nil
}

// checkEmpty confirms with QUERY_FILE_INFO that the peer has name as an
// empty file (an empty file cannot be downloaded: EINVAL, offset 0 ≥ size
// 0).
func (pc *peerConn) checkEmpty(name string) error {
	q := protocol.FileRequest{Group: pc.s.cfg.GroupName, Name: name}
	b, err := pc.call(protocol.CmdQueryFileInfo, protocol.FileInfoNoCRC, q.Encode(), maxSyncReplyBody)
	if err != nil {
		return err
	}
	info, err := protocol.DecodeFileInfoResponse(b)
	if err != nil {
		return &connError{err}
	}
	if info.Size != 0 {
		return fmt.Errorf("%s: not empty but %d bytes: %w", name, info.Size, protocol.ErrInvalid)
	}
	return nil
}

// meta fetches the metadata of name (GET_METADATA) in the packed form the
// -m file holds.
func (pc *peerConn) meta(name string, w io.Writer) error {
	req := protocol.FileRequest{Group: pc.s.cfg.GroupName, Name: name}
	b, err := pc.call(protocol.CmdGetMetadata, 0, req.Encode(), maxMetaReply)
	if err != nil {
		return fmt.Errorf("metadata of %s: %w", name, err)
	}
	_, err = w.Write(b)
	return err
}

// handleFetchOnePathBinlog serves FETCH_ONE_PATH_BINLOG (26) to a
// recovering peer: the header announces an endless body, then the create
// records of the requested store path from every binlog file follow, then
// their length (recovery_stream.go), and the connection is closed. Links, renames and whole-file updates become
// creates of the name they leave behind (the recovering side downloads the
// current content); everything else is left out.
func (s *Server) handleFetchOnePathBinlog(cc *conn, h protocol.Header) error {
	if err := s.syncAllowed(cc, h.Cmd); err != nil {
		return err
	}
	body, err := cc.readFixed(h, protocol.FetchPathBinlogLen, "fetch one path binlog")
	if err != nil {
		return err
	}
	req, err := protocol.DecodeFetchPathBinlogRequest(body)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	idx := int(req.StorePathIndex)
	if idx >= len(s.store.paths) {
		return fmt.Errorf("store path index %d of %d: %w", idx, len(s.store.paths), protocol.ErrInvalid)
	}
	if err := protocol.WriteHeader(cc, protocol.Header{Length: recoveryStreamLen, Cmd: protocol.CmdResp}); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(cc, 64<<10)
	w := &countingWriter{w: bw}
	prefix := fmt.Sprintf("M%02X/", idx)
	for i := 0; i <= s.bl.Index(); i++ {
		if err := streamPathRecords(s.bl.Path(i), prefix, w); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			var ce *connError
			if errors.As(err, &ce) {
				return err
			}
			s.log.Warn("reading binlog for a recovering peer failed", "file", s.bl.Path(i), "err", err)
			return &connError{err}
		}
	}
	if err := writeStreamTrailer(bw, w.n); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return &connError{errStreamDone}
}

// streamPathRecords writes the recovery records of one binlog file whose
// name starts with prefix ("Mxx/").
func streamPathRecords(path, prefix string, w io.Writer) error {
	return binlog.EachRecord(path, func(rec *binlog.Record) error {
		if !strings.HasPrefix(rec.Name, prefix) {
			return nil
		}
		var op binlog.Op
		switch rec.Op {
		case binlog.OpCreate, binlog.OpLink, binlog.OpRename, binlog.OpUpdate:
			op = binlog.OpCreate
		case binlog.OpReplicaCreate, binlog.OpReplicaLink, binlog.OpReplicaRename, binlog.OpReplicaUpdate:
			op = binlog.OpReplicaCreate
		default:
			return nil
		}
		_, err := io.WriteString(w, binlog.Format(rec.Timestamp, op, rec.Name, "")+"\n")
		return err
	})
}
