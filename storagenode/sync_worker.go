package storagenode

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Sending side of replication (protocol.md §7): one worker per peer of the
// group replays our binlog on that peer, driven by the membership briefs
// of the trackers' beat replies.

// Pacing defaults when the configuration leaves them zero (upstream values).
const (
	defaultSyncWait      = 200 * time.Millisecond
	defaultMarkFreq      = 500
	maxSyncBackoff       = 30 * time.Second
	statusPollInterval   = time.Second // re-check of a peer waiting for a status change
	maxSyncReplyBody     = 1 << 10     // sync replies are empty
	syncCopyChunk        = 4 << 20     // bytes per sendfile call; the deadline is renewed per chunk
	syncStatusReportWait = time.Second // pause between tracker report retries
)

// replicator owns the sync workers and the per-source timestamps of
// received records.
type replicator struct {
	s *Server

	mu       sync.Mutex
	workers  map[string]*syncWorker // by peer id (the IP in IP mode)
	retired  map[string]*syncWorker // stopped workers, until they exit
	received map[string]int64       // source id → timestamp of the last record received from it
	refused  map[string]refusals    // source id → records refused for now (sync_holdback.go)
	recvVer  int64                  // bumped when received or refused changes

	members atomic.Pointer[members] // who may send sync commands (peerauth.go); nil until a group list arrived
}

func newReplicator(s *Server) *replicator {
	return &replicator{s: s, workers: map[string]*syncWorker{}, retired: map[string]*syncWorker{},
		received: map[string]int64{}, refused: map[string]refusals{}}
}

// maxSyncSources bounds the received map: any client may announce an id
// with REPORT_SERVER_ID, and ids that are not group members are pruned
// only when the next membership list arrives.
const maxSyncSources = 2 * protocol.MaxServersInGroup

// noteReceived records a record about names received from src.
func (r *replicator) noteReceived(src string, ts int64, names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.takenLocked(src, names)
	if _, ok := r.received[src]; !ok && len(r.received) >= maxSyncSources {
		return
	}
	if ts > r.received[src] {
		r.received[src] = ts
		r.recvVer++
	}
}

// syncReport returns the SYNC_REPORT body when the timestamps changed since
// version seen (nil otherwise) and the current version. Only current group
// members are reported (the tracker refuses more than a group can hold).
func (r *replicator) syncReport(seen int64) ([]byte, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recvVer == seen {
		return nil, r.recvVer
	}
	var ts []protocol.SyncTimestamp
	now := time.Now()
	for src, t := range r.received {
		if _, member := r.workers[src]; member && len(ts) < protocol.MaxServersInGroup {
			ts = append(ts, protocol.SyncTimestamp{SrcID: src, Timestamp: int32(r.reportedLocked(src, t, now))})
		}
	}
	if len(ts) == 0 {
		return nil, seen
	}
	return protocol.EncodeSyncReport(ts), r.recvVer
}

// updatePeers applies a group membership list: a worker is started for
// every other storage and stopped for storages gone, deleted or renamed.
func (r *replicator) updatePeers(briefs []protocol.Brief, self func(protocol.Brief) bool) {
	r.setMembers(briefs, r.s.params.Load().StorageIDs)
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, b := range briefs {
		if b.ID == "" || self(b) {
			continue
		}
		seen[b.ID] = true
		gone := b.Status == protocol.StatusDeleted || b.Status == protocol.StatusIPChanged || b.Status == protocol.StatusNone
		w := r.workers[b.ID]
		switch {
		case w != nil && gone:
			r.retire(b.ID, w)
		case w != nil:
			w.update(b)
		case !gone && len(r.workers) < protocol.MaxServersInGroup:
			// A worker for the same peer still winding down is waited
			// for: two must never share a mark file.
			w := newSyncWorker(r.s, b, r.retired[b.ID])
			if r.s.goTracked(w.run) {
				r.workers[b.ID] = w
			}
		}
	}
	for id, w := range r.workers {
		if !seen[id] {
			r.retire(id, w)
		}
	}
	for id := range r.received {
		if _, member := r.workers[id]; !member {
			delete(r.received, id)
			delete(r.refused, id)
		}
	}
	for id, w := range r.retired {
		select {
		case <-w.exited:
			delete(r.retired, id)
		default:
		}
	}
}

func (r *replicator) retire(id string, w *syncWorker) {
	w.stop()
	delete(r.workers, id)
	r.retired[id] = w
}

// goTracked runs f on a goroutine the server waits for on Close; false if
// the server is closing.
func (s *Server) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// selfID is how the trackers and peers name this storage: the server id in
// id mode, else the IP the trackers see.
func (s *Server) selfID() string {
	if id := s.idForTracker(); id != "" {
		return id
	}
	ip, _, _ := strings.Cut(*s.myIP.Load(), ",")
	return ip
}

// syncWorker replays our binlog on one peer.
type syncWorker struct {
	s   *Server
	log *slog.Logger

	brief  atomic.Pointer[protocol.Brief] // the peer as last announced
	status atomic.Int32                   // our view of its status (we advance it while syncing it)
	wake   chan struct{}                  // status changed
	done   chan struct{}                  // closed by stop
	exited chan struct{}                  // closed when run returns
	prev   *syncWorker                    // stopped worker for the same peer, waited for first
	once   sync.Once

	nDeferred atomic.Int64 // records set aside for a retry (sync_defer.go)
	nSkipped  atomic.Int64 // records the peer refused for good, since start
}

func newSyncWorker(s *Server, b protocol.Brief, prev *syncWorker) *syncWorker {
	w := &syncWorker{s: s, wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{}), prev: prev}
	w.log = s.log.With("peer", b.ID)
	w.update(b)
	return w
}

func (w *syncWorker) update(b protocol.Brief) {
	w.brief.Store(&b)
	if old := w.status.Swap(int32(b.Status)); old != int32(b.Status) {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *syncWorker) stop() { w.once.Do(func() { close(w.done) }) }

func (w *syncWorker) stopped() bool {
	select {
	case <-w.done:
		return true
	case <-w.s.done:
		return true
	default:
		return false
	}
}

// sleep waits d, a status change or the end; false when the worker must end.
func (w *syncWorker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.done:
		return false
	case <-w.s.done:
		return false
	case <-w.wake:
	case <-t.C:
	}
	return true
}

func (w *syncWorker) peerStatus() byte { return byte(w.status.Load()) }

func (w *syncWorker) markPath() string {
	b := w.brief.Load()
	name := b.ID + ".mark"
	if !w.s.params.Load().UseStorageID {
		name = fmt.Sprintf("%s_%d.mark", b.IP, b.Port)
	}
	return filepath.Join(w.s.store.syncDir(), name)
}

func (w *syncWorker) run() {
	defer close(w.exited)
	if w.prev != nil {
		select {
		case <-w.prev.exited:
		case <-w.s.done:
			return
		}
		w.prev = nil
	}
	w.log.Debug("sync worker started")
	defer w.log.Debug("sync worker stopped")
	backoff := time.Duration(0)
	for !w.stopped() {
		switch w.peerStatus() {
		case protocol.StatusWaitSync, protocol.StatusSyncing, protocol.StatusActive:
		default:
			// INIT, OFFLINE, ONLINE, RECOVERY: nothing to do until the
			// trackers announce another status.
			if !w.sleep(statusPollInterval) {
				return
			}
			continue
		}
		// Our own old files must be complete (initial sync and disk
		// recovery done) before we feed anyone, and sync runs only between
		// sync_start_time and sync_end_time.
		if w.s.store.initFlag.get("sync_old_done") != "1" || w.s.rec.pending.Load() || !w.s.inSyncWindow(time.Now()) {
			if !w.sleep(statusPollInterval) {
				return
			}
			continue
		}
		err := w.session()
		if err == nil {
			backoff = 0
			if !w.sleep(statusPollInterval) {
				return
			}
			continue
		}
		if w.stopped() {
			return
		}
		backoff = min(max(backoff*2, 100*time.Millisecond), maxSyncBackoff, max(w.s.cfg.HeartBeatInterval, 100*time.Millisecond))
		w.log.Info("sync session failed", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-w.done:
		case <-w.s.done:
		case <-t.C:
		}
		t.Stop()
	}
}

// peerConn is the connection to the peer with per-I/O deadlines.
type peerConn struct {
	c       net.Conn
	timeout time.Duration
	last    time.Time // last request sent
}

func (w *syncWorker) dial() (*peerConn, error) {
	b := w.brief.Load()
	d := net.Dialer{Timeout: w.s.cfg.ConnectTimeout}
	if w.s.cfg.ClientBind && w.s.cfg.BindAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(w.s.cfg.BindAddr)}
	}
	c, err := d.DialContext(w.s.ctx, "tcp", net.JoinHostPort(b.IP, strconv.Itoa(int(b.Port))))
	if err != nil {
		return nil, err
	}
	if !w.s.track(c, true) {
		c.Close()
		return nil, net.ErrClosed
	}
	return &peerConn{c: c, timeout: w.s.cfg.NetworkTimeout}, nil
}

func (w *syncWorker) hangUp(pc *peerConn) {
	w.s.track(pc.c, false)
	pc.c.Close()
}

// request sends a header with status and head, then n bytes of f from off
// (n = 0: no content), and returns the reply status.
func (pc *peerConn) request(cmd, status byte, head []byte, f *os.File, off, n int64) (byte, error) {
	pc.last = time.Now()
	pc.c.SetWriteDeadline(time.Now().Add(pc.timeout))
	if err := protocol.WriteHeader(pc.c, protocol.Header{Length: int64(len(head)) + n, Cmd: cmd, Status: status}); err != nil {
		return 0, err
	}
	if _, err := pc.c.Write(head); err != nil {
		return 0, err
	}
	if n > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return 0, &connError{err}
		}
		for n > 0 {
			chunk := min(n, syncCopyChunk)
			pc.c.SetWriteDeadline(time.Now().Add(pc.timeout))
			w, err := io.Copy(pc.c, io.LimitReader(f, chunk))
			n -= w
			if err != nil {
				return 0, err
			}
			if w < chunk {
				// The file shrank under us: the announced length cannot be met.
				return 0, fmt.Errorf("local file shrank while being sent: %w", io.ErrUnexpectedEOF)
			}
		}
	}
	pc.c.SetReadDeadline(time.Now().Add(pc.timeout))
	h, err := protocol.ReadHeader(pc.c)
	if err != nil {
		return 0, err
	}
	if h.Cmd != protocol.CmdResp || h.Length < 0 || h.Length > maxSyncReplyBody {
		// Not a status error: the connection is out of step and must go.
		return 0, fmt.Errorf("bad sync reply cmd %d length %d", h.Cmd, h.Length)
	}
	if _, err := io.CopyN(io.Discard, pc.c, h.Length); err != nil {
		return 0, err
	}
	return h.Status, nil
}

// session runs one connection to the peer: reader initialisation, the
// status reports of an old-file sync, then the binlog replay until an
// error, a status change or the end.
func (w *syncWorker) session() error {
	mark, fresh, err := w.initMark()
	if err != nil {
		return err
	}
	markPath := w.markPath()
	rd := newBinlogReader(w.s.store.syncDir(), w.s.bl.Index, mark.Index, mark.Offset)
	defer rd.close()
	if fresh {
		if !mark.NeedSyncOld && mark.Until > 0 {
			if err := skipBefore(rd, mark.Until); err != nil {
				return err
			}
			mark.Index, mark.Offset = rd.index, rd.offset
		}
		if err := writeFileAtomic(markPath, mark.encode()); err != nil {
			return err
		}
	}
	// Only the source syncs a storage that is not ACTIVE yet; the others
	// wait for it (without asking the trackers again).
	for !mark.NeedSyncOld && w.peerStatus() != protocol.StatusActive {
		if !w.sleep(statusPollInterval) {
			return nil
		}
	}
	pc, err := w.dial()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer w.hangUp(pc)
	me := w.s.selfID()
	st, err := pc.request(protocol.CmdReportServerID, 0, (&protocol.ReportServerIDRequest{ID: me}).Encode(), nil, 0, 0)
	if err != nil {
		return fmt.Errorf("REPORT_SERVER_ID: %w", err)
	}
	if st != 0 {
		return fmt.Errorf("REPORT_SERVER_ID: %w", protocol.StatusErr(st))
	}
	if w.peerStatus() == protocol.StatusWaitSync && mark.NeedSyncOld {
		if err := w.advance(protocol.StatusWaitSync, protocol.StatusSyncing); err != nil {
			return err
		}
	}
	if w.peerStatus() == protocol.StatusSyncing && mark.NeedSyncOld && mark.SyncOldDone {
		if err := w.advance(protocol.StatusSyncing, protocol.StatusOffline); err != nil {
			return err
		}
	}
	freq := int64(w.s.cfg.WriteMarkFileFreq)
	if freq <= 0 {
		freq = defaultMarkFreq
	}
	wait := w.s.cfg.SyncWaitMsec
	if wait <= 0 {
		wait = defaultSyncWait
	}
	savedScan := mark.ScanRows
	save := func() error {
		mark.Index, mark.Offset = rd.index, rd.offset
		if err := writeFileAtomic(markPath, mark.encode()); err != nil {
			return err
		}
		savedScan = mark.ScanRows
		return nil
	}
	defer func() {
		if mark.ScanRows != savedScan {
			if err := save(); err != nil {
				w.log.Warn("writing mark file failed", "err", err)
			}
		}
	}()
	held, err := loadDeferred(w.deferredPath())
	if err != nil {
		return err
	}
	w.noteBacklog(held)
	lastExist := false
	for !w.stopped() {
		if s := w.peerStatus(); s != protocol.StatusActive && s != protocol.StatusSyncing {
			return nil
		}
		if !w.s.inSyncWindow(time.Now()) {
			return nil
		}
		if err := w.retryDeferred(pc, held, mark); err != nil {
			return err
		}
		line, n, err := rd.next()
		if err == io.EOF {
			if mark.NeedSyncOld && !mark.SyncOldDone {
				mark.SyncOldDone = true
				if err := save(); err != nil {
					return err
				}
				if w.peerStatus() == protocol.StatusSyncing {
					if err := w.advance(protocol.StatusSyncing, protocol.StatusOffline); err != nil {
						return err
					}
				}
				w.log.Info("old-file sync done", "records", mark.SyncRows)
			}
			if mark.ScanRows != savedScan {
				if err := save(); err != nil {
					return err
				}
			}
			if time.Since(pc.last) >= w.s.cfg.HeartBeatInterval {
				st, err := pc.request(protocol.CmdActiveTest, 0, nil, nil, 0, 0)
				if err != nil || st != 0 {
					return fmt.Errorf("ACTIVE_TEST: status %d: %v", st, err)
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-w.done:
			case <-w.s.done:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if err != nil {
			return err
		}
		rec, err := parseRecord(line)
		var sent bool
		if err == nil {
			sent, err = w.replay(pc, rec, mark, &lastExist)
		}
		if err != nil {
			if err := w.setAside(held, line, err); err != nil {
				return err
			}
		}
		rd.commit(n)
		mark.ScanRows++
		if sent {
			mark.SyncRows++
		}
		if mark.ScanRows-savedScan >= freq {
			if err := save(); err != nil {
				return err
			}
		}
		if w.s.cfg.SyncInterval > 0 {
			if !w.sleep(w.s.cfg.SyncInterval) {
				return nil
			}
		}
	}
	return nil
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

// skipBefore advances rd past the records older than until (a peer whose
// old files come from another source gets only our newer records).
func skipBefore(rd *binlogReader, until int64) error {
	for {
		line, n, err := rd.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec, perr := parseRecord(line); perr == nil && rec.Timestamp >= until {
			return nil
		}
		rd.commit(n)
	}
}

// initMark loads the peer's mark file or starts a new one. A peer that has
// not started its initial sync, or has none, gets a fresh mark after
// asking the trackers (SYNC_SRC_REQ) whether we are its sync source.
func (w *syncWorker) initMark() (*syncMark, bool, error) {
	status := w.peerStatus()
	path := w.markPath()
	var m *syncMark
	if status > protocol.StatusWaitSync {
		var err error
		m, err = loadMark(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("bad mark file, starting over", "file", path, "err", err)
		}
	}
	if m != nil && status != protocol.StatusSyncing {
		return m, false, nil
	}
	need, until, err := w.syncSrcReq()
	if err != nil {
		return nil, false, err
	}
	if m != nil {
		// SYNCING with a mark: restart only if we became the source since.
		if !need || m.NeedSyncOld {
			return m, false, nil
		}
	}
	return &syncMark{NeedSyncOld: need, Until: until}, true, nil
}

// trackerShortCall runs one request on a short connection to each tracker
// in turn until one answers.
func (w *syncWorker) trackerShortCall(cmd byte, body []byte, all bool) ([]byte, error) {
	var reply []byte
	var lastErr error
	ok := false
	for _, addr := range w.s.cfg.TrackerServers {
		err := w.s.shortCall(addr, func(c net.Conn) error {
			b, err := w.s.call(c, cmd, body)
			if err == nil && !ok {
				reply = b
			}
			return err
		})
		if err != nil {
			lastErr = err
			continue
		}
		ok = true
		if !all {
			break
		}
	}
	if !ok {
		if lastErr == nil {
			lastErr = fmt.Errorf("no tracker configured: %w", protocol.ErrNotFound)
		}
		return nil, lastErr
	}
	return reply, nil
}

// syncSrcReq asks the trackers for the peer's sync source: need is true
// when it is us. As upstream (storage_reader_init), the leader is asked
// first: its view is the one the group lists carry. A tracker that cannot
// tell yet (ENOENT: the peer is still INIT there) or fails is skipped for
// the next one.
func (w *syncWorker) syncSrcReq() (need bool, until int64, err error) {
	b := w.brief.Load()
	req := protocol.SyncSrcRequest{Group: w.s.cfg.GroupName, DestID: b.ID}
	trackers := w.s.cfg.TrackerServers
	v := w.s.leaderView()
	v.mu.Lock()
	leader := v.leader
	v.mu.Unlock()
	if i := slices.Index(trackers, leader); i > 0 {
		trackers = append([]string{leader}, slices.Delete(slices.Clone(trackers), i, i+1)...)
	}
	lastErr := fmt.Errorf("no tracker configured: %w", protocol.ErrNotFound)
	for _, addr := range trackers {
		var reply []byte
		err := w.s.shortCall(addr, func(c net.Conn) error {
			var err error
			reply, err = w.s.call(c, protocol.CmdStorageSyncSrcReq, req.Encode())
			return err
		})
		if err != nil {
			lastErr = err
			continue
		}
		src, err := protocol.DecodeSyncSource(reply)
		if err != nil || src == nil {
			return false, 0, err
		}
		return src.SrcID == w.s.selfID(), src.Until, nil
	}
	return false, 0, fmt.Errorf("SYNC_SRC_REQ: %w", lastErr)
}

// advance moves the peer from status from to status to in our view and
// tells every tracker (REPORT_STATUS on short connections). If no tracker
// took the report our view goes back, so the next session reports again
// instead of the peer staying in from forever.
func (w *syncWorker) advance(from, to byte) error {
	w.status.Store(int32(to))
	b := w.brief.Load()
	req := protocol.ReportStatus{Group: w.s.cfg.GroupName, Brief: protocol.Brief{Status: to, ID: b.ID, IP: b.IP}}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if _, err = w.trackerShortCall(protocol.CmdStorageReportStatus, req.Encode(), true); err == nil {
			w.log.Info("reported peer status", "status", protocol.StorageStatusName(to))
			return nil
		}
		if !w.sleep(syncStatusReportWait) {
			break
		}
	}
	w.status.CompareAndSwap(int32(to), int32(from))
	return fmt.Errorf("REPORT_STATUS %s: %w", protocol.StorageStatusName(to), err)
}

// replay sends one record to the peer. sent reports whether anything was
// sent; records whose local file is gone are skipped.
func (w *syncWorker) replay(pc *peerConn, rec *binlogRecord, mark *syncMark, lastExist *bool) (sent bool, err error) {
	op := rec.Op
	if op >= 'a' && op <= 'z' {
		// Replicas are forwarded only during the old-file sync of a new
		// storage, and never the partial changes.
		if !mark.NeedSyncOld || mark.SyncOldDone || rec.Timestamp > mark.Until {
			return false, nil
		}
		if op == 'a' || op == 'm' || op == 't' {
			return false, nil
		}
		op -= 'a' - 'A'
	}
	switch op {
	case binlog.OpCreate:
		return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncCreateFile, lastExist)
	case binlog.OpUpdate:
		return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncUpdateFile, lastExist)
	case binlog.OpDelete:
		req := protocol.SyncDeleteRequest{Timestamp: int32(rec.Timestamp), Group: w.s.cfg.GroupName, Name: rec.Name}
		st, err := pc.request(protocol.CmdSyncDeleteFile, 0, req.Encode(), nil, 0, 0)
		if err != nil {
			return false, err
		}
		if st != 0 && st != protocol.ENOENT {
			return true, protocol.StatusErr(st)
		}
		return true, nil
	case binlog.OpAppend, binlog.OpModify:
		return w.syncRange(pc, rec, op, lastExist)
	case binlog.OpTruncate:
		return w.syncTruncate(pc, rec, lastExist)
	case binlog.OpRename:
		return w.syncRename(pc, rec, protocol.CmdSyncRenameFile, lastExist)
	case binlog.OpLink:
		return w.syncRename(pc, rec, protocol.CmdSyncCreateLink, lastExist)
	}
	w.log.Debug("binlog record not replicated", "op", string(rec.Op), "name", rec.Name)
	return false, nil
}

// openLocal opens our copy of a synced file; nil when it no longer exists.
func (w *syncWorker) openLocal(name string) (*os.File, int64, error) {
	path, _, _, err := w.s.resolveSync(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, nil
	}
	return f, fi.Size(), nil
}

// copyFile sends a whole file (SYNC_CREATE_FILE / SYNC_UPDATE_FILE). After
// an EEXIST the peer probably has the next files too, so a create is first
// checked with QUERY_FILE_INFO: a same-size copy is only logged there.
func (w *syncWorker) copyFile(pc *peerConn, rec *binlogRecord, name string, cmd byte, lastExist *bool) (bool, error) {
	f, size, err := w.openLocal(name)
	if err != nil || f == nil {
		return false, err
	}
	defer f.Close()
	status := byte(0)
	if *lastExist && cmd == protocol.CmdSyncCreateFile && !strings.HasSuffix(name, metaSuffix) {
		peerSize, err := w.peerFileSize(pc, name)
		if err != nil {
			var se *protocol.StatusError
			if !errors.As(err, &se) {
				return false, err
			}
			peerSize = -1
		}
		switch peerSize {
		case size:
			status = protocol.EEXIST
		case -1:
		default:
			cmd = protocol.CmdSyncUpdateFile
		}
	}
	req := protocol.SyncFileRequest{Name: name, FileSize: size, Timestamp: int32(rec.Timestamp), Group: w.s.cfg.GroupName}
	n := size
	if status != 0 {
		n = 0
	}
	st, err := pc.request(cmd, status, req.Encode(), f, 0, n)
	w.s.stats.update(func(b *protocol.StatBlock) {
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
		*lastExist = status == protocol.EEXIST
		return true, nil
	case protocol.EEXIST:
		*lastExist = true
		return true, nil
	}
	return true, protocol.StatusErr(st)
}

// syncRange sends an append or modify; ENOENT from the peer (missing or
// diverged copy) resends the whole file.
func (w *syncWorker) syncRange(pc *peerConn, rec *binlogRecord, op byte, lastExist *bool) (bool, error) {
	off, length, err := rec.extraInts()
	if err != nil {
		return false, err
	}
	f, size, err := w.openLocal(rec.Name)
	if err != nil || f == nil {
		return false, err
	}
	defer f.Close()
	if size < off+length {
		// Truncated since: the range no longer exists here, so the peer
		// gets the file as it is now (later records then apply or are
		// already contained).
		return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncUpdateFile, lastExist)
	}
	cmd := protocol.CmdSyncAppendFile
	if op == binlog.OpModify {
		cmd = protocol.CmdSyncModifyFile
	}
	req := protocol.SyncRangeRequest{Name: rec.Name, Offset: off, Length: length, Timestamp: int32(rec.Timestamp), Group: w.s.cfg.GroupName}
	st, err := pc.request(cmd, 0, req.Encode(), f, off, length)
	if err != nil {
		return false, err
	}
	switch st {
	case 0, protocol.EEXIST:
		return true, nil
	case protocol.ENOENT:
		return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncUpdateFile, lastExist)
	}
	return true, protocol.StatusErr(st)
}

func (w *syncWorker) syncTruncate(pc *peerConn, rec *binlogRecord, lastExist *bool) (bool, error) {
	oldSize, newSize, err := rec.extraInts()
	if err != nil {
		return false, err
	}
	f, size, err := w.openLocal(rec.Name)
	if err != nil || f == nil {
		return false, err
	}
	f.Close()
	req := protocol.SyncTruncateRequest{Name: rec.Name, OldSize: oldSize, NewSize: newSize, Timestamp: int32(rec.Timestamp), Group: w.s.cfg.GroupName}
	st, err := pc.request(protocol.CmdSyncTruncateFile, 0, req.Encode(), nil, 0, 0)
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
			peerSize, err := w.peerFileSize(pc, rec.Name)
			if err != nil {
				return true, err
			}
			if peerSize != newSize {
				return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncUpdateFile, lastExist)
			}
		}
		return true, nil
	case protocol.ENOENT:
		return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncUpdateFile, lastExist)
	}
	return true, protocol.StatusErr(st)
}

// peerFileSize asks the peer for the size of its copy of name
// (QUERY_FILE_INFO without CRC); -1 when it has none.
func (w *syncWorker) peerFileSize(pc *peerConn, name string) (int64, error) {
	q := protocol.FileRequest{Group: w.s.cfg.GroupName, Name: name}
	pc.last = time.Now()
	pc.c.SetDeadline(time.Now().Add(pc.timeout))
	if err := protocol.WritePacket(pc.c, protocol.CmdQueryFileInfo, protocol.FileInfoNoCRC, q.Encode()); err != nil {
		return 0, err
	}
	b, err := protocol.ReadResponse(pc.c, maxSyncReplyBody)
	if errors.Is(err, protocol.ErrNotFound) {
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
func (w *syncWorker) syncRename(pc *peerConn, rec *binlogRecord, cmd byte, lastExist *bool) (bool, error) {
	if len(rec.Extra) != 1 {
		return false, fmt.Errorf("%c record of %s without its second name: %w", rec.Op, rec.Name, protocol.ErrInvalid)
	}
	f, size, err := w.openLocal(rec.Name)
	if err != nil {
		return false, err
	}
	if f == nil && cmd == protocol.CmdSyncCreateLink {
		return false, nil
	}
	if f != nil {
		f.Close()
	}
	req := protocol.SyncTwoNamesRequest{First: rec.Name, Second: rec.Extra[0], Timestamp: int32(rec.Timestamp), Group: w.s.cfg.GroupName}
	st, err := pc.request(cmd, 0, req.Encode(), nil, 0, 0)
	if err != nil {
		return false, err
	}
	switch {
	case f == nil && (st == 0 || st == protocol.EEXIST || st == protocol.ENOENT):
		return true, nil
	case st == 0 || st == protocol.EEXIST:
		if cmd == protocol.CmdSyncRenameFile {
			return w.checkRenamed(pc, rec, size, lastExist)
		}
		return true, nil
	case st == protocol.ENOENT:
		return w.copyFile(pc, rec, rec.Name, protocol.CmdSyncCreateFile, lastExist)
	}
	return true, protocol.StatusErr(st)
}

// checkRenamed compares the size of the peer's renamed file with ours and
// sends ours whole when they differ. Our own receivers check the content
// before renaming; an upstream storage renames whatever it holds.
func (w *syncWorker) checkRenamed(pc *peerConn, rec *binlogRecord, size int64, lastExist *bool) (bool, error) {
	peerSize, err := w.peerFileSize(pc, rec.Name)
	if err != nil {
		return true, err
	}
	if peerSize == size {
		return true, nil
	}
	w.log.Warn("peer's renamed file differs in size, sending it whole", "name", rec.Name, "peer_size", peerSize, "size", size)
	cmd := protocol.CmdSyncUpdateFile
	if peerSize < 0 {
		cmd = protocol.CmdSyncCreateFile
	}
	return w.copyFile(pc, rec, rec.Name, cmd, lastExist)
}

// inSyncWindow reports whether now (local time) is within
// sync_start_time..sync_end_time ("HH:MM", inclusive; a window whose end is
// before its start spans midnight). Unset or unparsable bounds mean always.
func (s *Server) inSyncWindow(now time.Time) bool {
	start, ok1 := minuteOfDay(s.cfg.SyncStartTime)
	end, ok2 := minuteOfDay(s.cfg.SyncEndTime)
	if !ok1 || !ok2 || start == end || start == 0 && end == 23*60+59 {
		return true
	}
	m := now.Hour()*60 + now.Minute()
	if start < end {
		return m >= start && m <= end
	}
	return m >= start || m <= end
}

func minuteOfDay(hhmm string) (int, bool) {
	h, m, ok := strings.Cut(hhmm, ":")
	hi, err1 := strconv.Atoi(h)
	mi, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hi < 0 || hi > 23 || mi < 0 || mi > 59 {
		return 0, false
	}
	return hi*60 + mi, true
}
