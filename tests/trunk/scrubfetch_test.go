package trunk

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestTrunkScrubFetchesFilesPeersHold: a trunk file whose create never
// reached a storage (the source's mark for it moved past the record, as a
// record skipped for good leaves it) is fetched by that storage's
// scrubber into its own slot once older than storage_sync_file_max_delay,
// logged, and served; the next pass finds nothing more.
func TestTrunkScrubFetchesFilesPeersHold(t *testing.T) {
	c := startCluster(t, 2, "storage_sync_file_max_delay = 1")
	// Storage 0 writes its mark for storage 1 when its first session with
	// it begins, which WaitActive does not wait for.
	testwait.Until(t, waitLimit, "storage 0's sync mark for storage 1", func() bool {
		_, err := os.Stat(markPath(c.Storages[0], c.Storages[1]))
		return err == nil
	})
	c.StopStorage(1)
	data := payload.Bytes(3, 4000)
	id := uploadIntoTrunk(t, c, 0, data)
	c.StopStorage(0)
	skipTo(t, c.Storages[0], c.Storages[1]) // storage 1 never gets the create
	c.StartStorage(0)
	c.StartStorage(1)
	c.WaitActive()
	time.Sleep(2 * time.Second) // older than the delay
	if st, _ := downloadFrom(t, c, 1, id); st != protocol.ENOENT {
		t.Fatalf("storage 1 before the scrub: status %d, want ENOENT", st)
	}

	r := scrubNow(t, c, c.StorageAddrs()[1])
	if r.Missing != 1 || r.Repaired != 1 || len(r.Findings) != 1 || "group1/"+r.Findings[0].Name != id {
		t.Fatalf("report %+v: want %s missing and repaired", r, id)
	}
	if st, got := downloadFrom(t, c, 1, id); st != 0 || !bytes.Equal(got, data) {
		t.Fatalf("storage 1 after the scrub: status %d", st)
	}
	log, err := os.ReadFile(filepath.Join(c.Storages[1].BasePath, "data", "sync", "binlog.000"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte(" c "+id[len("group1/"):]+"\n")) {
		t.Errorf("storage 1's binlog has no replica record of %s:\n%s", id, log)
	}
	if r := scrubNow(t, c, c.StorageAddrs()[1]); r.Missing != 1 || r.Repaired != 1 {
		t.Errorf("second pass: report %+v, want nothing more", r)
	}
}

// skipTo moves st's mark for peer to the end of its binlog (st stopped):
// the peer never gets the records before.
func skipTo(t *testing.T, st, peer *cluster.Storage) {
	t.Helper()
	sync := filepath.Join(st.BasePath, "data", "sync")
	fi, err := os.Stat(filepath.Join(sync, "binlog.000"))
	if err != nil {
		t.Fatal(err)
	}
	path := markPath(st, peer)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`(?m)^binlog_offset=\d+$`).ReplaceAll(b, []byte("binlog_offset="+strconv.FormatInt(fi.Size(), 10)))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// markPath is st's sync mark file for peer.
func markPath(st, peer *cluster.Storage) string {
	return filepath.Join(st.BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", peer.IP, peer.Port))
}
