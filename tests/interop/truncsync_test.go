package interop

import (
	"bytes"
	"os"
	"testing"
)

// TestTruncateWhilePeerDown: an appender file is appended to, then
// truncated below the append's end, while its replica is down. When the
// replica is back, the source replays the append (its range no longer
// exists there) and the truncate (the replica's size is not its old
// size). Ours, as the source, sends such a file whole: the replica ends
// with the source's bytes, whichever kind it is. Upstream's storage skips
// the append (storage_sync.c storage_sync_modify_file: "maybe some
// mistakes happened, skip sync this appender file") and the replica
// refuses the truncate, so the copies differ for good, between two
// upstream storages as well: that case is logged, not failed.
func TestTruncateWhilePeerDown(t *testing.T) {
	for _, c := range []struct {
		name         string
		src, replica impl
	}{
		{"oursToOurs", ours, ours}, {"oursToUpstream", ours, upstream},
		{"upstreamToOurs", upstream, ours}, {"upstreamToUpstream", upstream, upstream},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(ours)
			src := e.addStorage(c.src, "group1", []*node{tr})
			replica := e.addStorage(c.replica, "group1", []*node{tr})
			e.writeClientConf()
			e.waitActive(src, replica)

			first := randBytes(1, 5000)
			id, err := rawUpload(src.addr(), true, first, "log")
			must(t, err)
			e.waitOnDisk(id, first, replica)
			if err := replica.stop(); err != nil {
				t.Fatal(err)
			}
			more := randBytes(2, 3000)
			must(t, rawAppend(src.addr(), id, more))
			must(t, rawTruncate(src.addr(), id, 6000)) // inside the append
			want := append(append([]byte{}, first...), more...)[:6000]
			replica.start()
			e.waitActive(src, replica)

			// A file uploaded after the changes has reached the replica: the
			// source has replayed them.
			marker := randBytes(3, 100)
			mid, err := rawUpload(src.addr(), false, marker, "txt")
			must(t, err)
			e.waitOnDisk(mid, marker, replica)
			got, err := os.ReadFile(replica.pathOf(id))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, want) {
				return
			}
			if c.src == upstream {
				t.Logf("upstream's storage as the source: the replica holds %d bytes, the source %d (upstream skips the append)", len(got), len(want))
				return
			}
			t.Errorf("the replica holds %d bytes, want the source's %d", len(got), len(want))
		})
	}
}
