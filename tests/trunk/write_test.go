package trunk

import (
	"bytes"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestTrunkServerWritePath: on a one-storage group (its own trunk
// server), small uploads become slots of a few trunk files, larger ones
// and appender files stay files of their own; every file reads back
// (content, range, info, metadata) also after a restart; a deleted slot is
// gone and its space serves the next upload of its size.
func TestTrunkServerWritePath(t *testing.T) {
	c := startCluster(t, 1)
	cl := c.Client
	sizes := []int{0, 1, 100, 4096, 4097, 20000, slotMax - 24}
	want := map[string][]byte{}
	var ids []string
	for round := range 30 {
		for i, size := range sizes {
			data := payload.Bytes(round*100+i, size)
			id := upload(t, cl, data, "bin")
			if !parse(t, id).Trunk {
				t.Fatalf("%d-byte upload %s is not in a trunk", size, id)
			}
			want[id] = data
			ids = append(ids, id)
		}
	}
	big := payload.Bytes(9999, slotMax-23)
	bigID := upload(t, cl, big, "")
	if parse(t, bigID).Trunk {
		t.Errorf("%d bytes (over slot_max_size with the header) in a trunk: %s", len(big), bigID)
	}
	want[bigID] = big
	app, err := cl.UploadAppender(opCtx(t), bytes.NewReader([]byte("appender")), 8, client.UploadOptions{})
	if err != nil || parse(t, app).Trunk {
		t.Errorf("appender upload: %s %v", app, err)
	}
	for id, data := range want {
		expectContent(t, cl, id, data)
	}
	files, trunks := dataFiles(t, c.StorageConf(0).StorePaths[0])
	if trunks == 0 || trunks > 3 || files > trunks+2 {
		t.Errorf("%d uploads made %d data files, %d of them trunk files", len(ids), files, trunks)
	}
	t.Logf("%d small uploads: %d trunk files, %d data files in all", len(ids), trunks, files)

	id := ids[3]
	if err := cl.SetMetadata(opCtx(t), id, map[string]string{"k": "v"}, protocol.MetaOverwrite); err != nil {
		t.Fatal(err)
	}
	if m, err := cl.GetMetadata(opCtx(t), id); err != nil || m["k"] != "v" {
		t.Errorf("metadata of %s: %v %v", id, m, err)
	}
	fi, err := cl.GetFileInfo(opCtx(t), id)
	if err != nil || fi.Size != int64(len(want[id])) {
		t.Errorf("file info of %s: %+v %v", id, fi, err)
	}
	var part bytes.Buffer
	if _, err := cl.Download(opCtx(t), id, 10, 20, &part); err != nil || !bytes.Equal(part.Bytes(), want[id][10:30]) {
		t.Errorf("range of %s: %v", id, err)
	}

	// A slave file of a trunk file is a file of its own beside it.
	thumb := payload.Bytes(777, 3000)
	slave, err := cl.UploadSlave(opCtx(t), bytes.NewReader(thumb), int64(len(thumb)), ids[5], "_t", "jpg")
	if err != nil || parse(t, slave).Trunk {
		t.Fatalf("slave of trunk file %s: %s %v", ids[5], slave, err)
	}
	expectContent(t, cl, slave, thumb)
	want[slave] = thumb
	// Appender operations on a trunk file are refused.
	if err := cl.Append(opCtx(t), ids[5], bytes.NewReader([]byte("x")), 1); err == nil {
		t.Errorf("append to trunk file %s succeeded", ids[5])
	}

	// Delete every other file of one size; the next uploads of that size
	// land in the freed slots.
	freed := map[uint32]bool{}
	for i := 3; i < len(ids); i += 2 * len(sizes) {
		n := parse(t, ids[i])
		if err := cl.Delete(opCtx(t), ids[i]); err != nil {
			t.Fatal(err)
		}
		expectGone(t, cl, ids[i])
		freed[n.TrunkOffset] = true
		delete(want, ids[i])
	}
	reused := 0
	for i := range len(freed) {
		data := payload.Bytes(5000+i, 4096)
		id := upload(t, cl, data, "bin")
		if freed[parse(t, id).TrunkOffset] {
			reused++
		}
		want[id] = data
	}
	if reused != len(freed) {
		t.Errorf("%d of %d uploads reused a freed slot", reused, len(freed))
	}

	c.StopStorage(0)
	c.StartStorage(0)
	c.WaitActive()
	waitTrunkServer(t, cl)
	for range 20 {
		data := payload.Bytes(len(want), 3000)
		want[upload(t, cl, data, "")] = data
	}
	for id, data := range want {
		expectContent(t, cl, id, data)
	}
}
