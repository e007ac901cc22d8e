package trunk

import (
	"bytes"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
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
// whose delete has not reached it. The new file's replica (sent here by
// hand, as storage 0 would after its upload into the freed slot) goes
// into the slot, as upstream, instead of being refused and lost; the
// late delete of the old file then finds another file there, leaves it,
// and the old name leaves the storage's listing.
func TestTrunkReplicaOverStaleSlot(t *testing.T) {
	c := startCluster(t, 2)
	old := payload.Bytes(3, 4000)
	oldID := rawUpload(t, storageAt(t, c, 0), old)
	waitReplicated(t, c, map[string][]byte{oldID: old}, 0, 1)
	on := parse(t, oldID)

	data := payload.Bytes(4, 3000)
	name, err := fileid.Generate(on.StorePathIndex, on.High, on.Low, fileid.Fields{Source: on.Source,
		Timestamp: on.Timestamp + 1, Size: int64(len(data)), CRC32: crc32.ChecksumIEEE(data), Trunk: true,
		TrunkFileID: on.TrunkFileID, TrunkOffset: on.TrunkOffset, TrunkAllocSize: on.TrunkAllocSize}, "dat")
	if err != nil {
		t.Fatal(err)
	}
	id := fileid.Join("group1", name)
	src, _, _ := strings.Cut(c.StorageAddrs()[0], ":")
	rc := wiretest.DialFrom(t, src, c.StorageAddrs()[1]) // as storage 0's sync
	defer rc.Conn.Close()
	create := protocol.SyncFileRequest{Timestamp: int32(on.Timestamp + 1), Group: "group1", Name: name, FileSize: int64(len(data))}
	if st, _ := rc.Do(protocol.CmdSyncCreateFile, create.Encode(), data); st != 0 {
		t.Fatalf("replica into the slot still holding %s: status %d", oldID, st)
	}
	del := protocol.SyncDeleteRequest{Timestamp: int32(on.Timestamp + 2), Group: "group1", Name: on.Name()}
	if st, _ := rc.Do(protocol.CmdSyncDeleteFile, del.Encode()); st != protocol.ENOENT {
		t.Fatalf("late delete of %s over the new file: status %d, want ENOENT", oldID, st)
	}
	if st, got := downloadFrom(t, c, 1, id); st != 0 || !bytes.Equal(got, data) {
		t.Fatalf("the new file on storage 1: status %d, %d bytes", st, len(got))
	}
	if st, _ := downloadFrom(t, c, 1, oldID); st != protocol.ENOENT {
		t.Fatalf("the overwritten old file on storage 1: status %d", st)
	}
	ls, err := listAt(t, c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ls[on.Name()]; ok {
		t.Fatalf("storage 1 still lists the overwritten %s", oldID)
	}
	if e := ls[name]; e != entryOf(t, id, data) {
		t.Fatalf("storage 1 lists the new file as %+v", e)
	}
}
