package trunk

import (
	"fmt"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
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
	scrub := func() *protocol.ScrubReport {
		t.Helper()
		before, err := c.Client.Scrub(opCtx(t), addr, &protocol.ScrubRequest{Group: "group1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Client.Scrub(opCtx(t), addr, &protocol.ScrubRequest{Group: "group1", Flags: protocol.ScrubRunNow}); err != nil {
			t.Fatal(err)
		}
		var r *protocol.ScrubReport
		testwait.For(t, waitLimit, "a scrub pass", func() error {
			if r, err = c.Client.Scrub(opCtx(t), addr, &protocol.ScrubRequest{Group: "group1"}); err != nil {
				return err
			}
			if r.Running || r.Passes == before.Passes {
				return fmt.Errorf("pass not done")
			}
			return nil
		})
		return r
	}
	// A restart makes the scrubber replay the binlog for files lost while
	// the storage was down.
	c.StopStorage(0)
	c.StartStorage(0)
	c.WaitActive()
	if r := scrub(); r.Missing != 0 || r.Corrupt != 0 {
		t.Fatalf("healthy trunk files reported: %d missing, %d corrupt (%d findings)", r.Missing, r.Corrupt, len(r.Findings))
	}

	victim := trunk.Of(parse(t, ids[7]))
	c.StopStorage(0)
	if err := trunk.Clear(c.StorageConf(0).StorePaths[0], victim); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(0)
	c.WaitActive()
	r := scrub()
	if r.Missing != 1 || len(r.Findings) == 0 || r.Findings[len(r.Findings)-1].Name != ids[7][len("group1/"):] {
		t.Fatalf("a wiped trunk slot: %d missing, findings %+v", r.Missing, r.Findings)
	}
}
