package replication

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestChangeAfterDeleteAtReplica: a file is deleted at a replica while its
// source is down and still holds a change of it that the replica has not
// had (its metadata set, an append, a modify, a truncate). When the source
// is back, that change reaches the replica after the delete; it must not
// bring the file (or an orphan metadata file) back there. The delete then
// reaches the source, and neither storage keeps anything of the file.
// Without the replica's memory of its deletes, the late metadata came
// back as an orphan "-m" file and the late append as the whole file (the
// replica answers ENOENT, the source sends the file whole): deleted, and
// back on one storage for good (found by tests/interop TestMixedChaos).
func TestChangeAfterDeleteAtReplica(t *testing.T) {
	changes := []lateChange{
		// The replica has no metadata file to delete: the source's must
		// go with the file when the delete reaches it.
		{"first metadata", false, func(c *client.Client, id string) error {
			return c.SetMetadata(opCtx(t), id, map[string]string{"late": "1"}, protocol.MetaOverwrite)
		}},
		{"metadata", true, func(c *client.Client, id string) error {
			return c.SetMetadata(opCtx(t), id, map[string]string{"late": "1"}, protocol.MetaMerge)
		}},
		{"append", true, func(c *client.Client, id string) error {
			return c.Append(opCtx(t), id, bytes.NewReader([]byte("late")), 4)
		}},
		{"modify", true, func(c *client.Client, id string) error {
			return c.Modify(opCtx(t), id, 1, bytes.NewReader([]byte("late")), 4)
		}},
		{"truncate", true, func(c *client.Client, id string) error {
			return c.Truncate(opCtx(t), id, 3)
		}},
	}
	t.Run("replicaUp", func(t *testing.T) { changesAfterDelete(t, changes, false) })
	// The deletes it remembers come back from its binlog.
	t.Run("replicaRestarted", func(t *testing.T) { changesAfterDelete(t, changes, true) })
}

// lateChange is a change of a file made at its source while the replica
// is down.
type lateChange struct {
	name   string
	meta   bool // the file is uploaded with metadata
	change func(c *client.Client, id string) error
}

// changesAfterDelete plays TestChangeAfterDeleteAtReplica, the replica
// restarted between the deletes and the source's return when restart is
// set.
func changesAfterDelete(t *testing.T, changes []lateChange, restart bool) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	src := &client.Server{Group: "group1", IP: c.Storages[0].IP, Port: c.Storages[0].Port, StorePathIndex: protocol.StoreAnyPath}
	ids := map[string]string{}
	for _, ch := range changes {
		data := []byte("content of " + ch.name)
		opt := client.UploadOptions{Ext: "bin", Storage: src}
		if ch.meta {
			opt.Meta = map[string]string{"first": "1"}
		}
		id, err := c.Client.UploadAppender(opCtx(t), bytes.NewReader(data), int64(len(data)), opt)
		if err != nil {
			t.Fatal(err)
		}
		ids[ch.name] = id
		want := newFiles()
		want.add(id, data)
		if ch.meta { // replicated too, or the replica has none to delete
			want.add(id+metaSuffix, protocol.PackMeta(opt.Meta))
		}
		waitEverywhere(t, c.Storages, want.snapshot())
	}

	crossWhileDown(t, c, func() {
		for _, ch := range changes {
			if err := ch.change(c.Client, ids[ch.name]); err != nil {
				t.Fatalf("%s at the source: %v", ch.name, err)
			}
		}
	}, func() {
		for _, ch := range changes {
			deleteAt(t, c.Storages[1], ids[ch.name])
		}
	}, restart)
	for _, ch := range changes {
		id := ids[ch.name]
		for _, s := range c.Storages {
			for _, name := range []string{id, id + metaSuffix} {
				if _, err := os.Stat(storedPath(t, s, name)); err == nil {
					t.Errorf("%s deleted at %s before the %s reached it: %s is on %s", id, c.Storages[1].Addr(), ch.name, name, s.Addr())
				}
			}
		}
	}
}

// crossWhileDown makes changes at two storages each while the other is
// down: atA at storage 0 (A) while storage 1 (B) is down, then, A down,
// atB at B (restarted after it when restart is set: what it remembers
// must come back from its disk). It returns once both are back and every
// record of each has reached the other.
func crossWhileDown(t *testing.T, c *cluster.Cluster, atA, atB func(), restart bool) {
	t.Helper()
	c.StopStorage(1)
	atA()
	c.StopStorage(0)
	c.StartStorage(1)
	c.WaitStatus(1, protocol.StatusActive)
	atB()
	if restart {
		c.StopStorage(1)
		c.StartStorage(1)
		c.WaitStatus(1, protocol.StatusActive)
	}
	c.StartStorage(0)
	c.WaitActive()
	settle(t, c, c.Storages, c.Storages...)
}

// settle returns once a file uploaded to each of from after all that came
// before has reached each storage of on: each one's records before it have
// been replayed there (sync is in binlog order).
func settle(t *testing.T, c *cluster.Cluster, on []*cluster.Storage, from ...*cluster.Storage) {
	t.Helper()
	for i, st := range from {
		srv := &client.Server{Group: "group1", IP: st.IP, Port: st.Port, StorePathIndex: protocol.StoreAnyPath}
		data := []byte(fmt.Sprintf("marker %d of %s", i, t.Name()))
		want := newFiles()
		want.add(upload(t, c.Client, data, client.UploadOptions{Ext: "txt", Storage: srv}), data)
		waitEverywhere(t, on, want.snapshot())
	}
}

// TestCreateAfterDeleteFromAnotherMember: in a group of three, a file is
// uploaded to A and replicated to B while C is down; A goes down, C comes
// back, and a client deletes the file at B (the trackers name B, A being
// down). B's delete reaches C, which never had the file; A, back, then
// sends C its create. C must not take it: the file would live on at C
// alone, deleted everywhere else. Upstream's storages keep it there.
func TestCreateAfterDeleteFromAnotherMember(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restarted=%v", restart), func(t *testing.T) {
			c := cluster.Start(t, cluster.Options{Storages: 3})
			a, b, cs := c.Storages[0], c.Storages[1], c.Storages[2]
			c.StopStorage(2)
			data := []byte("deleted while its source was down")
			id := upload(t, c.Client, data, client.UploadOptions{Ext: "bin",
				Storage: &client.Server{Group: "group1", IP: a.IP, Port: a.Port, StorePathIndex: protocol.StoreAnyPath}})
			want := newFiles()
			want.add(id, data)
			waitEverywhere(t, []*cluster.Storage{a, b}, want.snapshot())

			c.StopStorage(0)
			c.StartStorage(2)
			c.WaitStatus(2, protocol.StatusActive)
			deleteAt(t, b, id)
			// B's delete has reached C once a later file of B's has.
			settle(t, c, []*cluster.Storage{b, cs}, b)
			if restart { // the delete is remembered from C's binlog
				c.StopStorage(2)
				c.StartStorage(2)
				c.WaitStatus(2, protocol.StatusActive)
			}
			c.StartStorage(0)
			c.WaitActive()
			settle(t, c, c.Storages, c.Storages...)
			for i, s := range c.Storages {
				if _, err := os.Stat(storedPath(t, s, id)); err == nil {
					t.Errorf("%s, deleted at B, is on %s", id, "ABC"[i:i+1])
				}
			}
		})
	}
}

// deleteAt deletes fileID at storage s itself (the client would ask the
// tracker, which names the source).
func deleteAt(t *testing.T, s *cluster.Storage, fileID string) {
	t.Helper()
	g, name, _ := fileid.Split(fileID)
	rc := wiretest.DialFrom(t, "127.0.0.1", s.Addr())
	if st, _ := rc.Do(protocol.CmdDeleteFile, (&protocol.FileRequest{Group: g, Name: name}).Encode()); st != 0 {
		t.Fatalf("delete %s at %s: status %d", fileID, s.Addr(), st)
	}
	testwait.Until(t, 5*time.Second, "the file gone", func() bool {
		_, err := os.Stat(storedPath(t, s, fileID))
		return err != nil
	})
}
