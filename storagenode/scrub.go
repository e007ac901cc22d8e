package storagenode

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/internal/backoff"
)

// Scrubber bounds.
const (
	scrubPage        = 1000 // index entries taken per step of a pass
	maxScrubFindings = 1000 // findings kept for the report (the newest)
)

// scrubber re-reads the files of this storage, checks each against what
// it must match (the size and CRC32 a normal file's name encodes, the
// checksums a gateway kept in the metadata of a normal or slave file:
// expectedOf) and replaces a corrupt or missing one with a copy from a
// peer of the group that matches the same. Appender files, and slave files
// without a stored checksum, carry nothing to check their content against:
// a missing one is reported, never repaired blindly.
type scrubber struct {
	mu     sync.Mutex
	report protocol.ScrubReport // Running: a pass holds the scrubber
}

// begin claims the scrubber for a pass; false when one runs already.
func (sc *scrubber) begin() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.report.Running {
		return false
	}
	sc.report.Running = true
	return true
}

// startScrub runs passes in the background when scrub_bytes_per_second
// is set: the first at start, then one every scrub_pass_interval (the
// next one at once when a pass took longer).
func (s *Server) startScrub() {
	if s.cfg.ScrubBytesPerSecond <= 0 {
		return
	}
	s.goTracked(func() {
		for {
			start := time.Now()
			if s.scrub.begin() {
				s.scrubPass(s.cfg.ScrubBytesPerSecond)
			}
			if !backoff.Sleep(s.ctx, s.cfg.ScrubPassInterval-time.Since(start)) {
				return
			}
		}
	})
}

// handleScrub serves SCRUB (121): the report, after starting a pass when
// asked (in the background: a pass takes as long as the data at its rate).
func (s *Server) handleScrub(cc *conn) error {
	b, err := cc.readRest()
	if err != nil {
		return err
	}
	req, err := protocol.DecodeScrubRequest(b)
	if err != nil {
		return err
	}
	if err := s.checkGroup(req.Group); err != nil {
		return err
	}
	if req.Flags&protocol.ScrubRunNow != 0 && s.scrub.begin() {
		if !s.goTracked(func() { s.scrubPass(req.Rate) }) {
			s.scrub.end(0, 0, false)
		}
	}
	s.scrub.mu.Lock()
	r := s.scrub.report
	r.Findings = append([]protocol.ScrubFinding(nil), r.Findings...)
	s.scrub.mu.Unlock()
	return cc.reply(r.Encode())
}

// throttle paces reads at rate bytes/s (0: unthrottled).
type throttle struct {
	rate  int64
	start time.Time
	bytes int64
}

func (t *throttle) wait(s *Server, n int) bool {
	if t.rate <= 0 {
		return true
	}
	t.bytes += int64(n)
	due := t.start.Add(time.Duration(float64(t.bytes) / float64(t.rate) * float64(time.Second)))
	if wait := time.Until(due); wait > 0 {
		return backoff.Sleep(s.ctx, wait)
	}
	return s.ctx.Err() == nil
}

// scrubPass checks every file of the index once; the caller claimed the
// scrubber (begin).
func (s *Server) scrubPass(rate int64) {
	<-s.index.ready
	t := &throttle{rate: rate, start: time.Now()}
	var files, bytes int64
	req := &protocol.ListFilesRequest{Order: protocol.ListByName, Limit: scrubPage}
	for {
		page := s.index.page(req)
		for _, e := range page.Entries {
			if s.recoveryStopped() {
				s.scrub.end(files, bytes, false)
				return
			}
			files++
			bytes += s.scrubFile(e.Name, t)
		}
		if page.End {
			break
		}
		req.After = page.Through
	}
	for _, name := range s.lostFiles() {
		s.scrubLost(name)
	}
	s.scrubPeers(t)
	s.scrub.end(files, bytes, true)
	s.log.Info("scrub pass done", "files", files, "bytes", bytes)
}

// end releases the scrubber after a pass that checked files and read
// bytes, complete or not.
func (sc *scrubber) end(files, bytes int64, complete bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	r := &sc.report
	r.Running = false
	r.Files += files
	r.Bytes += bytes
	if complete {
		r.Passes++
		r.LastPassAt = time.Now().Unix()
	}
}

// scrubFile checks one file and repairs it if it is bad; it returns the
// bytes it read.
func (s *Server) scrubFile(name string, t *throttle) int64 {
	n, path, err := s.store.resolve(name)
	if err != nil || s.store.gone(n) {
		return 0
	}
	kind, read := s.checkFile(n, path, t)
	if kind == 0 || !s.index.has(name) {
		return read // healthy, or deleted while it was read
	}
	outcome := protocol.ScrubUnrepaired
	if exp, ok := expectedOf(n, path); ok {
		if err := s.repair(n, path, exp, true); err != nil {
			s.log.Warn("scrub: repair failed", "name", name, "err", err)
		} else {
			outcome = protocol.ScrubRepaired
		}
	}
	s.log.Warn("scrub: bad file", "name", name, "kind", string(kind), "outcome", string(outcome))
	s.scrub.record(protocol.ScrubFinding{Name: name, Kind: kind, Outcome: outcome, Time: time.Now().Unix()})
	return read
}

// scrubLost reports a file the binlog says this storage holds that is
// gone from disk and index, and repairs it (adding it to the index) when
// its name carries its checksum.
func (s *Server) scrubLost(name string) {
	n, path, err := s.store.resolve(name)
	if err != nil || s.store.gone(n) {
		return
	}
	outcome := protocol.ScrubUnrepaired
	if exp, ok := expectedOf(n, path); ok {
		if err := s.repair(n, path, exp, false); err != nil {
			s.log.Warn("scrub: repair failed", "name", name, "err", err)
		} else if ev, ok := s.entryFor(n, path, false); ok {
			s.index.apply(ev)
			outcome = protocol.ScrubRepaired
		}
	}
	s.log.Warn("scrub: file lost while the storage was down", "name", name, "outcome", string(outcome))
	s.scrub.record(protocol.ScrubFinding{Name: name, Kind: protocol.ScrubMissing, Outcome: outcome, Time: time.Now().Unix()})
}

// verifiable reports whether the name carries the size and CRC32 of the
// file's content: normal files, in a trunk slot or not.
func verifiable(n *fileid.Name) bool { return !n.Appender && !n.Slave && n.Size >= 0 }

// checkFile returns ScrubMissing, ScrubCorrupt or 0 (healthy, or nothing
// to check it against) for the file of n at path, and the bytes it read.
func (s *Server) checkFile(n *fileid.Name, path string, t *throttle) (byte, int64) {
	if n.Trunk {
		return s.checkSlot(n, t)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return protocol.ScrubMissing, 0
	}
	if err != nil {
		return 0, 0 // unreadable for another reason: not ours to judge
	}
	defer f.Close()
	exp, ok := expectedOf(n, path)
	if !ok {
		return 0, 0
	}
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	sum := exp.newSums()
	for {
		k, err := f.Read(*bp)
		sum.Write((*bp)[:k])
		if !t.wait(s, k) {
			return 0, sum.n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return protocol.ScrubCorrupt, sum.n
		}
	}
	if !exp.matches(sum) {
		return protocol.ScrubCorrupt, sum.n
	}
	return 0, sum.n
}

func (sc *scrubber) record(f protocol.ScrubFinding) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	r := &sc.report
	switch f.Kind {
	case protocol.ScrubCorrupt:
		r.Corrupt++
	case protocol.ScrubMissing:
		r.Missing++
	}
	if f.Outcome == protocol.ScrubRepaired {
		r.Repaired++
	} else {
		r.Unrepaired++
	}
	r.Findings = append(r.Findings, f)
	if len(r.Findings) > maxScrubFindings {
		r.Findings = r.Findings[len(r.Findings)-maxScrubFindings:]
	}
}

// has reports whether name is in the index.
func (ix *fileIndex) has(name string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	_, ok := ix.files[name]
	return ok
}

// repair fetches the file from the first ACTIVE peer whose copy matches
// exp (the size and CRC32 of its name, the checksums of its metadata)
// into a temp file, then, under the
// file's lock and only if the file here is still bad and, when indexed is
// set, still in the index (a delete or a replicated copy may have come
// meanwhile), renames the copy into place. A healthy file is never
// overwritten.
func (s *Server) repair(n *fileid.Name, path string, exp *expected, indexed bool) error {
	peers, err := s.activePeers()
	if err != nil {
		return err
	}
	return s.repairFrom(peers, n, path, exp, indexed)
}

// repairFrom is repair from the ACTIVE peers the caller has just listed.
func (s *Server) repairFrom(peers []string, n *fileid.Name, path string, exp *expected, indexed bool) error {
	var errs []error
	for _, addr := range peers {
		tmp, err := s.fetchVerified(addr, n, exp, filepath.Dir(path))
		if err != nil {
			errs = append(errs, fmt.Errorf("peer %s: %w", addr, err))
			continue
		}
		if n.Trunk {
			err = s.heldByAll(n, peers)
		}
		if err == nil {
			err = s.placeRepair(n, tmp, path, indexed)
		}
		os.Remove(tmp) // gone already after a rename
		return err
	}
	if len(errs) == 0 {
		return fmt.Errorf("no ACTIVE peer in group %s: %w", s.cfg.GroupName, protocol.ErrNotFound)
	}
	return errors.Join(errs...)
}

// fetchVerified downloads the file from the peer at addr into a synced
// temp file next to it (stageFile) and returns the temp file's path when
// the copy matches exp.
func (s *Server) fetchVerified(addr string, n *fileid.Name, exp *expected, dir string) (string, error) {
	pc, err := s.dialPeer(s.ctx, addr)
	if err != nil {
		return "", err
	}
	defer pc.hangUp()
	sum := exp.newSums()
	tmp, err := s.stageFile(dir, time.Unix(n.Timestamp, 0), func(w io.Writer) error {
		return pc.download(n.Name(), io.MultiWriter(w, sum))
	})
	if err != nil {
		return "", err
	}
	if !exp.matches(sum) {
		os.Remove(tmp)
		return "", fmt.Errorf("its copy (%d bytes, crc32 %08x) does not match the name or the metadata: %w", sum.n, sum.crc.Sum32(), protocol.ErrInvalid)
	}
	return tmp, nil
}

// placeRepair renames the verified copy tmp over path if the file there
// is still bad (and still indexed, when indexed is set).
func (s *Server) placeRepair(n *fileid.Name, tmp, path string, indexed bool) error {
	defer s.lockName(n.Name()).Unlock()
	if indexed && !s.index.has(n.Name()) {
		return fmt.Errorf("deleted meanwhile: %w", protocol.ErrNotFound)
	}
	if !indexed && s.deletes.covers(n.Name(), n.Timestamp) {
		return fmt.Errorf("deleted here meanwhile: %w", protocol.ErrNotFound)
	}
	if kind, _ := s.checkFile(n, path, &throttle{}); kind == 0 {
		return fmt.Errorf("healthy again (replicated meanwhile): %w", protocol.ErrExists)
	}
	if n.Trunk {
		return s.placeSlot(n, tmp)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// activePeers lists the ACTIVE storages of our group but us ("ip:port"),
// as the first tracker that answers sees them.
func (s *Server) activePeers() ([]string, error) {
	peers, _, err := s.groupView()
	return peers, err
}

// groupView returns the ACTIVE storages of our group but us ("ip:port")
// and whether we are ACTIVE, as the first tracker that answers sees them.
func (s *Server) groupView() (peers []string, active bool, err error) {
	var lastErr error
	for _, addr := range s.cfg.TrackerServers {
		list, err := s.groupStorages(addr)
		if err != nil {
			lastErr = err
			continue
		}
		me := s.selfID()
		for _, st := range list {
			switch {
			case st.Status != protocol.StatusActive:
			case st.ID == me:
				active = true
			default:
				peers = append(peers, net.JoinHostPort(st.IP, strconv.FormatInt(st.StoragePort, 10)))
			}
		}
		return peers, active, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no tracker configured: %w", protocol.ErrInvalid)
	}
	return nil, false, lastErr
}

// groupStorages asks the tracker at addr for the storages of our group.
func (s *Server) groupStorages(addr string) ([]protocol.StorageStat, error) {
	req := protocol.GroupAndID{Group: s.cfg.GroupName}
	var list []protocol.StorageStat
	err := s.shortCall(addr, func(c *trackerConn) error {
		b, err := c.call(protocol.CmdServerListStorage, req.Encode())
		if err == nil {
			list, err = protocol.DecodeStorageStats(b)
		}
		return err
	})
	return list, err
}
