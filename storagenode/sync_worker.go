package storagenode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/backoff"
)

// Sending side of replication (protocol.md §7): one worker per peer of the
// group replays our binlog on that peer, driven by the membership briefs
// of the trackers' beat replies.

// Pacing defaults when the configuration leaves them zero (upstream values).
const (
	defaultSyncWait      = 200 * time.Millisecond
	defaultMarkFreq      = 500
	markSaveInterval     = time.Second // the mark's age at most while records go by (markDue)
	maxSyncBackoff       = 30 * time.Second
	statusPollInterval   = time.Second // re-check of a peer waiting for a status change
	maxSyncReplyBody     = 1 << 10     // sync replies are empty
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
			r.retire(b.ID, w, protocol.StorageStatusName(b.Status))
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
			r.retire(id, w, "")
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

// activePeers returns the briefs of the group's other ACTIVE storages.
func (r *replicator) activePeers() []protocol.Brief {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []protocol.Brief
	for _, w := range r.workers {
		if b := w.brief.Load(); b != nil && b.Status == protocol.StatusActive {
			out = append(out, *b)
		}
	}
	return out
}

// retire stops the worker of peer id, which the trackers list as status
// (a tombstone), or no longer list ("").
func (r *replicator) retire(id string, w *syncWorker, status string) {
	w.log.Info("sync worker stopped: the peer left the group", "status", cmp.Or(status, "not listed"))
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
	exited chan struct{}                  // closed when run returns
	prev   *syncWorker                    // stopped worker for the same peer, waited for first
	// ctx is the worker's one stop signal: derived from the server's, and
	// ended by stop too.
	ctx    context.Context
	cancel context.CancelFunc

	nDeferred atomic.Int64 // records set aside for a retry (sync_defer.go)
	nSkipped  atomic.Int64 // records the peer refused for good, since start
	// nPipelined counts the records sent in pipelined batches since start
	// (sync_batch.go).
	nPipelined atomic.Int64

	// pos is the binlog position replayed so far, packed by packPos for
	// the metrics (metrics.go); 0 until a session ran.
	pos atomic.Uint64

	// owed maps a tracker that missed a status report to the status it
	// still has to hear; paying is set while payOwed runs. reportMu
	// orders the reports (sync_status.go).
	reportMu sync.Mutex
	owedMu   sync.Mutex
	owed     map[string]owedReport
	paying   bool
}

func newSyncWorker(s *Server, b protocol.Brief, prev *syncWorker) *syncWorker {
	w := &syncWorker{s: s, wake: make(chan struct{}, 1), exited: make(chan struct{}), prev: prev}
	w.ctx, w.cancel = context.WithCancel(s.ctx)
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

func (w *syncWorker) stop() { w.cancel() }

func (w *syncWorker) stopped() bool {
	return w.ctx.Err() != nil
}

// sleep waits d, a status change or the end; false when the worker must end.
func (w *syncWorker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.ctx.Done():
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
		// Waited for even when this worker is stopped first: its exited
		// must mean that no earlier worker of the peer still runs. A
		// membership that flips twice retires this one while it waits,
		// and the next worker waits for this one only (retired keeps the
		// last): returning at once let the next run beside the first,
		// both writing the peer's mark and deferred records.
		<-w.prev.exited
		w.prev = nil
	}
	if w.stopped() {
		return
	}
	w.log.Debug("sync worker started")
	defer w.log.Debug("sync worker stopped")
	w.recheckTrackers()
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: min(maxSyncBackoff, max(w.s.cfg.HeartBeatInterval, 100*time.Millisecond))}
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
		if w.s.store.initFlag.get(flagSyncOldDone) != flagDone || w.s.rec.pending.Load() || !w.s.inSyncWindow(time.Now()) {
			if !w.sleep(statusPollInterval) {
				return
			}
			continue
		}
		err := w.session()
		if err == nil {
			retry.Reset()
			if !w.sleep(statusPollInterval) {
				return
			}
			continue
		}
		if w.stopped() {
			return
		}
		pause := retry.Next()
		w.log.Info("sync session failed", "err", err, "retry_in", pause)
		if !backoff.Sleep(w.ctx, pause) {
			return
		}
	}
}

// dial connects to the peer, under the worker's context: stopping the
// worker (or the server) aborts a session blocked on the peer at once.
func (w *syncWorker) dial() (*peerConn, error) {
	b := w.brief.Load()
	return w.s.dialPeer(w.ctx, net.JoinHostPort(b.IP, strconv.Itoa(int(b.Port))))
}

// initMark loads the peer's mark file or starts a new one. A peer that has
// not started its initial sync, or has none, gets a fresh mark after
// asking the trackers (SYNC_SRC_REQ) whether we are its sync source.
func (w *syncWorker) initMark() (*syncMark, bool, error) {
	status := w.peerStatus()
	path := w.markPath()
	m, err := loadMark(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.log.Warn("bad mark file, starting over", "file", path, "err", err)
	}
	if m != nil && status > protocol.StatusWaitSync && status != protocol.StatusSyncing {
		return m, false, nil
	}
	need, until, err := w.syncSrcReq()
	if err != nil {
		return nil, false, err
	}
	if m != nil && keepMark(m, status, need, until) {
		if status <= protocol.StatusWaitSync && m.NeedSyncOld {
			w.log.Warn("peer listed WAIT_SYNC again by the trackers' decision this mark was made for (the same until_timestamp): a tracker missed our status reports; reporting them again instead of copying every file anew",
				"until_timestamp", until, "old_sync_done", m.SyncOldDone)
		}
		return m, false, nil
	}
	if m != nil {
		// The records between the old mark and until are not sent:
		// worth a line when a file turns out missing at the peer.
		w.log.Info("sync mark started afresh by the trackers' decision", "file", path, "peer_status", protocol.StorageStatusName(status),
			"need_sync_old", need, "until_timestamp", until, "old_index", m.Index, "old_offset", m.Offset)
	}
	return &syncMark{NeedSyncOld: need, Until: until}, true, nil
}

// keepMark reports whether mark m, found for a peer in status, still holds
// when the trackers say need (we are its initial-sync source) and until.
// SYNCING: unless we became the source since. WAIT_SYNC (INIT): only if
// it was made for the same decision; upstream starts such a peer afresh,
// but a peer goes WAIT_SYNC anew only as a new storage, which the trackers
// give a new until_timestamp (the time of its SYNC_DEST_REQ). The same
// one means a tracker that missed the end of the initial sync (down when
// it was reported) now leads: starting afresh would send the peer every
// file as we hold it now, over copies it may hold newer.
func keepMark(m *syncMark, status byte, need bool, until int64) bool {
	if status == protocol.StatusSyncing {
		return !need || m.NeedSyncOld
	}
	return until > 0 && m.Until == until && m.NeedSyncOld == need
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
		err := w.s.shortCall(addr, func(c *trackerConn) error {
			var err error
			reply, err = c.call(protocol.CmdStorageSyncSrcReq, req.Encode())
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
