package storagenode

import (
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Under a stream of uploads the binlog holds runs of small new files.
// Sent one by one, each costs the sender a write, a read that finds
// nothing, a wait and a read, and the peer as much again: more than
// storing the file. Once replication has fallen behind, a run of them
// goes in one pipelined exchange instead (fdfsnet.Pipeline): every
// request in one write, then the replies, which the peer sends together
// (conn.reply). Any other record, a file too large to go in the send
// buffer, a peer that last answered EEXIST (the next creates are probed
// first, copyFile) or a sync_interval throttle keeps the one-by-one
// replay.
//
// Only behind, or for a run held back while the storage was busy with
// client writes (sync_yield.go): a replication that keeps up sends each
// file as it comes, its requests interleaved with the clients' (a batch
// makes the first of its files wait for the others: with one uploader the
// peer gets each file about as soon); pipelining it during a burst of
// uploads takes the CPU the uploads would use (C test_upload, 20,000
// uploads in under a second: 27,194 vs 35,255/s) to finish replicating
// sooner. A storage catching up (back after an outage, a new one getting
// its old files, the end of a burst, a burst longer than batchLag)
// pipelines, at a fraction of the CPU per file.

// batchMax is the most records one pipelined exchange carries.
const batchMax = 32

// batchLag is how far behind (record timestamp to now) replication must
// be to pipeline: binlog timestamps are whole seconds.
const batchLag = 3 * time.Second

// behind reports whether the record line is batchLag old or older.
func behind(line string, now time.Time) bool {
	age, ok := recordAge(line, now)
	return ok && age >= batchLag
}

// batchItem is one record of a batch: its line and length in the binlog,
// and the file sent for it (nil: the file is gone, nothing is sent).
type batchItem struct {
	line string
	n    int
	f    *regfile.File
	size int64
}

// batch replays the run of creates of small files that starts with the
// record line (n bytes), if there is one of at least two records; false
// when the caller must replay line alone.
func (ss *syncSession) batch(line string, n int) (bool, error) {
	if !ss.pipelining || ss.lastExist || ss.w.s.cfg.SyncInterval > 0 || !ss.heldRun && !behind(line, time.Now()) {
		return false, nil
	}
	if _, _, more := ss.rd.Peek(n); !more {
		return false, nil // a lone record: nothing to batch it with
	}
	items, reqs := ss.collect(line, n)
	defer func() {
		for _, it := range items {
			if it.f != nil {
				it.f.Close()
			}
		}
	}()
	if len(items) < 2 {
		return false, nil
	}
	var statuses []byte
	var err error
	if len(reqs) > 0 {
		ss.pc.last = time.Now()
		statuses, err = ss.pc.Pipeline(reqs)
		ss.w.nPipelined.Add(int64(len(statuses)))
	}
	var sentBytes, okBytes int64
	defer ss.w.s.stats.update(func(b *protocol.StatBlock) {
		b.TotalSyncOutBytes += sentBytes
		b.SuccessSyncOutBytes += okBytes
	})
	k := 0
	for _, it := range items {
		if it.f == nil {
			if derr := ss.done(it.line, it.n, false, nil); derr != nil {
				return true, derr
			}
			continue
		}
		if k == len(statuses) {
			break // no answer about this one: sent again next session
		}
		st := statuses[k]
		k++
		sentBytes += it.size
		if st == 0 || st == protocol.EEXIST {
			okBytes += it.size
		}
		ss.lastExist = st == protocol.EEXIST
		var rerr error
		if st != 0 && st != protocol.EEXIST {
			rerr = protocol.StatusErr(st)
		}
		if derr := ss.done(it.line, it.n, true, rerr); derr != nil {
			return true, derr
		}
	}
	if err != nil {
		return true, &connError{err}
	}
	return true, nil
}

// collect gathers the batch that starts with line: consecutive creates of
// data files (no trunk slot, no metadata) that fit one pipeline, each file
// opened for its request.
func (ss *syncSession) collect(line string, n int) ([]batchItem, []fdfsnet.Request) {
	var items []batchItem
	var reqs []fdfsnet.Request
	var total int64
	for skip := 0; len(items) < batchMax; {
		if skip > 0 {
			var ok bool
			if line, n, ok = ss.rd.Peek(skip); !ok {
				break
			}
		}
		it, req, ok := ss.prepare(line, n)
		if !ok || (req != nil && total+req.Size() > fdfsnet.PipelineMax) {
			if it.f != nil {
				it.f.Close()
			}
			break
		}
		if req != nil {
			total += req.Size()
			reqs = append(reqs, *req)
		}
		items = append(items, it)
		skip += n
	}
	return items, reqs
}

// prepare opens the file of a record that can go in a batch and makes its
// request (nil when the file is gone); false when the record cannot.
func (ss *syncSession) prepare(line string, n int) (batchItem, *fdfsnet.Request, bool) {
	it := batchItem{line: line, n: n}
	rec, err := binlog.Parse(line)
	if err != nil {
		return it, nil, false
	}
	op, fwd := ss.forwarded(rec)
	if !fwd || op != binlog.OpCreate || strings.HasSuffix(rec.Name, metaSuffix) {
		return it, nil, false
	}
	name, path, err := ss.w.s.store.resolve(rec.Name)
	if err != nil || name.Trunk {
		return it, nil, false
	}
	f, err := regfile.OpenFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return it, nil, true // deleted since: nothing to send, as copyFile
	}
	if err != nil {
		return it, nil, false
	}
	it.f, it.size = f, f.Size()
	if it.size > fdfsnet.InlineMax {
		return it, nil, false
	}
	sr := protocol.SyncFileRequest{Name: rec.Name, FileSize: it.size, Timestamp: int32(rec.Timestamp), Group: ss.w.s.cfg.GroupName}
	return it, &fdfsnet.Request{Cmd: protocol.CmdSyncCreateFile, Fixed: sr.Encode(), Content: f, N: it.size}, true
}
