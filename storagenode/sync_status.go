package storagenode

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/backoff"
)

// Status reports of an initial (old-file) sync's source (protocol.md §7):
// the source moves its peer WAIT_SYNC → SYNCING → OFFLINE on every
// tracker with REPORT_STATUS. A tracker that misses a report (down at
// that moment) keeps the earlier status, after a restart too (it is
// saved), and a storage's joins and beats do not move it; were that
// tracker to lead, its group list would have the source copy every file
// anew over a storage in service. So a missed report is owed to that
// tracker and sent again until it takes it, and a tracker already past
// the status reported is not told, so that a report never moves a
// serving storage back. Owed reports live in memory: a worker that
// starts (our restart) rechecks, once, every tracker about an initial sync
// its mark says we completed.

// statusOwedRetry is the pause between two rounds of owed reports.
const statusOwedRetry = 5 * time.Second

// advance moves the peer from status from to status to in our view and
// tells every tracker that lists it behind to. If no tracker could be
// asked our view goes back, so the next session reports again instead of
// the peer staying in from forever; the trackers that missed it while
// others took it are owed the report.
func (w *syncWorker) advance(from, to byte) error {
	w.status.Store(int32(to))
	trackers := w.s.cfg.TrackerServers
	err := fmt.Errorf("no tracker configured: %w", protocol.ErrNotFound)
	for attempt := 0; attempt < 3 && len(trackers) > 0; attempt++ {
		missed, rerr := w.reportRound(trackers, to)
		if missed < len(trackers) {
			w.log.Info("reported peer status", "status", protocol.StorageStatusName(to), "trackers_missed", missed)
			return nil
		}
		err = rerr
		if !w.sleep(syncStatusReportWait) {
			break
		}
	}
	w.status.CompareAndSwap(int32(to), int32(from))
	return fmt.Errorf("REPORT_STATUS %s: %w", protocol.StorageStatusName(to), err)
}

// reportRound reports status to to every tracker in trackers and returns
// how many missed it, with the last failure; if some took it, the others
// are owed it. Reports are made one round at a time (reportMu), so an
// owed report of an earlier status cannot overtake a later one.
func (w *syncWorker) reportRound(trackers []string, to byte) (int, error) {
	w.reportMu.Lock()
	defer w.reportMu.Unlock()
	var missed []string
	var err error
	for _, addr := range trackers {
		if _, rerr := w.reportTo(addr, owedReport{to: to}); rerr != nil {
			err = rerr
			missed = append(missed, addr)
		}
	}
	if len(missed) < len(trackers) {
		w.owe(trackers, missed, to)
	}
	return len(missed), err
}

// owedReport is a status report a tracker still has to hear: to, and,
// when until is set, only if that tracker names us the peer's initial-sync
// source with that until_timestamp (a recheck: the peer may have joined
// anew since, which the tracker gives another one).
type owedReport struct {
	to    byte
	until int64
}

// errNotOurs drops a recheck whose tracker has another decision.
var errNotOurs = errors.New("the tracker names another initial sync")

// reportTo tells tracker addr that the peer is in status r.to, unless it
// lists the peer past it already (STORAGE_GET_STATUS first; SYNC_SRC_REQ
// before for a recheck; one short connection for all). sent reports
// whether the tracker was told.
func (w *syncWorker) reportTo(addr string, r owedReport) (sent bool, err error) {
	b := w.brief.Load()
	ip, _, _ := strings.Cut(b.IP, ",")
	err = w.s.shortCall(addr, func(c *trackerConn) error {
		if r.until != 0 {
			reply, err := c.call(protocol.CmdStorageSyncSrcReq, (&protocol.SyncSrcRequest{Group: w.s.cfg.GroupName, DestID: b.ID}).Encode())
			if err != nil {
				return fmt.Errorf("SYNC_SRC_REQ: %w", err)
			}
			src, err := protocol.DecodeSyncSource(reply)
			if err != nil {
				return err
			}
			if src == nil || src.SrcID != w.s.selfID() || src.Until != r.until {
				return errNotOurs
			}
		}
		q := protocol.GroupAndAddr{Group: w.s.cfg.GroupName, Addr: protocol.FormatHostPort(ip, int(b.Port))}
		reply, err := c.call(protocol.CmdStorageGetStatus, q.Encode())
		if err != nil {
			return fmt.Errorf("GET_STATUS: %w", err)
		}
		cur, err := protocol.DecodeBriefs(reply)
		if err != nil || len(cur) != 1 {
			return fmt.Errorf("GET_STATUS reply of %d bytes: %w", len(reply), protocol.ErrInvalid)
		}
		if !statusBehind(cur[0].Status, r.to) {
			return nil
		}
		req := protocol.ReportStatus{Group: w.s.cfg.GroupName, Brief: protocol.Brief{Status: r.to, ID: b.ID, IP: b.IP}}
		if _, err := c.call(protocol.CmdStorageReportStatus, req.Encode()); err != nil {
			return err
		}
		sent = true
		return nil
	})
	return sent, err
}

// statusBehind reports whether a tracker listing the peer in status cur has not
// yet seen the initial sync reach status to.
func statusBehind(cur, to byte) bool {
	switch cur {
	case protocol.StatusInit, protocol.StatusWaitSync:
		return true
	case protocol.StatusSyncing:
		return to != protocol.StatusSyncing
	}
	return false
}

// owe records that the trackers in missed (of all) still have to hear
// status to, and that the others heard it; a goroutine of the worker
// sends the owed reports until each is taken or the worker ends (the
// peer deleted, renamed, or the server closing).
func (w *syncWorker) owe(all, missed []string, to byte) {
	w.owedMu.Lock()
	defer w.owedMu.Unlock()
	for _, addr := range all {
		delete(w.owed, addr)
	}
	for _, addr := range missed {
		w.oweLocked(addr, owedReport{to: to})
	}
}

// recheckTrackers owes every tracker, once per worker, the end of the
// peer's initial sync when our mark says we were its source and finished
// (need_sync_old=1, sync_old_done=1).
func (w *syncWorker) recheckTrackers() {
	m, err := loadMark(w.markPath())
	if err != nil || !m.NeedSyncOld || !m.SyncOldDone || m.Until == 0 {
		return
	}
	w.owedMu.Lock()
	defer w.owedMu.Unlock()
	for _, addr := range w.s.cfg.TrackerServers {
		w.oweLocked(addr, owedReport{to: protocol.StatusOffline, until: m.Until})
	}
}

// oweLocked records r as owed to addr and starts payOwed if it is not
// running. owedMu is held.
func (w *syncWorker) oweLocked(addr string, r owedReport) {
	if w.owed == nil {
		w.owed = map[string]owedReport{}
	}
	w.owed[addr] = r
	if !w.paying {
		w.paying = w.s.goTracked(w.payOwed)
	}
}

// payOwed sends the owed reports every statusOwedRetry until none is left.
func (w *syncWorker) payOwed() {
	for backoff.Sleep(w.ctx, statusOwedRetry) {
		w.owedMu.Lock()
		owed := slices.Collect(maps.Keys(w.owed))
		w.owedMu.Unlock()
		for _, addr := range owed {
			w.payOwedTo(addr)
		}
		w.owedMu.Lock()
		done := len(w.owed) == 0
		if done {
			w.paying = false
		}
		w.owedMu.Unlock()
		if done {
			return
		}
	}
	w.owedMu.Lock()
	w.paying = false
	w.owedMu.Unlock()
}

// payOwedTo sends tracker addr the report it is owed, if it still is.
func (w *syncWorker) payOwedTo(addr string) {
	w.reportMu.Lock()
	defer w.reportMu.Unlock()
	w.owedMu.Lock()
	r, ok := w.owed[addr]
	w.owedMu.Unlock()
	if !ok {
		return
	}
	sent, err := w.reportTo(addr, r)
	switch {
	case errors.Is(err, errNotOurs):
	case err != nil:
		w.log.Debug("owed status report not taken yet", "tracker", addr, "status", protocol.StorageStatusName(r.to), "err", err)
		return
	case sent:
		w.log.Info("reported peer status to a tracker that had missed it", "tracker", addr, "status", protocol.StorageStatusName(r.to))
	}
	w.owedMu.Lock()
	delete(w.owed, addr)
	w.owedMu.Unlock()
}
