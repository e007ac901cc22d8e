package storagenode

// Trunk storage on this server: uploads into slots, deleting slots, and
// the allocation round trips to the group's trunk server.

import (
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// maxTrunkPeers bounds the idle connections kept to a remote trunk server.
const maxTrunkPeers = 8

// intoTrunk reports whether a new file of size bytes goes into a trunk:
// trunks on, not an appender file, and header plus content within
// slot_max_size (upstream's trunk_check_size(TRUNK_CALC_SIZE)).
func (s *Server) intoTrunk(size int64, appender bool) bool {
	p := s.params.Load().Trunk
	return p.Use && !appender && size+trunk.HeaderSize <= p.SlotMax
}

// maxSlotTries bounds the allocations one upload makes when the slots it
// is handed still hold files here (see allocSlot).
const maxSlotTries = 4

// uploadTrunk stores an upload's content in a slot allocated by the trunk
// server: the content first, then the header that makes the slot a file,
// then the confirmation and the binlog record. A failure before the
// header leaves a free slot (the allocation is released); a failure after
// it clears the slot again.
func (s *Server) uploadTrunk(cc *conn, req *protocol.UploadRequest, hold *reservation, start time.Time, a *ioAttempt) (string, error) {
	l, f, err := s.allocSlot(hold.path, req.FileSize+trunk.HeaderSize)
	if err != nil {
		return "", err
	}
	name, err := s.writeSlot(cc, f, l, req, hold, a)
	if cerr := s.trunkConfirm(l, failStatus(err)); cerr != nil {
		s.log.Warn("trunk alloc confirm failed", "slot", l.String(), "err", cerr)
		if err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = s.writeBinlog(start, binlog.OpCreate, name, "")
	}
	if err != nil && name != "" {
		if cerr := trunk.Clear(s.store.paths[l.StorePathIndex], l); cerr == nil {
			s.trunkFreed(l)
		}
		return "", err
	}
	return name, err
}

// failStatus is the status an allocation is confirmed with after err: 0
// (the slot holds the file now) only for no error.
func failStatus(err error) byte {
	if err == nil {
		return 0
	}
	if st := protocol.StatusOf(err); st != 0 {
		return st
	}
	return protocol.EIO
}

// allocSlot reserves a slot of size bytes on store path p and opens its
// trunk file. A slot that still holds a file here is confirmed EEXIST
// (the trunk server takes it out of its free space, as upstream's
// trunk_alloc_confirm) and another one is asked for, up to maxSlotTries
// times: that happens when a file deleted on another storage is freed
// and its slot handed out again before the delete has reached this
// storage, and the client's upload should not fail for it. Nothing of
// the request body has been read then.
func (s *Server) allocSlot(p int, size int64) (trunk.Location, *os.File, error) {
	for try := 1; ; try++ {
		l, err := s.trunkAlloc(p, size)
		if err != nil {
			return l, nil, err
		}
		f, err := s.openFreeSlot(l)
		if err == nil {
			return l, f, nil
		}
		if cerr := s.trunkConfirm(l, failStatus(err)); cerr != nil {
			s.log.Warn("trunk alloc confirm failed", "slot", l.String(), "err", cerr)
		}
		if !errors.Is(err, protocol.ErrExists) || try == maxSlotTries {
			return l, nil, err
		}
		s.log.Info("trunk slot handed out still holds a file here; asking for another", "slot", l.String())
	}
}

// openFreeSlot opens slot l's trunk file for an upload into it: a slot
// whose header says it holds a file is EEXIST (the allocation and the
// disk disagree, and nothing is overwritten).
func (s *Server) openFreeSlot(l trunk.Location) (*os.File, error) {
	f, err := s.openTrunk(l)
	if err != nil {
		return nil, err
	}
	held, err := slotHeld(f, l)
	if err == nil && held {
		err = fmt.Errorf("trunk slot %s already holds a file: %w", l, protocol.ErrExists)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// slotHeld reports whether the header of slot l in trunk file f says it
// holds a file (regular or link).
func slotHeld(f *os.File, l trunk.Location) (bool, error) {
	var b [1]byte
	if _, err := f.ReadAt(b[:], int64(l.Offset)); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return b[0] == trunk.TypeRegular || b[0] == trunk.TypeLink, nil
}

// writeSlot writes the content and then the header of a new file into
// slot l of trunk file f and returns the file's name. f is closed.
func (s *Server) writeSlot(cc *conn, f *os.File, l trunk.Location, req *protocol.UploadRequest, hold *reservation, a *ioAttempt) (string, error) {
	defer f.Close()
	a.reach(cc)
	crc, err := s.fillSlot(cc, f, l, req.FileSize, hold)
	if err != nil {
		return "", err
	}
	fields := fileid.Fields{Source: s.source(cc), Timestamp: time.Now().Unix(), Size: req.FileSize, CRC32: crc,
		Trunk: true, TrunkFileID: l.ID, TrunkOffset: l.Offset, TrunkAllocSize: l.Size}
	name, err := fileid.Generate(l.StorePathIndex, l.High, l.Low, fields, req.Ext)
	if err != nil {
		return "", err
	}
	n, err := fileid.Parse(name)
	if err != nil {
		return "", err
	}
	if err := s.sealSlot(f, n); err != nil {
		return "", err
	}
	return name, f.Close()
}

// fillSlot copies size bytes of the request body into slot l of trunk
// file f and returns the content's CRC32.
func (s *Server) fillSlot(cc *conn, f *os.File, l trunk.Location, size int64, hold *reservation) (uint32, error) {
	if _, err := f.Seek(int64(l.Offset)+trunk.HeaderSize, io.SeekStart); err != nil {
		return 0, err
	}
	return s.copyIn(cc, f, size, true, hold)
}

// sealSlot writes the header of file n into its slot: from then on the
// slot is the file.
func (s *Server) sealSlot(f *os.File, n *fileid.Name) error {
	var h [trunk.HeaderSize]byte
	hd := trunk.Expected(n, trunk.TypeRegular)
	hd.Put(h[:])
	if _, err := f.WriteAt(h[:], int64(n.TrunkOffset)); err != nil {
		return err
	}
	if s.cfg.FsyncAfterWrittenBytes > 0 {
		return f.Sync()
	}
	return nil
}

// openTrunk opens slot l's trunk file for writing, creating it (sparse,
// trunk_file_size) when this storage has none: every storage of the group
// keeps the same trunk files, filled by its own uploads and by sync.
func (s *Server) openTrunk(l trunk.Location) (*os.File, error) {
	if l.StorePathIndex >= len(s.store.paths) {
		return nil, fmt.Errorf("trunk slot %s: %w", l, protocol.ErrInvalid)
	}
	path := l.Path(s.store.paths[l.StorePathIndex])
	end := int64(l.Offset) + int64(l.Size)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		size := max(s.params.Load().Trunk.FileSize, end)
		cerr := trunk.CreateFile(s.staging[l.StorePathIndex], path, size)
		if cerr != nil && !errors.Is(cerr, fs.ErrExist) {
			return nil, cerr
		}
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	s.countOpen(err == nil)
	if err != nil {
		return nil, err
	}
	if err := s.growTrunk(f, end); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// growTrunk extends trunk file f to end bytes at least when it is shorter,
// as upstream's trunk_check_and_init_file resizes a short trunk file: one
// made here under a smaller trunk_file_size than the trunk server's. The
// lock keeps two writers from setting sizes out of order (a shrink).
func (s *Server) growTrunk(f *os.File, end int64) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() >= end {
		return err
	}
	s.trunkGrow.Lock()
	defer s.trunkGrow.Unlock()
	if fi, err = f.Stat(); err != nil || fi.Size() >= end {
		return err
	}
	size := max(s.params.Load().Trunk.FileSize, end)
	s.log.Warn("trunk file shorter than a slot in it: extending it", "file", f.Name(), "bytes", fi.Size(), "to", size)
	return f.Truncate(size)
}

// receiveSlot stores a replica of trunk file n (SYNC_CREATE_FILE) in the
// same slot of our trunk file, as upstream: the content, checked against
// the CRC32 in the name, then the header. A slot that already is n is
// EEXIST (replayed before). A slot holding another file is overwritten,
// as upstream's dio_check_trunk_file_when_sync: the trunk server handed
// the slot to n because that file was deleted, and its delete, coming
// from another storage, has not reached us yet (it will find the slot
// is n and leave it). Refusing would lose this replica.
func (s *Server) receiveSlot(cc *conn, n *fileid.Name, size int64, hold *reservation) error {
	if size != n.Size {
		return fmt.Errorf("sync of %s: %d bytes, the name says %d: %w", n.Name(), size, n.Size, protocol.ErrInvalid)
	}
	if sl, err := trunk.Open(s.store.paths, n); err == nil {
		sl.Close()
		return fmt.Errorf("sync create %s: %w", n.Name(), protocol.ErrExists)
	}
	l := trunk.Of(n)
	f, err := s.openTrunk(l)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.freeHeldSlot(f, l, n); err != nil {
		return err
	}
	crc, err := s.fillSlot(cc, f, l, size, hold)
	if err != nil {
		return err
	}
	if crc != n.CRC32 {
		return fmt.Errorf("sync of %s: content CRC32 %08x, the name says %08x: %w", n.Name(), crc, n.CRC32, protocol.ErrInvalid)
	}
	if err := s.sealSlot(f, n); err != nil {
		return err
	}
	return f.Close()
}

// freeHeldSlot zeroes the header of slot l in trunk file f when it holds
// a file, before replica n is written over it: a replica that fails
// half-way then leaves a free slot, not the old file's header over
// n's partial content.
func (s *Server) freeHeldSlot(f *os.File, l trunk.Location, n *fileid.Name) error {
	held, err := slotHeld(f, l)
	if err != nil || !held {
		return err
	}
	s.log.Info("replica overwrites a slot still holding a file deleted elsewhere", "file", n.Name(), "slot", l.String())
	var zero [trunk.HeaderSize]byte
	_, err = f.WriteAt(zero[:], int64(l.Offset))
	return err
}

// restoreSlot writes a trunk file being recovered (content writes it)
// into its slot, checked against the size and CRC32 of its name; a slot
// that already is the file is left alone.
func (s *Server) restoreSlot(n *fileid.Name, content func(io.Writer) error) error {
	if sl, err := trunk.Open(s.store.paths, n); err == nil {
		sl.Close()
		return nil
	}
	return s.refillSlot(n, content, false)
}

// refillSlot writes trunk file n (content writes it) into its slot,
// checked against the size and CRC32 of its name, then its header. The
// slot must be free or, when rewrite is set (the scrubber found its
// content bad), carry exactly n's header: a slot holding another file is
// EEXIST, and not a byte goes past the slot's alloc size.
func (s *Server) refillSlot(n *fileid.Name, content func(io.Writer) error, rewrite bool) error {
	l := trunk.Of(n)
	if n.Size < 0 || n.Size+trunk.HeaderSize > int64(l.Size) {
		return fmt.Errorf("trunk file %s: %d bytes do not fit its slot %s: %w", n.Name(), n.Size, l, protocol.ErrInvalid)
	}
	f, err := s.openTrunk(l)
	if err != nil {
		return err
	}
	defer f.Close()
	var h, want [trunk.HeaderSize]byte
	if _, err := f.ReadAt(h[:], int64(l.Offset)); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	exp := trunk.Expected(n, trunk.TypeRegular)
	exp.Put(want[:])
	if (h[0] == trunk.TypeRegular || h[0] == trunk.TypeLink) && (!rewrite || h != want) {
		return fmt.Errorf("writing %s: its slot holds another file: %w", n.Name(), protocol.ErrExists)
	}
	w := &slotWriter{w: io.NewOffsetWriter(f, int64(l.Offset)+trunk.HeaderSize), left: n.Size, crc: crc32.NewIEEE()}
	if err := content(w); err != nil {
		return err
	}
	if w.left != 0 || w.crc.Sum32() != n.CRC32 {
		return fmt.Errorf("writing %s: %d bytes missing or CRC32 %08x, the name says %08x: %w",
			n.Name(), w.left, w.crc.Sum32(), n.CRC32, protocol.ErrInvalid)
	}
	if err := s.sealSlot(f, n); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// slotWriter writes at most left bytes into a slot, hashing them.
type slotWriter struct {
	w    io.Writer
	left int64
	crc  hash.Hash32
}

func (sw *slotWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > sw.left {
		return 0, fmt.Errorf("more content than the slot's %d bytes: %w", sw.left, protocol.ErrInvalid)
	}
	n, err := sw.w.Write(p)
	sw.crc.Write(p[:n])
	sw.left -= int64(n)
	return n, err
}

// deleteSlot frees the slot a trunk file ID names: it must be the slot
// the ID describes (the header check of trunk.Open, without following a
// link: deleting a link deletes the link), then its bytes are zeroed and
// the space goes back to the group's free blocks.
func (s *Server) deleteSlot(cc *conn, n *fileid.Name, a *ioAttempt) error {
	sl, err := trunk.Open(s.store.paths, n)
	if err != nil {
		return err
	}
	a.reach(cc)
	a.link = sl.Link != ""
	sl.Close()
	if err := s.clearSlot(n); err != nil {
		return err
	}
	s.trunkFreed(trunk.Of(n))
	return nil
}

// clearSlot zeroes the slot of trunk file n if it holds n (ENOENT if not).
func (s *Server) clearSlot(n *fileid.Name) error {
	sl, err := trunk.Open(s.store.paths, n)
	if err != nil {
		return err
	}
	sl.Close()
	loc := trunk.Of(n)
	return trunk.Clear(s.store.paths[loc.StorePathIndex], loc)
}

// trunkFreed returns a freed slot to the group's free blocks, here or on
// the trunk server. A failure is logged: the slot is zeroed, so the trunk
// server's occupancy check (trunk_init_check_occupying) may take it back.
func (s *Server) trunkFreed(l trunk.Location) {
	var err error
	if a, self := s.localTrunk(); self {
		if a == nil {
			err = errNoTrunkServer
		} else {
			err = a.Free(l)
		}
	} else {
		req := protocol.TrunkSlotRequest{Group: s.cfg.GroupName, Slot: wireSlot(l)}
		_, err = s.trunkCall(protocol.CmdTrunkFreeSpace, 0, req.Encode(), 0)
	}
	if err != nil {
		s.log.Warn("returning a trunk slot to the free space failed", "slot", l.String(), "err", err)
	}
}

// localTrunk returns our allocator and whether we are the trunk server.
func (s *Server) localTrunk() (*trunk.Allocator, bool) {
	tr := &s.trunk
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.alloc, tr.self
}

// trunkAlloc reserves a slot of size bytes on store path p.
func (s *Server) trunkAlloc(p int, size int64) (trunk.Location, error) {
	if a, self := s.localTrunk(); self {
		if a == nil {
			return trunk.Location{}, errNoTrunkServer
		}
		return a.Alloc(p, size)
	}
	req := protocol.TrunkAllocRequest{Group: s.cfg.GroupName, Size: int32(size), StorePathIndex: byte(p)}
	b, err := s.trunkCall(protocol.CmdTrunkAllocSpace, 0, req.Encode(), protocol.TrunkInfoLen)
	if err != nil {
		return trunk.Location{}, err
	}
	t, err := protocol.DecodeTrunkInfo(b)
	if err != nil {
		return trunk.Location{}, err
	}
	l := trunk.Location{StorePathIndex: int(t.StorePathIndex), High: int(t.High), Low: int(t.Low), ID: t.ID, Offset: t.Offset, Size: t.Size}
	if l.StorePathIndex != p || int64(l.Size) < size {
		return trunk.Location{}, fmt.Errorf("trunk server allocated %s for %d bytes on path %d: %w", l, size, p, protocol.ErrInvalid)
	}
	return l, nil
}

// trunkConfirm ends the allocation of l with the upload's status (0: the
// slot holds the file now).
func (s *Server) trunkConfirm(l trunk.Location, status byte) error {
	if a, self := s.localTrunk(); self {
		if a == nil {
			return errNoTrunkServer
		}
		return a.Confirm(l, status == 0 || status == protocol.EEXIST)
	}
	req := protocol.TrunkSlotRequest{Group: s.cfg.GroupName, Slot: wireSlot(l)}
	_, err := s.trunkCall(protocol.CmdTrunkAllocConfirm, status, req.Encode(), 0)
	return err
}

func wireSlot(l trunk.Location) protocol.TrunkInfo {
	return protocol.TrunkInfo{StorePathIndex: byte(l.StorePathIndex), High: byte(l.High), Low: byte(l.Low), ID: l.ID, Offset: l.Offset, Size: l.Size}
}

// trunkCall makes one request to the remote trunk server on a pooled
// connection.
func (s *Server) trunkCall(cmd, status byte, body []byte, maxReply int64) ([]byte, error) {
	tr := &s.trunk
	tr.mu.Lock()
	server := tr.server
	var pc *peerConn
	if n := len(tr.peers); n > 0 {
		pc, tr.peers = tr.peers[n-1], tr.peers[:n-1]
	}
	tr.mu.Unlock()
	if server == "" {
		return nil, errNoTrunkServer
	}
	if pc == nil {
		var err error
		if pc, err = s.dialPeer(s.ctx, server); err != nil {
			return nil, fmt.Errorf("trunk server %s: %w: %v", server, protocol.ErrAgain, err)
		}
	}
	b, err := pc.call(cmd, status, body, maxReply)
	var ce *connError
	if errors.As(err, &ce) {
		// The trunk server's connection broke, not our client's: the
		// client is told to try again (a *connError would close its
		// connection).
		pc.hangUp()
		return nil, fmt.Errorf("trunk server %s: %w: %v", server, protocol.ErrAgain, err)
	}
	tr.mu.Lock()
	if tr.server == server && len(tr.peers) < maxTrunkPeers {
		tr.peers = append(tr.peers, pc)
		pc = nil
	}
	tr.mu.Unlock()
	if pc != nil {
		pc.hangUp()
	}
	return b, err
}
