package storagenode

// Trunk storage on this server: deleting slots.

import (
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

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
	loc := trunk.Of(n)
	if err := trunk.Clear(s.store.paths[loc.StorePathIndex], loc); err != nil {
		return err
	}
	s.trunkFreed(loc)
	return nil
}

// trunkFreed returns a freed slot to the group's free blocks. Without a
// trunk allocator on this server the space stays unused until the trunk
// server's next occupancy check.
func (s *Server) trunkFreed(loc trunk.Location) {
	s.log.Debug("trunk slot freed", "slot", loc.String())
}
