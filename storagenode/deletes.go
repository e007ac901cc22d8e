package storagenode

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// deleteMemorySize is how many deletes a storage remembers (the newest):
// 8 bytes of ring and about 40 of map each, about 6 MB at most.
const deleteMemorySize = 1 << 17

// deleteMemory remembers when this storage deleted files, at a client's
// request or a peer's, so that a change a peer made before the delete
// and replays after it does not bring the file back. That happens when a
// file is deleted at a replica while its source is down with changes of
// it not yet replicated (a metadata set, an append, a modify, a
// truncate): back up, the source replays them, and the replica would
// write the metadata file as an orphan, or answer ENOENT to the append,
// which makes the source send the file whole. The delete then reaches
// the source and removes its copy: the file lived on at the replica
// only. Upstream's storages do the same.
//
// It holds the newest deleteMemorySize deletes, and a start fills it
// from the deletes of the current binlog file's last deleteTailBytes: a
// storage that deleted more files than that since no longer recognises
// such a change. File names are unique (time, source
// and CRC32 in them) except a slave's, which a client can upload again
// after deleting it: a change stamped after the delete applies.
type deleteMemory struct {
	mu    sync.Mutex
	seed  maphash.Seed
	at    map[uint64]int64 // hash of the logical name → delete time, unix seconds
	order []uint64         // ring of the hashes, oldest at next
	next  int
}

// deleteTailBytes is how much of the current binlog file a start reads
// for its deletes: about 200,000 records.
const deleteTailBytes = 16 << 20

func newDeleteMemory() *deleteMemory {
	return &deleteMemory{seed: maphash.MakeSeed(), at: map[uint64]int64{}}
}

// note remembers that name was deleted at ts (unix seconds).
func (d *deleteMemory) note(name string, ts int64) {
	h := maphash.String(d.seed, name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.at[h]; !ok {
		if len(d.order) < deleteMemorySize {
			d.order = append(d.order, h)
		} else {
			delete(d.at, d.order[d.next])
			d.order[d.next] = h
			d.next = (d.next + 1) % deleteMemorySize
		}
	}
	d.at[h] = max(d.at[h], ts)
}

// covers reports whether name was deleted here at ts or later: a change
// stamped ts is older than the delete (the same second counts as older).
func (d *deleteMemory) covers(name string, ts int64) bool {
	h := maphash.String(d.seed, name)
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.at[h]
	return ok && at >= ts
}

// staleChange reports whether a peer's change of name (a file or its
// "-m" metadata file, at path), stamped ts, comes after this storage
// deleted the file: the file is absent and its delete here is as recent
// as the change or more. Such a change is acknowledged and dropped.
func (s *Server) staleChange(name, path string, ts int32) bool {
	master, masterPath := name, path
	if base, ok := strings.CutSuffix(name, metaSuffix); ok {
		master, masterPath = base, strings.TrimSuffix(path, metaSuffix)
	}
	if !s.deletes.covers(master, int64(ts)) {
		return false
	}
	_, err := os.Lstat(masterPath)
	return os.IsNotExist(err)
}

// dropStale acknowledges a stale change (staleChange) without applying it
// or logging it: its content, if any, is read and dropped.
func (s *Server) dropStale(cc *conn, name string, ts int32) error {
	if err := discardBody(cc); err != nil {
		return err
	}
	s.log.Debug("change older than our delete of the file dropped", "name", name, "timestamp", ts)
	s.synced(cc, ts, name)
	return cc.reply(nil)
}

// logAbsentDelete logs and remembers a peer's delete of a file this storage
// does not hold, or of a metadata file it does not hold while it holds the
// file (sync_meta.go); upstream's storage answers ENOENT and records
// nothing. A create of the file from another member can still be on its way:
// in a group of three, a file reaches B while C is down, its source A goes
// down, C comes back, the file is deleted at B and B's delete reaches C; A,
// back, sends C its create, which would keep the file at C alone. The delete
// memory drops that create (older than the delete), and the record refills
// the memory at start and tells the scrubber (scrub_peers.go) not to fetch
// the file. Nothing changed on disk, so nothing is fsynced: a power loss
// costs the protection, never data.
func (s *Server) logAbsentDelete(ts time.Time, name string) error {
	if err := s.bl.Write(ts.Unix(), binlog.OpReplicaDelete, name, ""); err != nil {
		s.log.Error("binlog write failed", "op", string(binlog.OpReplicaDelete), "name", name, "err", err)
		return fmt.Errorf("binlog: %w", protocol.ErrIO)
	}
	s.note(binlog.OpReplicaDelete, name, "") // a trunk file's name may still be indexed
	s.deletes.note(name, ts.Unix())
	return nil
}

// rememberDeletes fills the delete memory from the tail of the current
// binlog file (the last deleteTailBytes): a storage restarted between a
// delete and its peer's late change still recognises the change.
func (s *Server) rememberDeletes() {
	if err := s.deletes.load(s.bl.Path(s.bl.Index()), deleteTailBytes); err != nil && !os.IsNotExist(err) {
		s.log.Warn("reading the binlog's recent deletes failed", "err", err)
	}
}

// load notes the deletes of the binlog file at path, of its last tail
// bytes: the line the cut falls in, malformed lines and a partial last
// line are skipped, and so is the delete of a metadata file right after
// its file's (a file's delete logs both: the file's covers its metadata,
// sync_meta.go), which leaves the memory's room to other deletes.
func (d *deleteMemory) load(path string, tail int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	from := max(0, fi.Size()-tail)
	br := bufio.NewReaderSize(io.NewSectionReader(f, from, tail), binlog.MaxLine)
	if from > 0 {
		if _, err := br.ReadString('\n'); err != nil {
			return nil
		}
	}
	var prev string // the name of the delete just before, if the record before was one
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rec, perr := binlog.Parse(strings.TrimSuffix(line, "\n"))
		if perr != nil || rec.Op.Source() != binlog.OpDelete {
			prev = ""
			continue
		}
		if prev == "" || rec.Name != prev+metaSuffix {
			d.note(rec.Name, rec.Timestamp)
		}
		prev = rec.Name
	}
}
