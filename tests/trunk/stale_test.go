package trunk

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestTrunkStaleFreeSpace: the trunk binlog says a slot is free while a
// file is in it (an allocation whose confirmation was lost). The upload
// handed that slot writes nothing there: the storage confirms it EEXIST
// (the slot leaves the free space) and asks for another one, so the
// client's upload succeeds elsewhere and the file is intact.
func TestTrunkStaleFreeSpace(t *testing.T) {
	c := startCluster(t, 1)
	cl := c.Client
	data := payload.Bytes(1, 5000)
	id := upload(t, cl, data, "bin")
	victim := trunk.Of(parse(t, id))

	c.StopStorage(0)
	path := trunk.BinlogPath(c.StorageConf(0).BasePath)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(trunk.AppendRecord(nil, trunk.Record{Timestamp: time.Now().Unix(), Op: trunk.OpAdd, Block: victim}))
	f.Close()
	c.StartStorage(0)
	c.WaitActive()

	// The first upload taken into a trunk (EAGAIN until the trunk server
	// is known) is handed the stale block first: of the same size, it is
	// the best fit.
	same := payload.Bytes(2, 5000)
	var next string
	testwait.Until(t, waitLimit, "an upload past EAGAIN", func() bool {
		next, err = cl.Upload(opCtx(t), bytes.NewReader(same), int64(len(same)), client.UploadOptions{Ext: "bin"})
		return !errors.Is(err, protocol.ErrAgain)
	})
	if err != nil {
		t.Fatalf("upload while the best-fit slot is occupied: %v", err)
	}
	if trunk.Of(parse(t, next)) == victim {
		t.Fatalf("the occupied slot was handed out: %s", next)
	}
	if again := upload(t, cl, same, "bin"); trunk.Of(parse(t, again)) == victim {
		t.Fatalf("the occupied slot was handed out again: %s", again)
	}
	expectContent(t, cl, id, data)
	expectContent(t, cl, next, same)
}

// TestTrunkReplicaOverStaleSlot: a storage still holds, in a slot the
// trunk server has freed and handed out again, a file deleted elsewhere
// whose delete has not reached it. The new file's replica goes into the
// slot (as upstream) instead of being refused and lost; the late delete
// of the old file then finds another file there and leaves it.
func TestTrunkReplicaOverStaleSlot(t *testing.T) {
	c := startCluster(t, 2)
	old := payload.Bytes(3, 4000)
	oldID := rawUpload(t, storageAt(t, c, 0), old)
	slot := trunk.Of(parse(t, oldID))
	waitReplicated(t, c, map[string][]byte{oldID: old}, 0, 1)
	stale, err := os.ReadFile(slot.Path(c.StorageConf(1).StorePaths[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Client.Delete(opCtx(t), oldID); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, waitLimit, "the delete on both storages", func() bool {
		st0, _ := downloadFrom(t, c, 0, oldID)
		st1, _ := downloadFrom(t, c, 1, oldID)
		return st0 == protocol.ENOENT && st1 == protocol.ENOENT
	})
	// Storage 1 as if the delete had not reached it: the old file back in
	// its slot.
	restoreBytes(t, slot.Path(c.StorageConf(1).StorePaths[0]), stale, slot)

	data := payload.Bytes(4, 4000)
	id := rawUpload(t, storageAt(t, c, 0), data)
	if got := trunk.Of(parse(t, id)); got != slot {
		t.Fatalf("the new file went to %s, the freed slot is %s (best fit changed?)", got, slot)
	}
	waitReplicated(t, c, map[string][]byte{id: data}, 0, 1)
	if st, _ := downloadFrom(t, c, 1, oldID); st != protocol.ENOENT {
		t.Fatalf("the overwritten old file still downloads from storage 1: status %d", st)
	}
}

// restoreBytes writes slot l's bytes from trunk file content b back into
// the trunk file at path.
func restoreBytes(t *testing.T, path string, b []byte, l trunk.Location) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b[l.Offset:l.Offset+l.Size], int64(l.Offset)); err != nil {
		t.Fatal(err)
	}
}
