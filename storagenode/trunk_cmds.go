package storagenode

// The trunk commands a storage serves: allocation for the group's other
// storages when it is the trunk server (27, 28, 29), the trunk binlog
// pushed by the trunk server (30, 33, 32), and its size for the tracker's
// election (31).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// maxTrunkBinlogPush bounds one TRUNK_SYNC_BINLOG body (upstream sends at
// most TRUNK_BINLOG_BUFFER_SIZE, 64 KB).
const maxTrunkBinlogPush = 256 << 10

// dispatchTrunk serves the trunk commands; handled is false for others.
// Allocation requests are not restricted to the group's addresses: the
// upstream storage's trunk client connects without binding its address
// (so from any local IP), and upstream checks only the group name.
func (s *Server) dispatchTrunk(cc *conn, h protocol.Header) (handled bool, err error) {
	switch h.Cmd {
	case protocol.CmdTrunkAllocSpace:
		return true, s.handleTrunkAlloc(cc, h)
	case protocol.CmdTrunkAllocConfirm, protocol.CmdTrunkFreeSpace:
		return true, s.handleTrunkSlot(cc, h)
	case protocol.CmdTrunkGetBinlogSize:
		return true, s.handleTrunkBinlogSize(cc, h)
	case protocol.CmdTrunkSyncBinlog, protocol.CmdTrunkTruncateBinlogFile, protocol.CmdTrunkDeleteBinlogMarks:
		return true, s.handleTrunkBinlogPush(cc, h)
	}
	return false, nil
}

// trunkServerAllocator is our allocator for a request of group when we
// are the trunk server; EINVAL otherwise, as upstream's CHECK_TRUNK_SERVER.
func (s *Server) trunkServerAllocator(group string) (*trunk.Allocator, error) {
	if err := s.checkGroup(group); err != nil {
		return nil, err
	}
	a, self := s.localTrunk()
	if !self {
		return nil, fmt.Errorf("not the trunk server: %w", protocol.ErrInvalid)
	}
	if a == nil {
		return nil, errNoTrunkServer
	}
	return a, nil
}

func (s *Server) handleTrunkAlloc(cc *conn, h protocol.Header) error {
	b, err := cc.readFixed(h, protocol.GroupNameLen+5, "trunk alloc")
	if err != nil {
		return err
	}
	req, err := protocol.DecodeTrunkAllocRequest(b)
	if err != nil {
		return err
	}
	a, err := s.trunkServerAllocator(req.Group)
	if err != nil {
		return err
	}
	l, err := a.Alloc(int(req.StorePathIndex), int64(req.Size))
	if err != nil {
		return err
	}
	return cc.reply(wireSlot(l).Encode())
}

// handleTrunkSlot serves ALLOC_CONFIRM (the header status is the upload's
// outcome: 0 used, EEXIST occupied, else released) and FREE_SPACE.
func (s *Server) handleTrunkSlot(cc *conn, h protocol.Header) error {
	b, err := cc.readFixed(h, protocol.GroupNameLen+protocol.TrunkInfoLen, "trunk slot")
	if err != nil {
		return err
	}
	req, err := protocol.DecodeTrunkSlotRequest(b)
	if err != nil {
		return err
	}
	a, err := s.trunkServerAllocator(req.Group)
	if err != nil {
		return err
	}
	t := req.Slot
	l := trunk.Location{StorePathIndex: int(t.StorePathIndex), High: int(t.High), Low: int(t.Low), ID: t.ID, Offset: t.Offset, Size: t.Size}
	if l.StorePathIndex >= len(s.store.paths) {
		return fmt.Errorf("trunk slot %s: store path index out of range: %w", l, protocol.ErrInvalid)
	}
	if h.Cmd == protocol.CmdTrunkFreeSpace {
		err = a.Free(l)
	} else {
		err = a.Confirm(l, h.Status == 0 || h.Status == protocol.EEXIST)
	}
	if err != nil {
		return err
	}
	return cc.reply(nil)
}

// handleTrunkBinlogSize answers the tracker's election query: the trunk
// binlog's size in bytes (0 without one).
func (s *Server) handleTrunkBinlogSize(cc *conn, h protocol.Header) error {
	if h.Length != 0 {
		return fmt.Errorf("trunk binlog size query with a body: %w", protocol.ErrInvalid)
	}
	size := int64(0)
	fi, err := os.Stat(trunk.BinlogPath(s.cfg.BasePath))
	if err == nil {
		size = fi.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return cc.reply(binary.BigEndian.AppendUint64(nil, uint64(size)))
}

// handleTrunkBinlogPush keeps a copy of the trunk server's binlog (30:
// records to append; 33: start over), so that a storage elected trunk
// server later knows the group's free space. The trunk server itself
// refuses them, and 32 (the trunk server's sync marks) has nothing to
// delete here.
func (s *Server) handleTrunkBinlogPush(cc *conn, h protocol.Header) error {
	if h.Length > maxTrunkBinlogPush {
		return fmt.Errorf("trunk binlog push of %d bytes: %w", h.Length, protocol.ErrInvalid)
	}
	b, err := cc.readRest()
	if err != nil {
		return err
	}
	if err := s.trunkPushAllowed(cc, h.Cmd); err != nil {
		return err
	}
	if !s.params.Load().Trunk.Use {
		return fmt.Errorf("trunk files not in use: %w", protocol.ErrInvalid)
	}
	if _, self := s.localTrunk(); self {
		return fmt.Errorf("the trunk server takes no trunk binlog: %w", protocol.ErrInvalid)
	}
	path := trunk.BinlogPath(s.cfg.BasePath)
	switch h.Cmd {
	case protocol.CmdTrunkTruncateBinlogFile:
		if err := os.Truncate(path, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	case protocol.CmdTrunkSyncBinlog:
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return cc.reply(nil)
}

// trunkPushAllowed takes a trunk binlog push from a storage of the group
// or from the trunk server we know. Anyone else gets EAGAIN rather than
// EPERM: the trunk server starts pushing as soon as it is elected, which
// may be before the group list that names it reaches us, and upstream's
// pusher retries after an error.
func (s *Server) trunkPushAllowed(cc *conn, cmd byte) error {
	if s.syncAllowed(cc, cmd) == nil {
		return nil
	}
	s.trunk.mu.Lock()
	server := s.trunk.server
	s.trunk.mu.Unlock()
	if host, _, err := net.SplitHostPort(server); err == nil && host == remoteHost(cc.c.RemoteAddr()) {
		return nil
	}
	return fmt.Errorf("trunk binlog push (cmd %d) from %s, not a known storage of group %s yet: %w", cmd, remoteHost(cc.c.RemoteAddr()), s.cfg.GroupName, protocol.ErrAgain)
}
