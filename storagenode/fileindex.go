package storagenode

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// listScanCap bounds the index entries one LIST_FILES request examines
// (a filter that matches little must not hold the index for a whole
// pass); the reply then says how far it got and the caller goes on from
// there.
const listScanCap = 200_000

// fileIndex lists the files this storage holds, for LIST_FILES and the
// scrubber. It is built at start by walking the store paths (what is on
// disk is what this storage can serve, whatever its binlog says: restored
// files have no record, deleted ones keep theirs), plus the trunk files
// the binlogs name whose slots still hold them (walkTrunk), and kept current by
// every binlog record the storage writes (note), which covers uploads,
// deletes, renames and partial writes, made here or replayed from a peer,
// and by disk recovery (restored). Changes that come while the walk runs
// are queued and applied after it, so the walk's view of a file never
// overrides a later change.
//
// The sorted views (by name, by newest) are built on first use (sorted
// outside the lock) and then kept by merging the names changed since into
// them: a page after a burst of uploads costs O(n + k log k) for k
// changes, not a full sort.
type fileIndex struct {
	mu       sync.Mutex
	ready    chan struct{} // closed when the walk is done
	building bool
	pending  []indexEvent
	files    map[string]indexEntry // logical name → entry
	views    [2][]indexRef         // by protocol.ListByName, ListByNewest; nil = not built
	changed  [2]map[string]struct{}
	sorting  [2]bool // a view is being sorted outside mu: record changes for it
	// viewBuild serialises the first build of each view.
	viewBuild [2]sync.Mutex
}

type indexEntry struct {
	time int64 // create time from the name, unix seconds
	size int64 // bytes
	crc  uint32
}

type indexRef struct {
	time int64
	name string
}

type indexEvent struct {
	add  bool // false: remove
	name string
	size int64
	crc  uint32
	time int64
}

func newFileIndex() *fileIndex {
	return &fileIndex{
		ready:    make(chan struct{}),
		building: true,
		files:    map[string]indexEntry{},
		changed:  [2]map[string]struct{}{{}, {}},
	}
}

// less orders refs in the listing order o.
func less(o byte, a, b indexRef) int {
	if o == protocol.ListByNewest && a.time != b.time {
		return cmp.Compare(b.time, a.time)
	}
	return strings.Compare(a.name, b.name)
}

// listable returns the parsed name of a file the walk of a data directory
// lists: a valid file name that is neither a metadata file nor a trunk
// name (trunk files come from walkTrunk; the trunk containers do not
// parse as names).
func listable(name string) *fileid.Name {
	if strings.HasSuffix(name, metaSuffix) {
		return nil
	}
	n, err := fileid.Parse(name)
	if err != nil || n.Trunk {
		return nil
	}
	return n
}

// entryOf stats path when the name does not tell the size (appender and
// slave files, partial writes); false when the file is gone.
func entryOf(n *fileid.Name, path string, restat bool) (indexEvent, bool) {
	ev := indexEvent{add: true, name: n.Name(), size: n.Size, crc: n.CRC32, time: n.Timestamp}
	if n.Size < 0 || restat {
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			return ev, false
		}
		ev.size = fi.Size()
	}
	return ev, true
}

// apply records ev, or queues it while the walk runs.
func (ix *fileIndex) apply(ev indexEvent) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.building {
		ix.pending = append(ix.pending, ev)
		return
	}
	ix.applyLocked(ev)
}

func (ix *fileIndex) applyLocked(ev indexEvent) {
	if ev.add {
		ix.files[ev.name] = indexEntry{time: ev.time, size: ev.size, crc: ev.crc}
	} else {
		delete(ix.files, ev.name)
	}
	for o := range ix.views {
		if ix.views[o] != nil || ix.sorting[o] {
			ix.changed[o][ev.name] = struct{}{}
		}
	}
}

// finish ends the build: the walked entries, then the changes queued
// during the walk.
func (ix *fileIndex) finish(walked []indexEvent) {
	ix.mu.Lock()
	for _, ev := range walked {
		ix.files[ev.name] = indexEntry{time: ev.time, size: ev.size, crc: ev.crc}
	}
	for _, ev := range ix.pending {
		ix.applyLocked(ev)
	}
	ix.pending, ix.building = nil, false
	ix.mu.Unlock()
	close(ix.ready)
}

// ensureView builds the view of order o if it does not exist yet. The
// sort (about a second for a million names) runs outside mu, so that
// uploads and deletes are not held up; the changes made meanwhile are
// merged in by view.
func (ix *fileIndex) ensureView(o byte) {
	ix.viewBuild[o].Lock()
	defer ix.viewBuild[o].Unlock()
	ix.mu.Lock()
	if ix.views[o] != nil {
		ix.mu.Unlock()
		return
	}
	v := make([]indexRef, 0, len(ix.files))
	for name, e := range ix.files {
		v = append(v, indexRef{e.time, name})
	}
	ix.changed[o] = map[string]struct{}{}
	ix.sorting[o] = true
	ix.mu.Unlock()
	slices.SortFunc(v, func(a, b indexRef) int { return less(o, a, b) })
	ix.mu.Lock()
	ix.views[o], ix.sorting[o] = v, false
	ix.mu.Unlock()
}

// view returns the refs in order o (built by ensureView), with the
// changes since merged in.
func (ix *fileIndex) view(o byte) []indexRef {
	v := ix.views[o]
	ch := ix.changed[o]
	if len(ch) == 0 {
		return v
	}
	added := make([]indexRef, 0, len(ch))
	for name := range ch {
		if e, ok := ix.files[name]; ok {
			added = append(added, indexRef{e.time, name})
		}
	}
	slices.SortFunc(added, func(a, b indexRef) int { return less(o, a, b) })
	merged := make([]indexRef, 0, len(v)+len(added))
	for _, r := range v {
		if _, gone := ch[r.name]; gone {
			continue
		}
		for len(added) > 0 && less(o, added[0], r) < 0 {
			merged = append(merged, added[0])
			added = added[1:]
		}
		merged = append(merged, r)
	}
	merged = append(merged, added...)
	ix.views[o] = merged
	ix.changed[o] = map[string]struct{}{}
	return merged
}

// page answers a LIST_FILES request from the index.
func (ix *fileIndex) page(req *protocol.ListFilesRequest) *protocol.ListFilesReply {
	ix.ensureView(req.Order)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	v := ix.view(req.Order)
	start := 0
	if req.After.Name != "" {
		after := indexRef{req.After.Time, req.After.Name}
		start, _ = slices.BinarySearchFunc(v, after, func(r, t indexRef) int { return less(req.Order, r, t) })
		if start < len(v) && v[start].name == after.name {
			start++
		}
	}
	reply := &protocol.ListFilesReply{}
	scanned := 0
	for i := start; i < len(v); i++ {
		r := v[i]
		reply.Through = protocol.ListKey{Time: r.time, Name: r.name}
		if e := ix.files[r.name]; matches(req, r.name, e) {
			reply.Entries = append(reply.Entries, protocol.ListEntry{Name: r.name, Time: e.time, Size: e.size, CRC32: e.crc})
			if len(reply.Entries) == int(req.Limit) {
				return reply
			}
		}
		if scanned++; scanned >= listScanCap {
			return reply
		}
	}
	reply.End = true
	return reply
}

func matches(req *protocol.ListFilesRequest, name string, e indexEntry) bool {
	switch {
	case req.CreatedFrom != 0 && e.time < req.CreatedFrom,
		req.CreatedTo != 0 && e.time >= req.CreatedTo,
		e.size < req.MinSize,
		req.MaxSize != 0 && e.size > req.MaxSize,
		req.Prefix != "" && !strings.HasPrefix(name, req.Prefix):
		return false
	case req.Ext == "":
		return true
	}
	ext := ""
	if n, err := fileid.Parse(name); err == nil {
		ext = n.Ext
	}
	return ext == req.Ext
}

// note keeps the index current with a binlog record just written: op on
// name, with extra the old name of a rename.
func (s *Server) note(op binlog.Op, name, extra string) {
	switch op.Source() {
	case binlog.OpDelete:
		s.index.apply(indexEvent{name: name})
		return
	case binlog.OpRename:
		s.index.apply(indexEvent{name: extra})
	}
	if strings.HasSuffix(name, metaSuffix) {
		return
	}
	n, path, err := s.store.resolve(name)
	if err != nil {
		return
	}
	if ev, ok := s.entryFor(n, path, op.Partial()); ok {
		s.index.apply(ev)
	}
}

// buildIndex walks the data directories of every store path, adds the
// trunk files (walkTrunk) and hands what it found to the index.
func (s *Server) buildIndex() {
	var walked []indexEvent
	trunks := false // a trunk container was seen: trunk files may exist
	for idx := range s.store.paths {
		for hi := range s.store.subdirs {
			for lo := range s.store.subdirs {
				if s.recoveryStopped() {
					s.index.finish(walked)
					return
				}
				var saw bool
				walked, saw = s.walkDir(walked, idx, hi, lo)
				trunks = trunks || saw
			}
		}
	}
	if trunks {
		walked = s.walkTrunk(walked)
	}
	s.index.finish(walked)
	s.log.Info("file index built", "files", len(walked))
}

// walkDir appends the listable files of one data directory; true when it
// holds a trunk container.
func (s *Server) walkDir(out []indexEvent, idx, hi, lo int) ([]indexEvent, bool) {
	dir := s.store.dirOf(idx, hi, lo)
	f, err := os.Open(dir)
	if err != nil {
		return out, false
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		s.log.Warn("file index: reading a data directory failed", "dir", dir, "err", err)
	}
	prefix := fmt.Sprintf("M%02X/%02X/%02X/", idx, hi, lo)
	trunks := false
	for _, de := range ents {
		if de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if trunkContainer(de.Name()) {
			trunks = true
			continue
		}
		n := listable(prefix + de.Name())
		if n == nil {
			continue
		}
		ev := indexEvent{add: true, name: prefix + de.Name(), size: n.Size, crc: n.CRC32, time: n.Timestamp}
		if n.Size < 0 || de.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(dir + "/" + de.Name())
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			ev.size = fi.Size()
		}
		out = append(out, ev)
	}
	return out, trunks
}

// handleListFiles serves LIST_FILES (120): a page of the index, once the
// walk at start is done (within network_timeout, else EAGAIN).
func (s *Server) handleListFiles(cc *conn) error {
	b, err := cc.readRest()
	if err != nil {
		return err
	}
	req, err := protocol.DecodeListFilesRequest(b)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	if err := s.waitIndex(); err != nil {
		return err
	}
	return cc.reply(s.index.page(req).Encode())
}

// waitIndex waits for the walk at start, at most network_timeout.
func (s *Server) waitIndex() error {
	select {
	case <-s.index.ready:
		return nil
	default:
	}
	t := time.NewTimer(s.cfg.NetworkTimeout)
	defer t.Stop()
	select {
	case <-s.index.ready:
		return nil
	case <-t.C:
		return fmt.Errorf("file index still being built: %w", protocol.ErrAgain)
	case <-s.ctx.Done():
		return fmt.Errorf("closing: %w", protocol.ErrAgain)
	}
}
