package storagenode

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// checkSlot is checkFile for a trunk file: ScrubMissing when its slot no
// longer holds it (freed, header overwritten, trunk file gone or cut
// short), ScrubCorrupt when its content does not match the size and CRC32
// of its name. A link slot holds a name, not content: nothing to check.
func (s *Server) checkSlot(n *fileid.Name, t *throttle) (byte, int64) {
	sl, err := trunk.Open(s.store.paths, n)
	switch {
	case missingFile(err), errors.Is(err, protocol.ErrInvalid):
		return protocol.ScrubMissing, 0
	case err != nil:
		return 0, 0 // unreadable for another reason: not ours to judge
	}
	defer sl.Close()
	if sl.Link != "" {
		return 0, 0
	}
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	crc := crc32.NewIEEE()
	var off int64
	for off < sl.Size {
		k, err := sl.ReadAt(*bp, off)
		crc.Write((*bp)[:k])
		off += int64(k)
		if !t.wait(s, k) {
			return 0, off
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return protocol.ScrubCorrupt, off
		}
	}
	if off != n.Size || crc.Sum32() != n.CRC32 {
		return protocol.ScrubCorrupt, off
	}
	return 0, off
}

// placeSlot writes the verified copy tmp of trunk file n into n's own
// slot (placeRepair's caller holds the name's lock and has seen the slot
// still bad): a freed slot gets content and header, a slot whose header
// is n's gets its content rewritten; a slot holding another file is never
// touched (refillSlot).
func (s *Server) placeSlot(n *fileid.Name, tmp string) error {
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.refillSlot(n, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	}, true)
}

// heldByAll checks that every ACTIVE peer still holds trunk file n
// (QUERY_FILE_INFO). A peer that does not may have deleted it: the trunk
// server then has its slot back and may hand it out again, and a copy
// written here would stand in the way of the new file when it replicates
// (or be cleared over it by the delete). The repair then waits for a later
// pass, when the delete has replicated here or every peer has the file.
func (s *Server) heldByAll(n *fileid.Name, peers []string) error {
	q := protocol.FileRequest{Group: s.cfg.GroupName, Name: n.Name()}
	for _, addr := range peers {
		pc, err := s.dialPeer(s.ctx, addr)
		if err != nil {
			return fmt.Errorf("peer %s: %w", addr, err)
		}
		_, err = pc.call(protocol.CmdQueryFileInfo, protocol.FileInfoNoCRC, q.Encode(), maxSyncReplyBody)
		pc.hangUp()
		if err != nil {
			return fmt.Errorf("asking peer %s whether it still holds the file: %w", addr, err)
		}
	}
	return nil
}
