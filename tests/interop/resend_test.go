package interop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResendAfterDeleteAtReplica: our storage, started again with its mark
// for an upstream peer behind what the peer has had (what a crash leaves:
// the mark is written every second), sends the creates since the mark
// again. The peer deleted one of those files meanwhile, and its delete has
// not reached us yet. Sending that create again would bring the file back
// at the peer, which then skips sending its delete ("exists, maybe created
// later?"): the file, deleted and acknowledged, would live on in both (what
// TestMixedChaos found). Our storage defers it, drops it when the peer has
// the next file, and the peer's delete then reaches it: the file is gone
// from both, the others stay. A peer of ours, which remembers its deletes,
// ends the same.
func TestResendAfterDeleteAtReplica(t *testing.T) {
	for _, kind := range []impl{upstream, ours} {
		t.Run(fmt.Sprint(kind), func(t *testing.T) { resendAfterDelete(t, kind) })
	}
}

func resendAfterDelete(t *testing.T, peerKind impl) {
	e := newEnv(t)
	tr := e.addTracker(ours)
	src := e.addStorage(ours, "group1", []*node{tr})
	peer := e.addStorage(peerKind, "group1", []*node{tr})
	e.writeClientConf()
	e.waitActive(src, peer)

	var ids []string
	var contents [][]byte
	for i := range 5 {
		b := randBytes(uint64(40+i), 2000+i)
		id, err := rawUpload(src.addr(), false, b, "bin")
		must(t, err)
		ids, contents = append(ids, id), append(contents, b)
	}
	for i, id := range ids {
		e.waitOnDisk(id, contents[i], peer)
	}
	must(t, src.stop())
	rewindMark(t, src, peer)
	deleted := ids[2]
	must(t, rawDelete(peer.addr(), deleted))

	src.start()
	e.waitActive(src, peer)
	e.waitGone(deleted, src, peer)
	// A file uploaded now has reached the peer: everything before it was
	// replayed, and the deleted file stayed deleted.
	marker := randBytes(50, 100)
	mid, err := rawUpload(src.addr(), false, marker, "txt")
	must(t, err)
	e.waitOnDisk(mid, marker, peer)
	for i, id := range ids {
		if id == deleted {
			for _, st := range []*node{src, peer} {
				if _, err := os.Stat(st.pathOf(id)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s deleted at %s, back on %s: %v", id, peer, st, err)
				}
			}
			continue
		}
		e.waitOnDisk(id, contents[i], src, peer)
	}
}

// rewindMark moves st's mark file for peer back to the start of its
// binlog, as a crash between two writes of the mark leaves it.
func rewindMark(t *testing.T, st, peer *node) {
	t.Helper()
	path := filepath.Join(st.base, "data", "sync", fmt.Sprintf("%s_%d.mark", peer.ip, peer.port))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		k, _, _ := strings.Cut(line, "=")
		switch k {
		case "binlog_index", "binlog_offset", "scan_row_count", "sync_row_count":
			line = k + "=0"
		}
		out = append(out, line)
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
