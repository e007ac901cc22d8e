package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestStorePaths checks that uploads spread over several store paths (the
// tracker's store_path=0 round robin) and land in the path their name says.
func TestStorePaths(t *testing.T) {
	t.Parallel()
	const paths = 3
	c := cluster.Start(t, cluster.Options{Storages: 1, StorePaths: paths})
	seen := map[int]bool{}
	for i := range 3 * paths {
		data := fmt.Appendf(nil, "file %d", i)
		id := upload(t, c.Client, data, client.UploadOptions{Ext: "txt"})
		_, name, _ := fileid.Split(id)
		n, err := fileid.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		seen[n.StorePathIndex] = true
		path := n.Path(c.Storages[0].StorePaths)
		if !bytes.HasPrefix([]byte(path), []byte(c.Storages[0].StorePaths[n.StorePathIndex]+string(filepath.Separator))) {
			t.Fatalf("%s maps to %s", id, path)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s on disk at %s: %q, %v", id, path, got, err)
		}
		wantContent(t, c.Client, id, data)
	}
	if len(seen) != paths {
		t.Errorf("uploads used store paths %v, want all %d", seen, paths)
	}
	g, err := c.Client.ListGroup(opCtx(t), "group1")
	if err != nil || g.StorePathCount != paths {
		t.Errorf("group store_path_count: %+v, %v", g, err)
	}
}

// TestStorageIDMode runs a cluster with use_storage_id=true and
// id_type_in_filename=id: storages are known by their numeric ids and file
// names carry the id of their source.
func TestStorageIDMode(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, cluster.Options{UseStorageID: true})
	cl := c.Client
	ids := map[string]*cluster.Storage{}
	for _, s := range c.Storages {
		ids[s.ID] = s
	}
	list, err := cl.ListStorages(opCtx(t), "group1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d storages listed, want 2", len(list))
	}
	for _, st := range list {
		s, ok := ids[st.ID]
		if !ok || st.IP != s.IP || st.Status != protocol.StatusActive {
			t.Errorf("storage stat id %q ip %q status %s; want one of %v", st.ID, st.IP, protocol.StorageStatusName(st.Status), ids)
		}
	}
	for i := range 4 {
		data := fmt.Appendf(nil, "id mode %d", i)
		id := upload(t, cl, data, client.UploadOptions{Ext: "txt"})
		_, name, _ := fileid.Split(id)
		n, err := fileid.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := ids[n.SourceID]
		if !ok {
			t.Fatalf("%s: source id %q (ip %q), want one of the storage ids", id, n.SourceID, n.SourceIP)
		}
		fi, err := cl.GetFileInfo(opCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if fi.SourceIP != s.IP {
			t.Errorf("%s: file info source %q, want %s (ip of id %s)", id, fi.SourceIP, s.IP, s.ID)
		}
		wantContent(t, cl, id, data)
		waitReplicated(t, c, "group1", id, int64(len(data)))
	}
	filtered, err := cl.ListStorages(opCtx(t), "group1", c.Storages[0].ID)
	if err != nil || len(filtered) != 1 {
		t.Errorf("list storage %s: %+v, %v", c.Storages[0].ID, filtered, err)
	}
}

// TestGroups checks placement by group with two groups of one storage each.
func TestGroups(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, cluster.Options{Groups: []string{"group1", "group2"}, Storages: 1})
	cl := c.Client
	for _, g := range []string{"group1", "group2"} {
		id := upload(t, cl, []byte("in "+g), client.UploadOptions{Group: g, Ext: "txt"})
		if got, _, _ := fileid.Split(id); got != g {
			t.Errorf("upload to %s gave %s", g, id)
		}
		wantContent(t, cl, id, []byte("in "+g))
	}
	_, err := cl.Upload(opCtx(t), bytes.NewReader([]byte("x")), 1, client.UploadOptions{Group: "group3"})
	wantErr(t, "upload to a missing group", err, protocol.ErrNotFound)
	groups, err := cl.ListGroups(opCtx(t))
	if err != nil || len(groups) != 2 || groups[0].Name != "group1" || groups[1].Name != "group2" {
		t.Errorf("groups %+v, %v", groups, err)
	}
}

// TestRestarts checks that the tracker keeps its cluster state across a
// restart and that a restarted storage still serves its files.
func TestRestarts(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, cluster.Options{})
	cl := c.Client
	data := []byte("survives restarts")
	id := upload(t, cl, data, client.UploadOptions{Ext: "txt"})
	waitReplicated(t, c, "group1", id, int64(len(data)))
	before, err := cl.ListStorages(opCtx(t), "group1", "")
	if err != nil {
		t.Fatal(err)
	}

	c.RestartTracker()
	for _, f := range []string{"storage_groups_new.dat", "storage_servers_new.dat"} {
		if _, err := os.Stat(filepath.Join(c.Tracker.BasePath, "data", f)); err != nil {
			t.Errorf("tracker state file: %v", err)
		}
	}
	after, err := cl.ListStorages(opCtx(t), "group1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d storages after the tracker restart, %d before", len(after), len(before))
	}
	for i := range after {
		if after[i].ID != before[i].ID || after[i].JoinTime != before[i].JoinTime {
			t.Errorf("storage %s: join time %d after restart, %d before", after[i].ID, after[i].JoinTime, before[i].JoinTime)
		}
		if after[i].Stat.SuccessUploadCount < before[i].Stat.SuccessUploadCount {
			t.Errorf("storage %s: upload count went from %d to %d", after[i].ID, before[i].Stat.SuccessUploadCount, after[i].Stat.SuccessUploadCount)
		}
	}
	wantContent(t, cl, id, data)
	id2 := upload(t, cl, []byte("after tracker restart"), client.UploadOptions{})
	wantContent(t, cl, id2, []byte("after tracker restart"))

	// With every storage down, a restarted tracker knows the cluster only
	// from its data files: the storages are listed, OFFLINE as the tracker
	// saw them when they left (one it saw ACTIVE comes back ACTIVE, see
	// trackernode's restoredStatus).
	for i := range c.Storages {
		c.StopStorage(i)
	}
	waitAllStatus(t, cl, len(before), protocol.StatusOffline)
	c.RestartTracker()
	offline, err := cl.ListStorages(opCtx(t), "group1", "")
	if err != nil {
		t.Fatalf("list storages from the persisted state: %v", err)
	}
	if len(offline) != len(before) {
		t.Fatalf("%d storages known from the persisted state, want %d", len(offline), len(before))
	}
	for i, st := range offline {
		if st.ID != before[i].ID || st.Status != protocol.StatusOffline || st.JoinTime != before[i].JoinTime {
			t.Errorf("persisted storage %s: status %s join time %d; want %s OFFLINE %d", st.ID,
				protocol.StorageStatusName(st.Status), st.JoinTime, before[i].ID, before[i].JoinTime)
		}
	}
	for i := range c.Storages {
		c.RestartStorage(i)
	}
	wantContent(t, cl, id, data)
	wantContent(t, cl, id2, []byte("after tracker restart"))
	id3 := upload(t, cl, []byte("after storage restarts"), client.UploadOptions{})
	wantContent(t, cl, id3, []byte("after storage restarts"))
}

// waitAllStatus waits until the tracker lists n storages of group1, all
// with status.
func waitAllStatus(t *testing.T, cl *client.Client, n int, status byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := cl.ListStorages(opCtx(t), "group1", "")
		same := err == nil && len(list) == n
		for _, st := range list {
			same = same && st.Status == status
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("storages not all %s after 30s: %+v, %v", protocol.StorageStatusName(status), list, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
