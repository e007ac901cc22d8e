package storagenode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// maxPeerMissing bounds the files one pass takes from the peers' listings
// (its memory): more are found by the next pass.
const maxPeerMissing = 10000

// maxListReply bounds a peer's LIST_FILES reply of scrubPage entries
// (bytes; an entry is at most 21 bytes and a 255-byte name).
const maxListReply = scrubPage*(21+255) + 1024

// scrubPeers fetches the files that the ACTIVE peers of the group hold and
// this storage never had: a create that never reached it (a newcomer whose
// old-file source was lost after the copy, a record skipped after two
// refusals, a late file an upstream source does not forward). Only files
// older than storage_sync_file_max_delay are taken (younger ones are
// replication's, and reads of them are answered from their source,
// source_read.go), only names with no record in this storage's binlogs (a
// file deleted here, or whose delete reached here first, stays deleted),
// and only while this storage is ACTIVE (a newcomer's copy is the old-file
// sync's). A file is taken only when every ACTIVE peer holds it (one that
// lacks it may have deleted it) and its copy verifies against its name
// (normal files); appender and slave files are reported, not fetched.
// Upstream's storages do not list their files (EINVAL): they are skipped.
func (s *Server) scrubPeers(t *throttle) {
	peers, active, err := s.groupView()
	if err != nil || !active || len(peers) == 0 {
		return
	}
	cutoff := time.Now().Add(-s.params.Load().SyncFileMaxDelay).Unix()
	missing := map[string]bool{}
	for _, addr := range peers {
		if err := s.missingAt(addr, cutoff, missing); err != nil {
			s.log.Info("scrub: listing a peer's files failed", "peer", addr, "err", err)
		}
	}
	if err := s.dropRecorded(missing); err != nil {
		s.log.Warn("scrub: reading the binlog failed", "err", err)
		return // an incomplete replay could bring deleted files back
	}
	names := make([]string, 0, len(missing))
	for name := range missing {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if s.recoveryStopped() {
			return
		}
		s.scrubAbsent(name, peers, t)
	}
}

// missingAt adds to missing the files of the peer at addr created before
// cutoff (unix seconds) that this storage's index lacks, up to
// maxPeerMissing in all.
func (s *Server) missingAt(addr string, cutoff int64, missing map[string]bool) error {
	pc, err := s.dialPeer(s.ctx, addr)
	if err != nil {
		return err
	}
	defer pc.hangUp()
	req := &protocol.ListFilesRequest{Group: s.cfg.GroupName, Order: protocol.ListByName, Limit: scrubPage, CreatedTo: cutoff}
	for len(missing) < maxPeerMissing {
		if s.recoveryStopped() {
			return s.ctx.Err()
		}
		b, err := pc.call(protocol.CmdListFiles, 0, req.Encode(), maxListReply)
		if err != nil {
			return err
		}
		page, err := protocol.DecodeListFilesReply(b)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if !s.index.has(e.Name) && len(missing) < maxPeerMissing {
				missing[e.Name] = true
			}
		}
		if page.End || page.Through.Name <= req.After.Name {
			return nil
		}
		req.After = page.Through
	}
	return nil
}

// dropRecorded removes from missing every name this storage's binlogs
// have a record of: a file it had (and deleted, or lost: the lost-file
// scrub's) or whose delete reached it without the file (sync_recv.go).
func (s *Server) dropRecorded(missing map[string]bool) error {
	for i := 0; i <= s.bl.Index() && len(missing) > 0; i++ {
		err := binlog.EachRecord(s.bl.Path(i), func(rec *binlog.Record) error {
			delete(missing, strings.TrimSuffix(rec.Name, metaSuffix))
			if rec.Op.Source() == binlog.OpRename && len(rec.Extra) > 0 {
				delete(missing, rec.Extra[0])
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// scrubAbsent fetches one file the peers hold and this storage lacks, with
// its metadata, and reports it.
func (s *Server) scrubAbsent(name string, peers []string, t *throttle) {
	n, path, err := s.store.resolve(name)
	if err != nil || s.index.has(name) || s.store.gone(n) {
		return
	}
	outcome := protocol.ScrubUnrepaired
	if verifiable(n) {
		if err := s.takeAbsent(n, path, peers); err != nil {
			s.log.Warn("scrub: fetching a file the peers hold failed", "name", name, "err", err)
		} else {
			outcome = protocol.ScrubRepaired
			t.wait(s, int(n.Size))
		}
	}
	s.log.Warn("scrub: file the peers hold is missing here", "name", name, "outcome", string(outcome))
	s.scrub.record(protocol.ScrubFinding{Name: name, Kind: protocol.ScrubMissing, Outcome: outcome, Time: time.Now().Unix()})
}

// takeAbsent places a verified copy of n and logs it as a replica, then
// its metadata when a peer has some.
func (s *Server) takeAbsent(n *fileid.Name, path string, peers []string) error {
	if err := s.heldByAll(n, peers); err != nil {
		return err
	}
	exp, _ := expectedOf(n, path)
	if err := s.repairFrom(peers, n, path, exp, false); err != nil {
		return err
	}
	if err := s.logTaken(n, path); err != nil {
		return err
	}
	if n.Trunk {
		return nil // trunk files carry no metadata file
	}
	return s.takeMeta(n, path+metaSuffix, peers)
}

// logTaken logs a fetched file as a replica, under its lock and only while
// it is still here: a delete since it was placed has logged its own
// record, and a create logged after it would tell the lost-file scrub the
// file should be here.
func (s *Server) logTaken(n *fileid.Name, path string) error {
	defer s.lockName(n.Name()).Unlock()
	if _, _, err := s.store.stat(n, path); err != nil {
		return fmt.Errorf("deleted as it came: %w", err)
	}
	return s.writeBinlog(time.Now(), binlog.OpReplicaCreate, n.Name(), "")
}

// takeMeta writes the metadata of n from the first peer that has some (one
// may not have had it replicated yet), as a new file only and while the
// file is still here: metadata replicated meanwhile is newer and stays,
// and a delete meanwhile leaves no orphan.
func (s *Server) takeMeta(n *fileid.Name, path string, peers []string) error {
	b, err := s.peerMeta(n, peers)
	if err != nil || b == nil {
		return err
	}
	defer s.lockName(n.Name()).Unlock()
	if _, err := os.Lstat(strings.TrimSuffix(path, metaSuffix)); err != nil {
		return fmt.Errorf("file gone before its metadata came: %w", err)
	}
	if err := s.createMeta(path, b, time.Unix(n.Timestamp, 0)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return s.writeBinlog(time.Now(), binlog.OpReplicaCreate, n.Name()+metaSuffix, "")
}

// peerMeta returns the packed metadata of n from the first peer that has
// some; nil when every peer answers it has none.
func (s *Server) peerMeta(n *fileid.Name, peers []string) ([]byte, error) {
	none := 0
	for _, addr := range peers {
		pc, err := s.dialPeer(s.ctx, addr)
		if err != nil {
			continue
		}
		var b bytes.Buffer
		err = pc.meta(n.Name(), &b)
		pc.hangUp()
		switch {
		case err == nil:
			return b.Bytes(), nil
		case errors.Is(err, protocol.ErrNotFound):
			none++
		}
	}
	if none == len(peers) {
		return nil, nil
	}
	return nil, fmt.Errorf("no peer answered for the metadata of %s: %w", n.Name(), protocol.ErrNotFound)
}

// createMeta writes b at path through a synced temp file linked into place
// (fs.ErrExist when path exists), with mtime ts.
func (s *Server) createMeta(path string, b []byte, ts time.Time) error {
	tmp, err := s.stageFile(filepath.Dir(path), ts, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}
