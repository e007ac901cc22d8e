package interop

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAddressChange: in a group of one upstream storage and one of ours,
// either one comes back with another IP address (IP mode), under our
// tracker and under upstream's. The storage reports the change before it
// joins (STORAGE_REPORT_IP_CHANGED; upstream's storage retries it for
// ever against a tracker that refuses it), the tracker moves its record,
// the peer renames its sync mark from the changelog and sends it what it
// missed while away, and a file named after the old address is still
// deleted everywhere.
func TestAddressChange(t *testing.T) {
	for _, c := range []struct {
		name          string
		tracker, move impl
	}{
		{"ourTracker/upstreamMoves", ours, upstream},
		{"ourTracker/oursMoves", ours, ours},
		{"upstreamTracker/upstreamMoves", upstream, upstream},
		{"upstreamTracker/oursMoves", upstream, ours},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			up := e.newStorage(upstream, "group1")
			our := e.newStorage(ours, "group1")
			tr := e.addTracker(c.tracker)
			up.run(tr)
			our.run(tr)
			e.writeClientConf()
			e.waitActive(up, our)
			both := []*node{up, our}
			mover, other := our, up
			if c.move == upstream {
				mover, other = up, our
			}
			before := changesOn(t, e, mover, both, 10)

			if err := mover.stop(); err != nil {
				t.Fatal(err)
			}
			e.waitMonitor(mover.group, mover.ip, "OFFLINE")
			missed := changesOn(t, e, other, []*node{other}, 20)
			was := *mover
			mover.ip = freeIP(t, mover.port)
			t.Logf("%s moves from %s to %s", mover.name, was.ip, mover.ip)
			mover.writeConf()
			mover.start()
			e.waitActive(up, our)

			groups, r := e.monitor()
			g := findGroup(groups, "group1")
			var listed []string
			for _, s := range g.storages {
				if s.status != "IP_CHANGED" { // upstream's tracker keeps the old address so
					listed = append(listed, s.ip+" "+s.status)
				}
			}
			slices.Sort(listed)
			want := []string{up.ip + " ACTIVE", our.ip + " ACTIVE"}
			slices.Sort(want)
			if !slices.Equal(listed, want) {
				t.Fatalf("group1 after the move: %v, want %v (the storage moved, not a new one)\n%s", listed, want, r)
			}
			for _, id := range missed {
				e.waitSameOnDisk(id, both...)
			}
			e.waitSameTrees(up, our)

			old := e.sourcedAt(before, &was)
			e.mustRun("fdfs_delete_file", e.clientConf, old)
			e.waitGone(old, both...)
			for _, id := range before {
				if id != old {
					e.waitSameOnDisk(id, both...)
				}
			}
		})
	}
}

// waitMonitor waits until fdfs_monitor shows the storage at ip of group
// with status.
func (e *env) waitMonitor(group, ip, status string) {
	e.t.Helper()
	deadline := time.Now().Add(activeLimit)
	for {
		groups, r := e.monitor()
		got := "absent"
		if g := findGroup(groups, group); g != nil {
			if s := g.storage(ip); s != nil {
				got = s.status
			}
		}
		if got == status {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s of %s is %s, not %s, after %v\n%s", ip, group, got, status, activeLimit, strings.TrimSpace(r.stdout))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
