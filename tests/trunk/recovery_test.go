package trunk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestTrunkRecovery: a storage whose store path was wiped gets its trunk
// files back from its peer (disk recovery) into the same slots, and a
// storage that lost everything gets them by the initial sync.
func TestTrunkRecovery(t *testing.T) {
	c := startCluster(t, 2)
	ts := trunkServer(t, c)
	victim := 1 - ts
	want := map[string][]byte{}
	for i := range 30 {
		data := payload.Bytes(i, 1+i*1733%30000)
		id := rawUpload(t, storageAt(t, c, []int{ts, victim}[i%2]), data)
		if !parse(t, id).Trunk {
			t.Fatalf("%s not in a trunk", id)
		}
		want[id] = data
	}
	check := func(what string) {
		t.Helper()
		for id, data := range want {
			st, got := downloadFrom(t, c, victim, id)
			if st != 0 || !bytes.Equal(got, data) {
				t.Fatalf("%s: %s on the recovered storage: status %d, %d bytes", what, id, st, len(got))
			}
		}
	}
	waitReplicated(t, c, want, 0, 1)

	store := c.StorageConf(victim).StorePaths[0]
	c.StopStorage(victim)
	if err := os.RemoveAll(filepath.Join(store, "data")); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(victim)
	c.WaitActive()
	check("disk recovery")

	c.StopStorage(victim)
	if err := os.RemoveAll(c.StorageConf(victim).BasePath); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(victim)
	c.WaitActive()
	waitReplicated(t, c, want, victim)
	if c.Status(victim) != protocol.StatusActive {
		t.Fatalf("status %d", c.Status(victim))
	}
}
