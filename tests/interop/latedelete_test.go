package interop

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// TestCreateAfterDeleteFromAnotherMember: a group of three, A and B
// upstream's storages, C of either kind. A file uploaded to A reaches B
// while C is down; A goes down, C comes back, the file is deleted at B,
// and B's delete reaches C, which never had the file. A, back, sends C its
// create. Our C drops it (it logged the delete); upstream's C stores it,
// and keeps it for good: logged, as what upstream does, not failed.
func TestCreateAfterDeleteFromAnotherMember(t *testing.T) {
	for _, kind := range []impl{ours, upstream} {
		t.Run(fmt.Sprint(kind), func(t *testing.T) { createAfterDelete(t, kind) })
	}
}

func createAfterDelete(t *testing.T, cKind impl) {
	e := newEnv(t)
	tr := e.addTracker(ours)
	a := e.addStorage(upstream, "group1", []*node{tr})
	b := e.addStorage(upstream, "group1", []*node{tr})
	c := e.addStorage(cKind, "group1", []*node{tr})
	e.writeClientConf()
	e.waitActive(a, b, c)

	must(t, c.stop())
	data := randBytes(60, 3000)
	id, err := rawUpload(a.addr(), false, data, "bin")
	must(t, err)
	e.waitOnDisk(id, data, b)
	must(t, a.stop())
	c.start()
	e.waitActive(b, c)
	must(t, rawDelete(b.addr(), id))
	e.waitGone(id, b)
	// B's delete has reached C once a later file of B's has.
	marker := randBytes(61, 100)
	mid, err := rawUpload(b.addr(), false, marker, "txt")
	must(t, err)
	e.waitOnDisk(mid, marker, c)

	a.start()
	e.waitActive(a, b, c)
	e.waitGone(id, a, b)
	// Everything A had for C before this file has reached it.
	marker = randBytes(62, 100)
	mid, err = rawUpload(a.addr(), false, marker, "txt")
	must(t, err)
	e.waitOnDisk(mid, marker, b, c)
	_, err = os.Stat(c.pathOf(id))
	switch {
	case cKind == upstream && err == nil:
		t.Logf("upstream's storage C kept %s, deleted at B and gone from A and B (upstream's behaviour)", id)
	case !errors.Is(err, os.ErrNotExist):
		t.Errorf("%s, deleted at B, is on %s (%v)", id, c, err)
	}
}
