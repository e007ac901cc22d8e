package trunk

import (
	"testing"

	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestTrunkScrub: the scrubber of a storage holding trunk files reports
// none of them missing (their names have no file of their own), but does
// report a trunk file whose slot was wiped.
func TestTrunkScrub(t *testing.T) {
	c := startCluster(t, 1)
	var ids []string
	for i := range 20 {
		ids = append(ids, upload(t, c.Client, payload.Bytes(i, 100+i*50), "bin"))
	}
	addr := c.StorageAddrs()[0]
	// A restart makes the scrubber replay the binlog for files lost while
	// the storage was down.
	c.StopStorage(0)
	c.StartStorage(0)
	c.WaitActive()
	if r := scrubNow(t, c, addr); r.Missing != 0 || r.Corrupt != 0 {
		t.Fatalf("healthy trunk files reported: %d missing, %d corrupt (%d findings)", r.Missing, r.Corrupt, len(r.Findings))
	}

	victim := trunk.Of(parse(t, ids[7]))
	c.StopStorage(0)
	if err := trunk.Clear(c.StorageConf(0).StorePaths[0], victim); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(0)
	c.WaitActive()
	r := scrubNow(t, c, addr)
	if r.Missing != 1 || len(r.Findings) == 0 || r.Findings[len(r.Findings)-1].Name != ids[7][len("group1/"):] {
		t.Fatalf("a wiped trunk slot: %d missing, findings %+v", r.Missing, r.Findings)
	}
}
