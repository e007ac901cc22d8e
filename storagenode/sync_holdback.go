package storagenode

import (
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The trackers send a read to a replica once the timestamp it reports for
// the file's source (SYNC_REPORT) has passed the file's creation time. A
// record this storage refuses for now (no space, a failing disk) is
// deferred by its source, which goes on with the next records
// (sync_defer.go); the timestamps of those would carry the report past
// the refused file, and reads of a file that is not here would come here.
// So a refusal holds the timestamp reported for its source below the
// refused record's until a later record about the same name (the retry, a
// delete, a rename) is taken. A refusal is forgotten once the record is
// older than storage_sync_file_max_delay (the trackers then take the file
// as synced everywhere anyway), and at most maxRefusals names are kept
// per source.

const maxRefusals = 1 << 12

// refusals maps the names of a source's refused records to the records'
// timestamps (unix seconds).
type refusals map[string]int64

// noteRefused records that the record about name from src, of timestamp
// ts, was refused for now.
func (r *replicator) noteRefused(src, name string, ts int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.refused[src]
	if m == nil {
		if len(r.refused) >= maxSyncSources {
			return
		}
		m = refusals{}
		r.refused[src] = m
	}
	if old, ok := m[name]; ok && old <= ts || !ok && len(m) >= maxRefusals {
		return
	}
	m[name] = ts
	r.recvVer++
}

// takenLocked ends the refusals of names from src; the caller holds r.mu.
func (r *replicator) takenLocked(src string, names []string) {
	m := r.refused[src]
	for _, n := range names {
		if _, ok := m[n]; ok {
			delete(m, n)
			r.recvVer++
		}
	}
	if m != nil && len(m) == 0 {
		delete(r.refused, src)
	}
}

// reportedLocked is the timestamp to report for src: what was received
// from it, held below its oldest refusal still in force. The caller holds
// r.mu.
func (r *replicator) reportedLocked(src string, received int64, now time.Time) int64 {
	maxAge := int64(r.s.params.Load().SyncFileMaxDelay / time.Second)
	for name, ts := range r.refused[src] {
		if now.Unix()-ts > maxAge {
			delete(r.refused[src], name)
			continue
		}
		received = min(received, ts-1)
	}
	return received
}

// refusing notes err, this storage's refusal of the record about name of
// timestamp ts from the connection's source, when the source will send the
// record again (not an answer that means applied, gone or never), and
// returns err.
func (s *Server) refusing(cc *conn, name string, ts int32, err error) error {
	switch st := protocol.StatusOf(err); {
	case cc.syncPeer == "", st == protocol.EEXIST, st == protocol.ENOENT, permanent(st):
	default:
		s.repl.noteRefused(cc.syncPeer, name, int64(ts))
	}
	return err
}
