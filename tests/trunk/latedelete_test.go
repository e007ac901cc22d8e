package trunk

import (
	"fmt"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestTrunkCreateAfterDeleteFromAnotherMember is tests/replication's
// TestCreateAfterDeleteFromAnotherMember for a file in a trunk slot: in a
// group of three, the file reaches B while C is down; A goes down, C comes
// back, the file is deleted at B and B's delete reaches C, which never had
// it; A, back, sends C its create. C must not write it into the slot.
func TestTrunkCreateAfterDeleteFromAnotherMember(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restarted=%v", restart), func(t *testing.T) {
			c := startCluster(t, 3)
			c.StopStorage(2)
			data := payload.Bytes(7, 3000)
			id := uploadIntoTrunk(t, c, 0, data)
			waitReplicated(t, c, map[string][]byte{id: data}, 0, 1)

			c.StopStorage(0)
			c.StartStorage(2)
			c.WaitStatus(2, protocol.StatusActive)
			g, name, _ := fileid.Split(id)
			testwait.Until(t, waitLimit, "the delete at B", func() bool {
				st, _ := storageAt(t, c, 1).Do(protocol.CmdDeleteFile, (&protocol.FileRequest{Group: g, Name: name}).Encode())
				return st == 0
			})
			settleFrom(t, c, []int{1, 2}, 1) // B's delete has reached C
			if restart {
				c.StopStorage(2)
				c.StartStorage(2)
				c.WaitStatus(2, protocol.StatusActive)
			}
			c.StartStorage(0)
			c.WaitActive()
			settleFrom(t, c, []int{0, 1, 2}, 0, 1, 2)
			for i := range c.Storages {
				if st, _ := downloadFrom(t, c, i, id); st != protocol.ENOENT {
					t.Errorf("%s, deleted at B: storage %s answers status %d, want ENOENT", id, "ABC"[i:i+1], st)
				}
			}
		})
	}
}

// uploadIntoTrunk uploads data to storage i until it lands in a trunk:
// EAGAIN while the trunk server, if a storage just stopped was it, is
// elected again.
func uploadIntoTrunk(t *testing.T, c *cluster.Cluster, i int, data []byte) string {
	t.Helper()
	var id string
	testwait.Until(t, waitLimit, "an upload into a trunk", func() bool {
		req := protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: int64(len(data)), Ext: "dat"}
		st, body := storageAt(t, c, i).Do(protocol.CmdUploadFile, req.Encode(), data)
		if st != 0 {
			return false
		}
		r, err := protocol.DecodeFileResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		id = fileid.Join(r.Group, r.Name)
		return parse(t, id).Trunk
	})
	return id
}

// settleFrom returns once a file uploaded to each storage of from (larger
// than a slot: it needs no trunk server) has reached each storage of on:
// each one's records before it have been replayed there.
func settleFrom(t *testing.T, c *cluster.Cluster, on []int, from ...int) {
	t.Helper()
	for _, i := range from {
		data := payload.Bytes(100+i, 70<<10)
		id := rawUpload(t, wiretest.Dial(t, c.StorageAddrs()[i]), data)
		waitReplicated(t, c, map[string][]byte{id: data}, on...)
	}
}
