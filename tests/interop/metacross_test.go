package interop

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestMetadataSetsCross: a group of two, A upstream's storage, B of
// either kind. A file's metadata is set at A while B is down, and A goes
// down before the set reaches B; B, back, takes a later set. When A is
// back the two sets cross. Our B drops A's older copy and sends A its own,
// which upstream's A writes: both end with B's later set. Upstream's B
// writes whatever copy arrives last: B's later set is lost on one
// storage or both (both ended with A's older set when first run), logged
// as what upstream does, not failed.
func TestMetadataSetsCross(t *testing.T) {
	for _, kind := range []impl{ours, upstream} {
		t.Run(fmt.Sprint(kind), func(t *testing.T) { metadataSetsCross(t, kind) })
	}
}

func metadataSetsCross(t *testing.T, bKind impl) {
	e := newEnv(t)
	tr := e.addTracker(ours)
	a := e.addStorage(upstream, "group1", []*node{tr})
	b := e.addStorage(bKind, "group1", []*node{tr})
	e.writeClientConf()
	e.waitActive(a, b)

	data := randBytes(70, 2000)
	id, err := rawUpload(a.addr(), false, data, "bin")
	must(t, err)
	must(t, rawSetMeta(a.addr(), id, map[string]string{"v": "0"}))
	e.waitOnDisk(id+"-m", protocol.PackMeta(map[string]string{"v": "0"}), b)

	must(t, b.stop())
	must(t, rawSetMeta(a.addr(), id, map[string]string{"v": "1"}))
	must(t, a.stop())
	b.start()
	e.waitActive(b)
	// A later second than A's set: the record times tell them apart.
	for since := time.Now().Unix(); time.Now().Unix() <= since; {
		time.Sleep(20 * time.Millisecond)
	}
	later := protocol.PackMeta(map[string]string{"v": "2"})
	must(t, rawSetMeta(b.addr(), id, map[string]string{"v": "2"}))
	a.start()
	e.waitActive(a, b)
	// Everything each had for the other before these files has arrived.
	for i, n := range []*node{a, b} {
		marker := randBytes(71+uint64(i), 100)
		mid, err := rawUpload(n.addr(), false, marker, "txt")
		must(t, err)
		e.waitOnDisk(mid, marker, a, b)
	}

	got := map[string][]byte{}
	for _, n := range []*node{a, b} {
		got[n.name], _ = os.ReadFile(n.pathOf(id + "-m"))
	}
	same := bytes.Equal(got[a.name], later) && bytes.Equal(got[b.name], later)
	switch {
	case bKind == upstream && !same:
		t.Logf("upstream's storages did not both end with B's later set %q of %s: %s has %q, %s has %q (upstream's behaviour)", later, id, a, got[a.name], b, got[b.name])
	case !same:
		t.Errorf("%s: %s has %q, %s has %q; want B's later set %q on both", id, a, got[a.name], b, got[b.name], later)
	}
}

// rawSetMeta overwrites fileID's metadata at the storage at addr.
func rawSetMeta(addr, fileID string, meta map[string]string) error {
	group, name, _ := fileid.Split(fileID)
	req := protocol.SetMetadataRequest{Name: name, Flag: protocol.MetaOverwrite, Group: group, Meta: protocol.PackMeta(meta)}
	return rawStatus(addr, protocol.CmdSetMetadata, req.Encode())
}
