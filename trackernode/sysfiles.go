package trackernode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// Sys-file copy (protocol.md §9): a tracker that starts without data, or
// after being stopped longer than 2×300 s, copies storage_groups_new.dat,
// storage_servers_new.dat, storage_sync_timestamp.dat and
// storage_changelog.dat from the best other tracker before accepting its
// first storage: TRACKER_GET_SYS_FILES_START (61), TRACKER_GET_ONE_SYS_FILE
// (63) per file and chunk, TRACKER_GET_SYS_FILES_END (62).

// sysFileNames are the files in upstream's index order.
var sysFileNames = [...]string{groupsFile, serversFile, syncFile, changelogFile}

// sysChunk is the most file bytes one 63 reply carries: upstream's
// TRACKER_MAX_PACKAGE_SIZE minus the header, the size field and one byte.
const sysChunk = 8<<10 - protocol.HeaderSize - 8 - 1

// maxSysFile bounds a copied file (the changelog grows by one line per
// deleted storage; the others by one record per storage).
const maxSysFile = 64 << 20

// sysSnapshot is what a 61 froze for the locking connection: the first three
// files rendered from memory (consistent with each other) and the
// changelog size.
type sysSnapshot struct {
	files        [3][]byte
	changelogLen int64
}

// TRACKER_GET_SYS_FILES_START (61): one copier at a time (EBUSY).
func (s *Server) sysFilesStart(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("sys files start with a body: %w", protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.groups) == 0 {
		return nil, fmt.Errorf("no groups to copy: %w", protocol.ErrNotFound)
	}
	if s.rel.sysLock != nil && s.rel.sysLock != cs {
		return nil, fmt.Errorf("sys files locked by another tracker: %w", protocol.ErrBusy)
	}
	files := s.render()
	cs.sys = &sysSnapshot{changelogLen: s.changelogSize}
	for i := range cs.sys.files {
		cs.sys.files[i] = files[i].data
	}
	s.rel.sysLock = cs
	return nil, nil
}

// TRACKER_GET_SYS_FILES_END (62).
func (s *Server) sysFilesEnd(cs *conn, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, fmt.Errorf("sys files end with a body: %w", protocol.ErrInvalid)
	}
	s.releaseSysLock(cs)
	return nil, nil
}

// releaseSysLock drops cs's snapshot and lock (END or disconnect).
func (s *Server) releaseSysLock(cs *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs.sys = nil
	if s.rel.sysLock == cs {
		s.rel.sysLock = nil
	}
}

// TRACKER_GET_ONE_SYS_FILE (63): index(1) offset(8) → file_size(8) + the
// bytes from offset (at most sysChunk).
func (s *Server) sysFileChunk(cs *conn, body []byte) ([]byte, error) {
	req, err := protocol.DecodeSysFileRequest(body)
	if err != nil {
		return nil, err
	}
	idx, off := int(req.Index), req.Offset
	if idx >= len(sysFileNames) {
		return nil, fmt.Errorf("sys file index %d: %w", idx, protocol.ErrInvalid)
	}
	s.mu.Lock()
	snap := cs.sys
	if snap == nil {
		files := s.render()
		snap = &sysSnapshot{changelogLen: s.changelogSize}
		for i := range snap.files {
			snap.files[i] = files[i].data
		}
	}
	s.mu.Unlock()
	var data []byte
	size := snap.changelogLen
	if idx < len(snap.files) {
		data = snap.files[idx]
		size = int64(len(data))
	}
	if off < 0 || off > size {
		return nil, fmt.Errorf("sys file offset %d of %d: %w", off, size, protocol.ErrInvalid)
	}
	n := min(size-off, sysChunk)
	if data != nil {
		return (&protocol.SysFileChunk{FileSize: size, Data: data[off : off+n]}).Encode(), nil
	}
	buf := make([]byte, n)
	if n > 0 {
		f, err := os.Open(filepath.Join(s.dataDir, changelogFile))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, err
		}
	}
	return (&protocol.SysFileChunk{FileSize: size, Data: buf}).Encode(), nil
}

// needSysFiles reports whether this tracker should copy the sys files
// before its first storage joins: it has no groups, or it was stopped for
// more than two status intervals. Caller holds s.mu.
func (s *Server) needSysFiles() bool {
	return len(s.groups) == 0 || s.restartInterval > 2*statusFileInterval
}

// maxSysCopyAttempts bounds how many JOINs are refused (EAGAIN) because
// the copy failed; then the tracker goes on with its own data.
const maxSysCopyAttempts = 3

// sysPermGrace is how long after its start a tracker keeps refusing JOINs
// (EAGAIN) without counting the attempt when a peer refuses it as unknown
// (EPERM): the peer learns it from the storages' JOINs within a beat or
// two, and upstream storages retry a refused JOIN every heart_beat_interval
// (30 s by default).
const sysPermGrace = 2 * time.Minute

// copySysFilesOnce runs before the first JOIN is handled: when needed, it
// copies the sys files from the best tracker listed in the JOIN (leader
// first, then longest running, then shortest restart interval) and
// reloads them. Every JOIN waits for the first one's copy. A failed copy
// (say, another tracker is copying from the same source: EBUSY) refuses
// the JOIN with EAGAIN, as upstream; the storage's next JOIN tries again.
func (s *Server) copySysFilesOnce(tl trackerList) error {
	s.sysMu.Lock()
	defer s.sysMu.Unlock()
	if s.sysChecked {
		return nil
	}
	s.mu.Lock()
	need := s.needSysFiles()
	var mine *peerStatus // after a long stop: copy only from a better tracker
	if len(s.groups) > 0 {
		mine = &peerStatus{TrackerStatus: s.myStatus()}
		mine.IsLeader = false
	}
	s.mu.Unlock()
	peers := tl.others
	if !need || len(peers) == 0 {
		s.sysChecked = true
		return nil
	}
	var best *peerStatus
	var from peer
	for _, p := range peers {
		b, me, err := s.peerStatusCall(p)
		if me {
			continue // a line naming this tracker by an address it did not recognise
		}
		if errors.Is(err, protocol.ErrPermission) {
			// The peer has not seen a JOIN listing this tracker yet (the
			// trackers are starting together, or this one was just added
			// to the storages' lists) and may hold the data to copy. It
			// learns this tracker from the storages' next JOINs: during
			// the first sysPermGrace of this tracker's life such refusals
			// do not use up the attempts, or a few storages joining at
			// once would make this tracker give up before the peer had a
			// chance to learn it.
			if time.Since(s.startTime) < sysPermGrace {
				return fmt.Errorf("tracker %s does not know this tracker yet: %w", p.line, protocol.ErrAgain)
			}
			return s.sysCopyFailed(p, err)
		}
		if err != nil {
			continue
		}
		st, err := protocol.DecodeTrackerStatus(b)
		if err != nil {
			continue
		}
		c := &peerStatus{id: p.id(), host: p.hosts[0], port: p.port, TrackerStatus: *st}
		c.host, c.port = "", 0 // upstream ranks the source by status only
		if best == nil || rankAbove(c, best) {
			best, from = c, p
		}
	}
	if best == nil || (mine != nil && !rankAbove(best, mine)) {
		s.sysChecked = true
		return nil // nobody has better data: keep ours
	}
	if err := s.copySysFiles(from); err != nil {
		return s.sysCopyFailed(from, err)
	}
	s.sysChecked = true
	s.log.Info("sys files copied", "from", from.line)
	return nil
}

// sysCopyFailed refuses the JOIN with EAGAIN after a failed copy from p,
// or gives up after maxSysCopyAttempts and keeps the local data. Caller
// holds s.sysMu.
func (s *Server) sysCopyFailed(p peer, err error) error {
	s.sysAttempts++
	if s.sysAttempts < maxSysCopyAttempts {
		return fmt.Errorf("copying sys files from %s: %v: %w", p.line, err, protocol.ErrAgain)
	}
	s.log.Error("copying sys files failed, keeping local data", "from", p.line, "err", err)
	s.sysChecked = true
	return nil
}

// copySysFiles fetches the four files from p, writes them and reloads the
// cluster map from them.
func (s *Server) copySysFiles(p peer) error {
	c, release, err := s.dialPeer(p)
	if err != nil {
		return err
	}
	defer release()
	call := func(cmd byte, body []byte) ([]byte, error) {
		c.SetDeadline(time.Now().Add(s.peerTimeout()))
		if err := protocol.WritePacket(c, cmd, 0, body); err != nil {
			return nil, err
		}
		return protocol.ReadResponse(c, 8<<10)
	}
	if _, err := call(protocol.CmdTrackerGetSysFilesStart, nil); err != nil {
		return err
	}
	var files [len(sysFileNames)][]byte
	for i := range sysFileNames {
		for {
			req := protocol.SysFileRequest{Index: byte(i), Offset: int64(len(files[i]))}
			b, err := call(protocol.CmdTrackerGetOneSysFile, req.Encode())
			if err != nil {
				return err
			}
			chunk, err := protocol.DecodeSysFileChunk(b)
			if err != nil {
				return err
			}
			size := chunk.FileSize
			if size < 0 || size > maxSysFile || int64(len(files[i])+len(chunk.Data)) > size {
				return fmt.Errorf("sys file %d of %d bytes: %w", i, size, protocol.ErrInvalid)
			}
			if len(chunk.Data) == 0 && int64(len(files[i])) < size {
				return fmt.Errorf("sys file %d: empty chunk at %d of %d: %w", i, len(files[i]), size, protocol.ErrInvalid)
			}
			files[i] = append(files[i], chunk.Data...)
			if int64(len(files[i])) >= size {
				break
			}
		}
	}
	if _, err := call(protocol.CmdTrackerGetSysFilesEnd, nil); err != nil {
		return err
	}
	protocol.WritePacket(c, protocol.CmdQuit, 0, nil)
	for i, name := range sysFileNames {
		if err := atomicfile.WriteFile(filepath.Join(s.dataDir, name), files[i], 0o644); err != nil {
			return err
		}
	}
	s.mu.Lock()
	old := s.groups
	s.groups = map[string]*group{}
	s.changelogSize = 0
	restart := s.restartInterval
	s.mu.Unlock()
	if err := s.load(); err != nil {
		s.mu.Lock()
		s.groups = old
		s.mu.Unlock()
		return errors.Join(errors.New("reloading copied sys files"), err)
	}
	s.mu.Lock()
	s.restartInterval = restart
	s.dirty = true
	s.mu.Unlock()
	return nil
}
