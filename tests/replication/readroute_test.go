package replication

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestReadRouteCache: a client with Config.ReadRouteTTL reads without
// asking the tracker while its route is cached, rotates over the storages
// the tracker listed, survives a listed storage going away (it drops the
// stale route and asks again), and forgets a file's route once it changes
// the file.
func TestReadRouteCache(t *testing.T) {
	// A replica serves a file once it synced it and the file is older
	// than storage_sync_file_max_time (default 300 s).
	c := cluster.Start(t, cluster.Options{Storages: 2, TrackerConf: []string{"storage_sync_file_max_time = 1"}})
	data := payload.Bytes(7, 5000)
	id := upload(t, c.Client, data, client.UploadOptions{Ext: "bin"})
	waitEverywhere(t, c.Storages, map[string][]byte{id: data})
	// The tracker lists a replica once the source reports it synced.
	waitFetchAll(t, c.Client, id, 2)

	cached, err := client.New(client.Config{Trackers: []string{c.TrackerAddr()}, ReadRouteTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cached.Close() })
	read := func(what string) error {
		t.Helper()
		var buf bytes.Buffer
		if _, err := cached.Download(opCtx(t), id, 0, 0, &buf); err != nil {
			return err
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("%s: downloaded %d bytes that differ from the %d uploaded", what, buf.Len(), len(data))
		}
		return nil
	}
	if err := read("first read"); err != nil {
		t.Fatal(err)
	}

	// A listed storage stops: reads that pick it from the cache fall back
	// to the tracker, which no longer lists it.
	gone := 0
	if _, n, _ := client.DecodeFileID(id); n.SourceIP == c.Storages[0].IP {
		gone = 1
	}
	c.StopStorage(gone)
	c.WaitStatus(gone, protocol.StatusOffline)
	for i := range 6 {
		if err := read("read with a stopped replica"); err != nil {
			t.Fatalf("read %d after storage %d stopped: %v", i, gone, err)
		}
	}

	// Without the tracker, cached routes still serve every kind of read;
	// an uncached client cannot read at all.
	c.StopTracker()
	for i := range 4 {
		if err := read("read without tracker"); err != nil {
			t.Fatalf("cached read %d without the tracker: %v", i, err)
		}
	}
	if fi, err := cached.GetFileInfo(opCtx(t), id); err != nil || fi.Size != int64(len(data)) {
		t.Fatalf("cached file info without the tracker: %+v, %v", fi, err)
	}
	if _, err := cached.GetMetadata(opCtx(t), id); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("cached metadata read without the tracker: %v, want the storage's ENOENT (no metadata)", err)
	}
	if _, err := c.Client.Download(opCtx(t), id, 0, 0, io.Discard); err == nil {
		t.Fatal("an uncached client read without a tracker: the test proves nothing")
	}

	// A change through the cached client forgets the route: with the
	// tracker gone again, the next read has to ask it and fails.
	c.RestartTracker()
	if err := read("read after tracker restart"); err != nil {
		t.Fatal(err)
	}
	if err := cached.SetMetadata(opCtx(t), id, map[string]string{"k": "v"}, protocol.MetaOverwrite); err != nil {
		t.Fatal(err)
	}
	c.StopTracker()
	if err := read("read after a change"); err == nil {
		t.Fatal("read after SetMetadata used the cached route, want a tracker query (and its connection error)")
	}
}

// waitFetchAll waits until the tracker lists n storages for reads of id.
func waitFetchAll(t testing.TB, c *client.Client, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		servers, err := c.QueryFetchAll(opCtx(t), id)
		if err == nil && len(servers) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracker lists %v (err %v) for %s, want %d storages", servers, err, id, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
