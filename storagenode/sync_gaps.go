package storagenode

import (
	"fmt"
	"slices"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// A session starts sending where the peer's mark file says, which can be
// behind what the peer has had: the mark is written every
// write_mark_file_freq records or every second (markDue), and after a
// power loss (a process that died keeps its place: sync_progress.go) the
// records since then are sent again. A session that starts where the
// last one stopped sends again only the record then in flight. Most of their
// creates the peer has (EEXIST; lastExist then asks QUERY_FILE_INFO
// first), but a file the peer deleted since (a client's delete there,
// which has not reached us yet) has no copy there, and sending its create
// again brings it back: an upstream storage keeps no memory of deletes,
// and then skips sending its own delete of a file it holds ("exists, maybe
// created later?"), so the file, deleted and acknowledged, lives on in
// both (tests/interop TestMixedChaos found it).
//
// Such a create, a gap (the peer has the files created before it but not
// it), is deferred instead of sent. Sync goes in binlog order: when the
// peer has a file created after the gap, it had the gap's create too and
// deleted the file since, so the gap is dropped and the peer's delete
// reaches us in its turn. A gap no later file confirms (the peer may never
// have had it: the last records before a crash) stays deferred, and the
// deferred records' next round waits gapHold: long enough for the peer's
// delete, if there is one, to reach us first and remove the file here (an
// upstream storage whose connection to us broke waits 2 x
// heart_beat_interval + 1 s before it connects again). Only records the
// binlog had when the session began can be gaps: a later one cannot have
// been sent before; after an exact start, only the first record
// (gapTracker.end). Past maxGapRun gaps in a row the peer is taken to lack
// the files (a backlog it never had, after the files the mark was behind
// on), and the creates go as before: one at a time, the pending gaps in
// the next round. A peer of ours gets runs of creates pipelined
// (sync_batch.go) without this: it drops a create of a file it deleted
// (deletes.go).

// gapHold is how long the deferred records wait after a gap, heartbeat
// being heart_beat_interval.
func gapHold(heartbeat time.Duration) time.Duration { return 3*heartbeat + 5*time.Second }

// maxGapRun is the most creates in a row the peer may lack for them to
// be taken as its deletes.
const maxGapRun = 32

// errGap is a gap's deferral: a status that is no permanent refusal, so
// setAside defers the record.
var errGap = fmt.Errorf("the peer has the files created before it and no copy of it (deleted there since, or never sent): deferred: %w", protocol.ErrAgain)

// gapTracker holds the gaps of a session's current run of creates the
// peer had. Its zero value tracks nothing (a deferred record's replay).
type gapTracker struct {
	held *deferred // where gaps are deferred; nil: no gaps
	// end bounds the records that may be gaps (packPos): the binlog's end
	// when the session began, or just past its first record after an
	// exact start.
	end   uint64
	old   bool          // the record in hand is before end
	hold  time.Duration // gapHold
	names []string      // gaps deferred since the peer last had a file
}

// at notes the binlog position of the record in hand.
func (g *gapTracker) at(index int, offset int64) { g.old = packPos(index, offset) < g.end }

// gap reports whether a create of name, of which the peer has no copy
// after having had the creates before it, is a gap, and notes it.
func (g *gapTracker) gap(name string) bool {
	if g.held == nil || !g.old {
		return false
	}
	if len(g.names) >= maxGapRun {
		g.names = nil // they stay deferred
		return false
	}
	if g.held.hasCreate(name) {
		return false // refused before and deferred: the peer never had it
	}
	g.names = append(g.names, name)
	g.held.lastTry, g.held.pause = time.Now(), max(g.held.pause, g.hold)
	return true
}

// hasCreate reports whether a create of name is among the deferred
// records (nil d: none).
func (d *deferred) hasCreate(name string) bool {
	return d != nil && slices.ContainsFunc(d.lines, func(line string) bool { return isCreateOf(line, name) })
}

// isCreateOf reports whether the binlog record line is a create of name.
func isCreateOf(line, name string) bool {
	rec, err := binlog.Parse(line)
	return err == nil && rec.Op.Source() == binlog.OpCreate && rec.Name == name
}

// peerHasLater drops the pending gaps from the deferred records: the peer
// has a file created after them, so it deleted them.
func (g *gapTracker) peerHasLater(w *syncWorker) error {
	if len(g.names) == 0 {
		return nil
	}
	names := g.names
	g.names = nil
	before := len(g.held.lines)
	g.held.lines = slices.DeleteFunc(g.held.lines, func(line string) bool {
		return slices.ContainsFunc(names, func(name string) bool { return isCreateOf(line, name) })
	})
	if len(g.held.lines) == before {
		return nil
	}
	w.noteBacklog(g.held)
	w.log.Info("creates not sent again: the peer has deleted the files since (it has later ones)", "names", names)
	return g.held.save()
}
