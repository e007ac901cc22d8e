package interop

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestReplaceStorage replaces a storage as an operator replacing a dead
// machine does: the storage is stopped, deleted from the cluster
// (fdfs_monitor delete), and a new one with an empty disk starts at the
// same address. The group's other storage, of the other kind, must give
// the new one every file (those made before the delete and while it was
// gone), under either tracker: the tracker's DELETED record is what tells
// the survivor to forget the old storage's replication position.
func TestReplaceStorage(t *testing.T) {
	cases := []struct {
		name                      string
		tracker, survivor, victim impl
	}{
		{"oursReplaced/ourTracker", ours, upstream, ours},
		{"oursReplaced/upstreamTracker", upstream, upstream, ours},
		{"upstreamReplaced/ourTracker", ours, ours, upstream},
		{"upstreamReplaced/upstreamTracker", upstream, ours, upstream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(c.tracker)
			survivor := e.addStorage(c.survivor, "group1", []*node{tr})
			victim := e.addStorage(c.victim, "group1", []*node{tr})
			e.writeClientConf()
			e.waitActive(survivor, victim)
			both := []*node{survivor, victim}
			changesOn(t, e, survivor, both, 1)
			changesOn(t, e, victim, both, 2)
			e.waitSameTrees(survivor, victim)

			must(t, victim.stop())
			e.deleteStorage(victim)
			e.waitListed(victim, "DELETED")
			changesOn(t, e, survivor, []*node{survivor}, 3)
			if c.tracker == upstream {
				// Upstream's storage forgets a deleted peer up to 3 beats
				// and 6 s after the delete (a 5 s pause after a failed
				// session, then 2 beats and 1 s); a replacement listed
				// before that gets no sync thread, and upstream's
				// tracker never lists it again: it stays WAIT_SYNC.
				// Ours holds the join off until the storages heard of
				// the delete and announces the list again meanwhile
				// (join, nudgeWaitSync): under ours it starts at once.
				time.Sleep(3*time.Second + 6*time.Second + 5*time.Second)
			}

			t.Logf("%s replaced by an empty one", victim)
			must(t, os.RemoveAll(victim.base))
			must(t, os.MkdirAll(victim.store, 0o755))
			victim.start()
			e.waitActive(survivor, victim)
			e.waitSameTrees(survivor, victim)
			changesOn(t, e, victim, both, 4)
			changesOn(t, e, survivor, both, 5)
			e.waitSameTrees(survivor, victim)
			checkBinlogs(t, survivor, victim)
		})
	}
}

// deleteStorage deletes a stopped storage with fdfs_monitor, waiting for
// the tracker to see it stop serving (EBUSY until then).
func (e *env) deleteStorage(n *node) {
	e.t.Helper()
	deadline := time.Now().Add(activeLimit)
	for {
		r := e.run("fdfs_monitor", e.clientConf, "delete", n.group, n.idOrIP())
		if r.code == 0 && strings.Contains(r.stdout, "success") {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("delete %s:\n%s", n, r)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitListed waits until fdfs_monitor lists the storage with status.
func (e *env) waitListed(n *node, status string) {
	e.t.Helper()
	deadline := time.Now().Add(activeLimit)
	for {
		groups, r := e.monitor()
		got := "absent"
		if g := findGroup(groups, n.group); g != nil {
			if s := g.storage(n.ip); s != nil {
				got = s.status
			}
		}
		if got == status {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s listed %s, want %s\n%s", n, got, status, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
