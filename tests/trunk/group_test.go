package trunk

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// storageAt is a raw client of storage i.
func storageAt(t *testing.T, c *cluster.Cluster, i int) *wiretest.Client {
	return wiretest.Dial(t, c.StorageAddrs()[i])
}

func rawUpload(t *testing.T, rc *wiretest.Client, data []byte) string {
	t.Helper()
	req := protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: int64(len(data)), Ext: "dat"}
	st, body := rc.Do(protocol.CmdUploadFile, req.Encode(), data)
	if st != 0 {
		t.Fatalf("upload of %d bytes: status %d", len(data), st)
	}
	r, err := protocol.DecodeFileResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	return fileid.Join(r.Group, r.Name)
}

func rawDownload(t *testing.T, rc *wiretest.Client, id string) (byte, []byte) {
	t.Helper()
	g, name, _ := fileid.Split(id)
	return rc.Do(protocol.CmdDownloadFile, (&protocol.DownloadRequest{Group: g, Name: name}).Encode())
}

// downloadFrom downloads id from storage i as it holds it: from its own
// address, as a member of the group (a client would be answered from the
// file's source for a file storage i lacks), and on a connection of its
// own, closed after: a poll every 5 ms must not pile connections up
// against the storage's max_connections (256) while it waits.
func downloadFrom(t *testing.T, c *cluster.Cluster, i int, id string) (byte, []byte) {
	t.Helper()
	addr := c.StorageAddrs()[i]
	host, _, _ := strings.Cut(addr, ":")
	rc := wiretest.DialFrom(t, host, addr)
	defer rc.Conn.Close()
	return rawDownload(t, rc, id)
}

// waitReplicated waits until the storages serve every file of want.
func waitReplicated(t *testing.T, c *cluster.Cluster, want map[string][]byte, storages ...int) {
	t.Helper()
	for id, data := range want {
		for _, i := range storages {
			testwait.Until(t, waitLimit, "replica of "+id, func() bool {
				st, got := downloadFrom(t, c, i, id)
				return st == 0 && bytes.Equal(got, data)
			})
		}
	}
}

// trunkServer returns the index of the group's trunk server in the
// tracker's view, -1 if none.
func trunkServer(t *testing.T, c *cluster.Cluster) int {
	t.Helper()
	sts, err := c.Client.ListStorages(opCtx(t), "group1", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if !st.IfTrunkServer {
			continue
		}
		for i, a := range c.StorageAddrs() {
			if a == protocol.FormatHostPort(st.IP, int(st.StoragePort)) {
				return i
			}
		}
	}
	return -1
}

// TestTrunkGroup: in a group of two, the storage that is not the trunk
// server allocates its slots through the trunk server; no two files share
// a slot; every trunk file replicates to the other storage into the same
// slot, and deletes replicate. When the trunk server stops, the tracker
// elects the other storage, which goes on storing into trunks without
// touching the existing files.
func TestTrunkGroup(t *testing.T) {
	c := startCluster(t, 2, "check_active_interval = 4")
	ts := trunkServer(t, c)
	if ts < 0 {
		t.Fatal("no trunk server listed")
	}
	other := 1 - ts
	want := map[string][]byte{}
	slots := map[string]string{}
	for i := range 40 {
		src := []int{ts, other}[i%2]
		data := payload.Bytes(i, 100+i*997%20000)
		id := rawUpload(t, storageAt(t, c, src), data)
		n := parse(t, id)
		if !n.Trunk {
			t.Fatalf("upload to storage %d: %s is not in a trunk", src, id)
		}
		slot := fmt.Sprintf("%d/%d", n.TrunkFileID, n.TrunkOffset)
		if prev, dup := slots[slot]; dup {
			t.Fatalf("%s and %s share the slot %s", prev, id, slot)
		}
		slots[slot] = id
		want[id] = data
	}
	waitReplicated(t, c, want, 0, 1)

	// A delete at the source replicates.
	var victim string
	for id := range want {
		if n := parse(t, id); n.SourceIP == c.Storages[other].IP {
			victim = id
			break
		}
	}
	g, name, _ := fileid.Split(victim)
	if st, _ := storageAt(t, c, other).Do(protocol.CmdDeleteFile, (&protocol.FileRequest{Group: g, Name: name}).Encode()); st != 0 {
		t.Fatalf("delete %s: %d", victim, st)
	}
	delete(want, victim)
	testwait.Until(t, waitLimit, "the delete to replicate", func() bool {
		st, _ := downloadFrom(t, c, ts, victim)
		return st == protocol.ENOENT
	})

	// The other storage has a copy of the trunk binlog...
	binlogOf := func(i int) string {
		b, _ := os.ReadFile(trunk.BinlogPath(c.StorageConf(i).BasePath))
		return string(b)
	}
	testwait.Until(t, waitLimit, "the trunk binlog to reach the other storage", func() bool {
		return binlogOf(other) != "" && binlogOf(other) == binlogOf(ts)
	})

	// ...so that, when the trunk server stops and the tracker elects the
	// other storage, it goes on with the free space of the same trunk file.
	c.StopStorage(ts)
	testwait.Until(t, waitLimit, "the other storage to be elected trunk server", func() bool {
		return trunkServer(t, c) == other
	})
	testwait.Until(t, waitLimit, "uploads to the new trunk server", func() bool {
		req := protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: 3, Ext: "x"}
		st, _ := storageAt(t, c, other).Do(protocol.CmdUploadFile, req.Encode(), []byte("abc"))
		return st == 0
	})
	for i := range 20 {
		data := payload.Bytes(1000+i, 5000)
		id := rawUpload(t, storageAt(t, c, other), data)
		n := parse(t, id)
		if !n.Trunk || n.TrunkFileID != 1 {
			t.Fatalf("upload after the failover: %s not in trunk file 1", id)
		}
		slot := fmt.Sprintf("%d/%d", n.TrunkFileID, n.TrunkOffset)
		if prev, dup := slots[slot]; dup && want[prev] != nil {
			t.Fatalf("%s took the slot of %s", id, prev)
		}
		want[id] = data
	}
	waitReplicated(t, c, want, other)
}
