package interop

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDiskRecoveryTrunkMixed: TestDiskRecoveryMixed with trunk storage on:
// small files live in trunk slots; either kind's store path is wiped and
// refilled from the other, under either tracker, and every file must be
// back in a slot of the recovering storage before it is listed ACTIVE.
func TestDiskRecoveryTrunkMixed(t *testing.T) {
	for _, c := range []struct {
		name        string
		victim      impl
		trackerImpl impl
	}{
		{"ours/ourTracker", ours, ours},
		{"ours/upstreamTracker", ours, upstream},
		{"upstream/ourTracker", upstream, ours},
		{"upstream/upstreamTracker", upstream, upstream},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(c.trackerImpl, trunkTrackerConf...)
			up := e.newStorage(upstream, "group1")
			up.bindShim = bindShim(t) // see TestDiskRecoveryMixed
			our := e.newStorage(ours, "group1")
			up.run(tr)
			our.run(tr)
			e.writeClientConf()
			e.waitActive(up, our)
			e.waitTrunkUploads(up, our)
			victim, peer := our, up
			if c.victim == upstream {
				victim, peer = up, our
			}
			cl := e.client()
			files := uploadMany(t, cl, peer, 300, 4<<10, true) // slot_max_size 8 KB, header included
			for id, b := range files {
				if !isTrunkID(id) {
					t.Fatalf("%s not in a trunk slot", id)
				}
				waitSlot(t, id, b, victim)
			}
			if err := victim.stop(); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(victim.store, "data")); err != nil {
				t.Fatal(err)
			}
			victim.start()
			e.waitActive(victim)
			for id, b := range files {
				waitSlot(t, id, b, victim)
			}
		})
	}
}
