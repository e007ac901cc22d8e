package storagenode

import (
	"fmt"
	"io"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// syncSession is one connection's worth of replication to a peer: the
// binlog position, the peer's mark and its deferred records, and the
// connection the records go over (held by the embedded replayer). It
// lives as long as the connection; after an error the worker backs off
// and starts a new one from the mark file, so no state outlives it that
// is not on disk.
type syncSession struct {
	replayer // w, pc, mark, the deferred records and the EEXIST hint of the records sent

	rd        *binlog.Reader
	markPath  string
	exact     bool          // the session starts where the last one stopped (alignMark)
	progress  *progressFile // the position past the mark (sync_progress.go)
	savedScan int64         // mark.ScanRows when the mark file was last written
	savedAt   time.Time     // when the mark file was last written (or the session began)
	freq      int64         // records between two writes of the mark file
	wait      time.Duration // pause at the end of the binlog before looking again
	// pipelining is set when the peer serves pipelined requests (a
	// storage of ours, protocol.PipelineProbe).
	pipelining bool
	// heldRun is set from the first record held back for client writes
	// (sync_yield.go) until the end of the binlog: the run held back goes
	// pipelined.
	heldRun bool
}

// session runs one connection to the peer: the mark and reader set up,
// the status reports an earlier session owed, then the binlog replay
// until an error, a status change or the end. nil means the session ended
// for a reason that is no failure (no backoff).
func (w *syncWorker) session() error {
	ss, err := w.newSession()
	if err != nil {
		return err
	}
	defer ss.close()
	if !ss.awaitTurn() {
		return nil
	}
	if err := ss.connect(); err != nil {
		return err
	}
	if err := ss.catchUpStatus(); err != nil {
		return err
	}
	var dropped int
	if ss.held, dropped, err = loadDeferred(w.deferredPath()); err != nil {
		return err
	}
	index, size, _ := w.s.bl.Stat()
	end := packPos(index, size)
	if ss.exact {
		// Only the record in flight when the last session ended can have
		// reached the peer unrecorded: the ones after it are no gaps.
		end = packPos(ss.rd.Pos()) + 1
	}
	ss.gaps = gapTracker{held: ss.held, end: end, hold: gapHold(w.s.cfg.HeartBeatInterval)}
	if dropped > 0 {
		w.log.Warn("deferred records file repaired: torn or malformed lines dropped (the binlog replays a torn one)", "file", w.deferredPath(), "dropped", dropped)
	}
	w.noteBacklog(ss.held)
	return ss.loop()
}

// newSession loads or starts the peer's mark and puts a binlog reader at
// its position. A fresh mark is written at once, so that a restart finds
// the decision of the trackers (are we the source, from when) without
// asking them again.
func (w *syncWorker) newSession() (*syncSession, error) {
	mark, fresh, err := w.initMark()
	if err != nil {
		return nil, err
	}
	exact := false
	if !fresh {
		if exact, err = w.alignMark(mark); err != nil {
			return nil, err
		}
	}
	ss := &syncSession{
		exact:    exact,
		replayer: replayer{w: w, mark: mark},
		rd:       binlog.NewReader(w.s.store.syncDir(), w.s.bl.Index, mark.Index, mark.Offset),
		markPath: w.markPath(),
		freq:     int64(w.s.cfg.WriteMarkFileFreq),
		wait:     w.s.cfg.SyncWaitMsec,
	}
	if ss.freq <= 0 {
		ss.freq = defaultMarkFreq
	}
	if ss.wait <= 0 {
		ss.wait = defaultSyncWait
	}
	if ss.progress, err = openProgress(progressPath(ss.markPath)); err != nil {
		ss.rd.Close()
		return nil, err
	}
	if fresh {
		if err := ss.startMark(); err != nil {
			ss.close()
			return nil, err
		}
	}
	ss.savedScan, ss.savedAt = mark.ScanRows, time.Now()
	w.pos.Store(packPos(ss.rd.Pos()))
	return ss, nil
}

// alignMark moves the binlog position of a mark left by an earlier run
// to where the reader misses no record (binlog.Align): a power loss can
// leave a mark, which is fsynced, ahead of the binlog's unsynced tail, and
// a damaged mark can point inside a record. The record under the position
// is sent again, which a peer takes as a no-op (EEXIST, ENOENT). The
// repaired mark is saved. Marks this run wrote are right: each mark file
// is checked once per run.
//
// exact reports that the position is where the last session stopped (a
// mark written by this run, or one the progress file vouches for,
// sync_progress.go), not behind it: only the record then in flight can
// have reached the peer since.
func (w *syncWorker) alignMark(m *syncMark) (exact bool, err error) {
	if v, done := w.s.marksAligned.Load(w.markPath()); done {
		return v.(bool), nil
	}
	from := binlog.Pos{Index: m.Index, Offset: m.Offset}
	sent, known := readProgress(progressPath(w.markPath()), from)
	ahead := known && sent != from
	if ahead {
		w.log.Info("sync mark behind the records the peer took before the last stop: going on from there, not sending them again",
			"file", w.markPath(), "from_index", m.Index, "from_offset", m.Offset, "to_index", sent.Index, "to_offset", sent.Offset)
		from = sent
	}
	p, why, err := binlog.Align(w.s.store.syncDir(), w.s.bl.Index(), w.s.bl.Opened(), from)
	if err != nil {
		return false, err
	}
	exact = known && why == ""
	w.s.marksAligned.Store(w.markPath(), exact)
	if why == "" && !ahead {
		return exact, nil
	}
	if why != "" {
		w.log.Warn("sync mark repaired", "file", w.markPath(), "why", why, "from_index", from.Index, "from_offset", from.Offset, "to_index", p.Index, "to_offset", p.Offset)
	}
	m.Index, m.Offset = p.Index, p.Offset
	return exact, atomicfile.WriteFile(w.markPath(), m.encode(), fileMode)
}

// startMark writes a fresh mark. A peer whose old files come from another
// source gets only our records from its until timestamp on: the older
// ones are skipped before the position is first saved.
func (ss *syncSession) startMark() error {
	if !ss.mark.NeedSyncOld && ss.mark.Until > 0 {
		if err := skipBefore(ss.rd, ss.mark.Until); err != nil {
			return err
		}
		ss.mark.Index, ss.mark.Offset = ss.rd.Pos()
	}
	return ss.writeMark()
}

// skipBefore advances rd past the records older than until.
func skipBefore(rd *binlog.Reader, until int64) error {
	for {
		line, n, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec, perr := binlog.Parse(line); perr == nil && rec.Timestamp >= until {
			return nil
		}
		rd.Commit(n)
	}
}

// close ends the session. Records scanned since the mark was last written
// are saved now, so a restart does not send them again; a failure only
// costs that resend, so it is logged.
func (ss *syncSession) close() {
	if err := ss.saveIfDirty(); err != nil {
		ss.w.log.Warn("writing mark file failed", "err", err)
	}
	if ss.pc != nil {
		ss.pc.hangUp()
	}
	ss.progress.close()
	ss.rd.Close()
}

// awaitTurn waits until the peer may be synced by us: only its old-file
// sync source syncs a storage that is not ACTIVE yet, the others wait for
// it (without asking the trackers again). false when the worker must end.
func (ss *syncSession) awaitTurn() bool {
	for !ss.mark.NeedSyncOld && ss.w.peerStatus() != protocol.StatusActive {
		if !ss.w.sleep(statusPollInterval) {
			return false
		}
	}
	return true
}

// connect dials the peer and introduces us (REPORT_SERVER_ID): the peer
// takes sync commands only from a storage it knows as a group member.
func (ss *syncSession) connect() error {
	pc, err := ss.w.dial()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	ss.pc = pc
	req := protocol.ReportServerIDRequest{ID: ss.w.s.selfID()}
	st, err := pc.request(protocol.CmdReportServerID, 0, req.Encode(), nil, 0, 0)
	if err != nil {
		return fmt.Errorf("REPORT_SERVER_ID: %w", err)
	}
	if st != 0 {
		return fmt.Errorf("REPORT_SERVER_ID: %w", protocol.StatusErr(st))
	}
	// Pipelined creates (sync_batch.go) only go to a storage of ours.
	st, err = pc.request(protocol.CmdActiveTest, protocol.PipelineProbe, nil, nil, 0, 0)
	if err != nil {
		return fmt.Errorf("ACTIVE_TEST: %w", err)
	}
	ss.pipelining = st == protocol.PipelineProbe
	return nil
}

// catchUpStatus reports, as the old-file sync source, the peer's status
// changes that are due: WAIT_SYNC becomes SYNCING when we start, and a
// peer whose old-file sync was done by an earlier session (that could not
// report it, or was cut short) goes OFFLINE, from where it comes ONLINE
// by itself.
func (ss *syncSession) catchUpStatus() error {
	if !ss.mark.NeedSyncOld {
		return nil
	}
	if ss.w.peerStatus() == protocol.StatusWaitSync {
		if err := ss.w.advance(protocol.StatusWaitSync, protocol.StatusSyncing); err != nil {
			return err
		}
	}
	if ss.w.peerStatus() == protocol.StatusSyncing && ss.mark.SyncOldDone {
		return ss.w.advance(protocol.StatusSyncing, protocol.StatusOffline)
	}
	return nil
}

// loop replays the binlog, one record per turn, until an error, the end
// of the worker, or the peer or the clock leaving the states in which we
// sync it. Deferred records get their turn first, when they are due.
func (ss *syncSession) loop() error {
	for !ss.w.stopped() {
		if !ss.mayGoOn() {
			return nil
		}
		if err := ss.retryDeferred(); err != nil {
			return err
		}
		line, n, err := ss.rd.Next()
		if err == io.EOF {
			if err := ss.idle(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if ss.yields(line, time.Now()) {
			ss.heldRun = true
			if err := ss.keepAlive(); err != nil {
				return err
			}
			ss.waitRecords()
			continue
		}
		if batched, err := ss.batch(line, n); batched || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if err := ss.step(line, n); err != nil {
			return err
		}
		if !ss.pace() {
			return nil
		}
	}
	return nil
}

// mayGoOn reports whether the peer is still one we sync (ACTIVE, or
// SYNCING from us) and the clock within sync_start_time..sync_end_time.
// Otherwise the session ends without error: the worker waits for a
// status change or the window.
func (ss *syncSession) mayGoOn() bool {
	if s := ss.w.peerStatus(); s != protocol.StatusActive && s != protocol.StatusSyncing {
		return false
	}
	return ss.w.s.inSyncWindow(time.Now())
}

// step replays one record and moves past it. A record the peer refuses
// for now is set aside (sync_defer.go) instead of being retried in place,
// so one stuck file does not hold back the rest; a malformed record is
// skipped. The mark is written when due (markDue), bounding what a crash
// makes us send again.
func (ss *syncSession) step(line string, n int) error {
	rec, err := binlog.Parse(line)
	if err != nil {
		ss.w.skip(line, err)
		return ss.done(line, n, false, nil)
	}
	ss.gaps.at(ss.rd.Pos())
	sent, err := ss.replay(rec)
	return ss.done(line, n, sent, err)
}

// done moves past a record replayed with the outcome sent, err: a
// record the peer refused is set aside, the position and the counters
// advance, and the mark is written when it is due (markDue).
func (ss *syncSession) done(line string, n int, sent bool, err error) error {
	if err != nil {
		if err := ss.w.setAside(ss.held, line, err); err != nil {
			return err
		}
	}
	ss.rd.Commit(n)
	ss.w.pos.Store(packPos(ss.rd.Pos()))
	ss.mark.ScanRows++
	if sent {
		ss.mark.SyncRows++
	}
	if ss.markDue(time.Now()) {
		return ss.saveMark()
	}
	ss.noteProgress()
	return nil
}

// noteProgress writes the reader's position to the progress file
// (sync_progress.go).
func (ss *syncSession) noteProgress() {
	index, offset := ss.rd.Pos()
	ss.progress.write(binlog.Pos{Index: ss.mark.Index, Offset: ss.mark.Offset}, binlog.Pos{Index: index, Offset: offset})
}

// markDue says whether the mark must be written now: every freq records
// (write_mark_file_freq, as upstream) and at least every markSaveInterval
// while records go by. A crash makes us send again what we sent since the
// mark was written, and a create sent again to an upstream storage that
// deleted the file meanwhile brings the file back there for good (it keeps
// no memory of deletes, and then skips sending its own delete of a file
// it holds: "exists, maybe created later?"); under a steady load 500
// records were several seconds of them.
func (ss *syncSession) markDue(now time.Time) bool {
	return ss.mark.ScanRows-ss.savedScan >= ss.freq || now.Sub(ss.savedAt) >= markSaveInterval
}

// pace sleeps sync_interval between two records, when one is set (it
// throttles replication in favour of client traffic). false when the
// worker must end.
func (ss *syncSession) pace() bool {
	if ss.w.s.cfg.SyncInterval <= 0 {
		return true
	}
	return ss.w.sleep(ss.w.s.cfg.SyncInterval)
}

// idle runs at the end of the binlog: an old-file sync is complete there,
// the position is saved (the peer is caught up: a restart should not
// rescan the last records), the connection is kept alive, and the session
// waits for new records.
func (ss *syncSession) idle() error {
	ss.heldRun = false
	if err := ss.finishOldSync(); err != nil {
		return err
	}
	if err := ss.saveIfDirty(); err != nil {
		return err
	}
	if err := ss.keepAlive(); err != nil {
		return err
	}
	ss.waitRecords()
	return nil
}

// finishOldSync marks the old-file sync done once it reached the end of
// the binlog and moves the peer from SYNCING to OFFLINE. The mark is saved
// first: if the report fails, the next session finds the sync done and
// reports again (catchUpStatus) instead of resending everything.
func (ss *syncSession) finishOldSync() error {
	if !ss.mark.NeedSyncOld || ss.mark.SyncOldDone {
		return nil
	}
	ss.mark.SyncOldDone = true
	if err := ss.saveMark(); err != nil {
		return err
	}
	if ss.w.peerStatus() == protocol.StatusSyncing {
		if err := ss.w.advance(protocol.StatusSyncing, protocol.StatusOffline); err != nil {
			return err
		}
	}
	ss.w.log.Info("old-file sync done", "records", ss.mark.SyncRows)
	return nil
}

// keepAlive sends ACTIVE_TEST when nothing was sent for a heartbeat
// interval, so that neither the peer nor anything in between drops the
// idle connection, and a peer gone is noticed before the next record.
func (ss *syncSession) keepAlive() error {
	if time.Since(ss.pc.last) < ss.w.s.cfg.HeartBeatInterval {
		return nil
	}
	st, err := ss.pc.request(protocol.CmdActiveTest, 0, nil, nil, 0, 0)
	if err != nil {
		return fmt.Errorf("ACTIVE_TEST: %w", err)
	}
	if st != 0 {
		return fmt.Errorf("ACTIVE_TEST: %w", protocol.StatusErr(st))
	}
	return nil
}

// waitRecords pauses sync_wait_msec before the binlog is read again (the
// writer does not signal new records; upstream polls the same way). Only
// the end of the worker cuts it short: a status change is seen after it.
func (ss *syncSession) waitRecords() {
	t := time.NewTimer(ss.wait)
	defer t.Stop()
	select {
	case <-ss.w.ctx.Done():
	case <-t.C:
	}
}

// saveMark writes the reader's position and the counters to the peer's
// mark file, crash-safely: after a crash the sync resumes there.
func (ss *syncSession) saveMark() error {
	ss.mark.Index, ss.mark.Offset = ss.rd.Pos()
	if err := ss.writeMark(); err != nil {
		return err
	}
	ss.savedScan, ss.savedAt = ss.mark.ScanRows, time.Now()
	return nil
}

// writeMark writes the mark file. A mark this run wrote is right and
// must not be checked against the binlog as it was at start (alignMark):
// it can be past that end by the records written since.
func (ss *syncSession) writeMark() error {
	if err := atomicfile.WriteFile(ss.markPath, ss.mark.encode(), fileMode); err != nil {
		return err
	}
	ss.w.s.marksAligned.Store(ss.markPath, true)
	ss.noteProgress()
	return nil
}

// saveIfDirty saves the mark when records were scanned since it was last
// written.
func (ss *syncSession) saveIfDirty() error {
	if ss.mark.ScanRows == ss.savedScan {
		return nil
	}
	return ss.saveMark()
}
