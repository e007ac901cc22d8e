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
// handed that slot gets EEXIST and writes nothing; the slot leaves the
// free space, the next upload goes elsewhere, the file is intact.
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
	// is known) is handed the stale block: of the same size, it is the
	// best fit.
	same := payload.Bytes(2, 5000)
	testwait.Until(t, waitLimit, "an upload past EAGAIN", func() bool {
		_, err = cl.Upload(opCtx(t), bytes.NewReader(same), int64(len(same)), client.UploadOptions{Ext: "bin"})
		return !errors.Is(err, protocol.ErrAgain)
	})
	if !errors.Is(err, protocol.ErrExists) {
		t.Fatalf("upload into the occupied slot: %v, want EEXIST", err)
	}
	next := upload(t, cl, same, "bin")
	if trunk.Of(parse(t, next)) == victim {
		t.Fatalf("the occupied slot was handed out again: %s", next)
	}
	expectContent(t, cl, id, data)
	expectContent(t, cl, next, same)
}
