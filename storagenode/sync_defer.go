package storagenode

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Records a peer cannot take for now are set aside so that one stuck
// record does not hold back the rest of that peer's binlog (upstream's
// sync thread retries the same record forever, so a peer out of space
// also stops receiving deletes). A record the peer refuses with a
// status other than the permanent ones (its disk is full, read-only or
// failing) is appended to data/sync/<peer>.deferred before the worker
// moves past it, and the deferred records are replayed again every
// deferRetryInterval until the peer takes them. Replaying sends the
// file as it is here at that time, so a late retry converges like an
// in-order one; a deferred delete is not replayed once the name exists
// here again (a metadata file set anew since).
//
// A record refused with a permanent status (EINVAL, ENAMETOOLONG, ...:
// the peer says it will never take it) is deferred once too, and skipped
// (logged at error level) when the retry is refused the same way: a
// refusal that was not permanent after all (a trunk file the peer was
// still making, session 23) then costs a delay, not the peer's copy.
// EPERM means the peer does not count us as a member of the group (yet):
// the session ends and starts over, nothing is skipped.
// Both counts are kept per peer (SyncBacklog). Past maxDeferred records
// the worker stops moving on and retries the record in hand, as
// upstream does, so a peer that is down for long costs bounded disk.

const (
	maxDeferred = 1 << 16 // deferred records per peer (about 100 bytes each)
	// The deferred records are retried every heartbeat interval (at least
	// minDeferRetry); each round in which the peer took none of them
	// doubles the pause, up to maxDeferRetry, since a refused file is sent
	// whole every time.
	minDeferRetry = time.Second
	maxDeferRetry = 5 * time.Minute
)

// deferred is a peer's set-aside records, in binlog order.
type deferred struct {
	path    string
	lines   []string
	lastTry time.Time
	pause   time.Duration // until the next retry round; 0: the base pause
}

func (w *syncWorker) deferredPath() string {
	return siblingPath(w.markPath(), deferredExt)
}

// loadDeferred reads a peer's deferred records. A last line cut short by
// a crash (or the zeros a power loss leaves) is dropped: its record was
// not committed past, so the binlog replays it. A line that is no record
// is dropped too (it would be skipped as malformed). When anything was
// dropped the file is rewritten at once, so that the next record is not
// appended to a torn one; dropped counts the lines and bytes cut.
func loadDeferred(path string) (d *deferred, dropped int, err error) {
	d = &deferred{path: path, lastTry: time.Now()}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	end := bytes.LastIndexByte(b, '\n') + 1
	if end < len(b) {
		dropped++
	}
	for _, l := range strings.Split(string(b[:end]), "\n") {
		if l == "" {
			continue
		}
		if _, perr := binlog.Parse(l); perr != nil || len(l) >= binlog.MaxLine {
			dropped++
			continue
		}
		d.lines = append(d.lines, l)
	}
	if dropped > 0 {
		if err := d.save(); err != nil {
			return nil, 0, err
		}
	}
	return d, dropped, nil
}

// add appends line durably (before the worker commits past it).
func (d *deferred) add(line string) error {
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("deferring a sync record: %w", err)
	}
	if len(d.lines) == 0 {
		// The first retry comes a pause after the refusal, not on the
		// next turn of the loop.
		d.lastTry = time.Now()
	}
	d.lines = append(d.lines, line)
	return nil
}

// save rewrites the file with the records still deferred.
func (d *deferred) save() error {
	if len(d.lines) == 0 {
		if err := os.Remove(d.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return atomicfile.WriteFile(d.path, []byte(strings.Join(d.lines, "\n")+"\n"), fileMode)
}

// peerAnswer returns the status of err when it is the peer's answer about
// a record; false when the connection failed (a *connError, whatever
// status its cause carries) or the error is our own.
func peerAnswer(err error) (byte, bool) {
	var ce *connError
	var se *protocol.StatusError
	if errors.As(err, &ce) || !errors.As(err, &se) {
		return 0, false
	}
	return se.Code, true
}

// setAside handles a record the peer refused with err: deferred, or
// skipped when the refusal is permanent and the deferred file is full. It
// returns err itself when the record must be retried now (not a refusal,
// or the deferred file is full).
func (w *syncWorker) setAside(d *deferred, line string, err error) error {
	code, ok := peerAnswer(err)
	if !ok || code == protocol.EPERM {
		// EPERM: the peer does not (yet) count us as a member of the
		// group; the session starts over once it does.
		return err
	}
	if len(d.lines) >= maxDeferred {
		if permanent(code) {
			w.skip(line, err)
			return nil
		}
		return fmt.Errorf("%d records deferred already, retrying this one: %w", len(d.lines), err)
	}
	if aerr := d.add(line); aerr != nil {
		return aerr
	}
	w.noteBacklog(d)
	w.log.Warn("peer refused a record, deferring it", "record", line, "err", err, "deferred", len(d.lines))
	return nil
}

// skip gives up on a record: the peer will never take it (or it is no
// record).
func (w *syncWorker) skip(line string, err error) {
	w.nSkipped.Add(1)
	w.log.Error("skipping a record the peer will never take", "record", line, "err", err)
}

// retryDeferred replays the deferred records when they are due, keeping
// those the peer still refuses. A connection error ends the round (the
// records not tried yet stay) and is returned.
func (ss *syncSession) retryDeferred() error {
	w, d := ss.w, ss.held
	base := max(w.s.cfg.HeartBeatInterval, minDeferRetry)
	if len(d.lines) == 0 || time.Since(d.lastTry) < max(d.pause, base) {
		return nil
	}
	d.lastTry = time.Now()
	before := len(d.lines)
	var keep []string
	var connErr error
	for i, line := range d.lines {
		if connErr != nil || w.stopped() {
			keep = append(keep, d.lines[i:]...)
			break
		}
		err := ss.replayDeferred(line)
		if err == nil {
			continue
		}
		code, ok := peerAnswer(err)
		switch {
		case !ok || code == protocol.EPERM:
			connErr = err
			keep = append(keep, line)
		case permanent(code):
			w.skip(line, err)
		default:
			keep = append(keep, line)
		}
	}
	d.lines = keep
	if len(keep) == before && connErr == nil {
		d.pause = min(2*max(d.pause, base), maxDeferRetry)
	} else {
		d.pause = base
	}
	if len(keep) != before {
		if err := d.save(); err != nil {
			return err
		}
		w.log.Info("deferred sync records retried", "applied_or_skipped", before-len(keep), "still_deferred", len(keep))
	}
	w.noteBacklog(d)
	return connErr
}

// replayDeferred replays one deferred record. A delete whose name exists
// here again was overtaken by a newer create, which the peer gets (or got)
// from its own record.
func (ss *syncSession) replayDeferred(line string) error {
	rec, err := binlog.Parse(line)
	if err != nil {
		return err
	}
	if rec.Op.Source() == binlog.OpDelete {
		f, _, err := ss.w.openLocal(rec.Name)
		if err != nil {
			return err
		}
		if f != nil {
			f.Close()
			return nil
		}
	}
	// A replayer of its own: the EEXIST hint of the binlog's run says
	// nothing about a record out of its order.
	r := replayer{w: ss.w, pc: ss.pc, mark: ss.mark, held: ss.held}
	_, err = r.replay(rec)
	return err
}

// SyncBacklog is what replication to one peer has set aside.
type SyncBacklog struct {
	Peer     string // the peer's id (its IP in IP mode)
	Deferred int64  // records refused for now, retried later
	Skipped  int64  // records refused for good since start (logged)
}

// SyncBacklog returns the backlog of every running sync worker, by peer.
func (s *Server) SyncBacklog() []SyncBacklog {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	var out []SyncBacklog
	for id, w := range s.repl.workers {
		out = append(out, SyncBacklog{Peer: id, Deferred: w.nDeferred.Load(), Skipped: w.nSkipped.Load()})
	}
	slices.SortFunc(out, func(a, b SyncBacklog) int { return strings.Compare(a.Peer, b.Peer) })
	return out
}

func (w *syncWorker) noteBacklog(d *deferred) { w.nDeferred.Store(int64(len(d.lines))) }
