package storagenode

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Replication yields to client writes. Replaying a record costs the two
// storages more CPU than the client's upload of the file cost this one
// (measured under FastDFS's test_upload: about 250 µs a file sent one at
// a time, against 130-150 µs an upload), and during a burst of uploads it
// takes that CPU from them. So while this storage serves client writes in
// parallel (two or more at once now, or in the last yieldWindow) the sync
// sessions hold back the records younger than yieldMax; once a record is
// that old it goes whatever the load, so a peer is never more than
// yieldMax behind because of this, and the run held back goes to a peer
// of ours in pipelined batches (sync_batch.go, heldRun), at about 100 µs
// a file. One client at a time (the usual site, a one-thread client)
// holds nothing back.

// yieldMax is how long replication holds back a record at most. Binlog
// timestamps are whole seconds: a record goes 2 to 3 s after its change.
const yieldMax = 3 * time.Second

// yieldWindow is how long after the last moment of two or more client
// writes in flight replication still holds back young records.
const yieldWindow = 300 * time.Millisecond

// writeLoad tracks the client writes (uploads, appends, modifies) in
// flight on a storage.
type writeLoad struct {
	inflight atomic.Int32
	busyAt   atomic.Int64 // unix nanoseconds two or more were last in flight; 0: never
}

// begin counts a client write starting at now; end must follow.
func (l *writeLoad) begin(now time.Time) {
	if l.inflight.Add(1) >= 2 {
		l.busyAt.Store(now.UnixNano())
	}
}

// end counts a client write done at now.
func (l *writeLoad) end(now time.Time) {
	if l.inflight.Add(-1) >= 1 {
		l.busyAt.Store(now.UnixNano()) // two were in flight until now
	}
}

// busy reports whether two or more client writes are in flight, or were
// within yieldWindow before now.
func (l *writeLoad) busy(now time.Time) bool {
	if l.inflight.Load() >= 2 {
		return true
	}
	at := l.busyAt.Load()
	return at != 0 && now.UnixNano()-at < int64(yieldWindow)
}

// recordAge is how old the binlog record line is at now, by the whole
// seconds of its timestamp (negative after the clock stepped back); false
// for a line without a timestamp, which is neither young nor behind, and
// for one past maxRecordTime, whose age in nanoseconds would overflow.
func recordAge(line string, now time.Time) (time.Duration, bool) {
	f, _, _ := strings.Cut(line, " ")
	ts, err := strconv.ParseInt(f, 10, 64)
	if err != nil || ts < 0 || ts > maxRecordTime {
		return 0, false
	}
	return time.Duration(now.Unix()-ts) * time.Second, true
}

// maxRecordTime bounds the binlog timestamps recordAge takes (unix
// seconds, the year 2514): a damaged record's huge one overflowed the
// age, which then read as young and held the record back while busy.
const maxRecordTime = 1 << 34

// yields reports whether the session holds the record line back for now:
// the storage is busy with client writes and the record is young.
func (ss *syncSession) yields(line string, now time.Time) bool {
	age, ok := recordAge(line, now)
	return ok && age < yieldMax && ss.w.s.writes.busy(now)
}
