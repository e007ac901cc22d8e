package interop

import (
	"fmt"
	"testing"
	"time"
)

// TestJoinPopulatedGroup: a storage of one implementation joins a group
// whose only storage, of the other implementation, already holds files; the
// joiner must get a full copy (the upstream "sync old files" from the
// source the tracker picks) and turn ACTIVE, and the two then replicate
// both ways.
func TestJoinPopulatedGroup(t *testing.T) {
	cases := []struct {
		name                   string
		tracker, first, joiner impl
	}{
		{"oursJoinsUpstream/ourTracker", ours, upstream, ours},
		{"oursJoinsUpstream/upstreamTracker", upstream, upstream, ours},
		{"upstreamJoinsOurs/ourTracker", ours, ours, upstream},
		{"upstreamJoinsOurs/upstreamTracker", upstream, ours, upstream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(c.tracker)
			first := e.addStorage(c.first, "group1", []*node{tr})
			e.writeClientConf()
			e.waitActive(first)
			changesOn(t, e, first, []*node{first}, 1)
			changesOn(t, e, first, []*node{first}, 2)

			joiner := e.addStorage(c.joiner, "group1", []*node{tr})
			e.waitActive(first, joiner)
			e.waitSameTrees(first, joiner)

			both := []*node{first, joiner}
			changesOn(t, e, joiner, both, 3)
			changesOn(t, e, first, both, 4)
			e.waitSameTrees(first, joiner)
			checkBinlogs(t, first, joiner)
		})
	}
}

// TestSwapDaemons stops a running cluster and starts the other
// implementation's daemons on the very same conf files and directories,
// as a user replacing one by the other would: every file must still be
// there and readable (content, metadata), the tracker must remember the
// storages (join times), and the cluster must keep working: new changes on
// either storage, changes to the old files, replication both ways.
// "rolling" replaces one daemon at a time (storage, tracker, storage), so
// the cluster runs mixed in between.
func TestSwapDaemons(t *testing.T) {
	cases := []struct {
		name     string
		from, to impl
		rolling  bool
	}{
		{"upstreamToOurs", upstream, ours, false},
		{"oursToUpstream", ours, upstream, false},
		{"upstreamToOurs/rolling", upstream, ours, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(c.from)
			s1 := e.addStorage(c.from, "group1", []*node{tr})
			s2 := e.addStorage(c.from, "group1", []*node{tr})
			e.writeClientConf()
			e.waitActive(s1, s2)
			both := []*node{s1, s2}

			kept := changesOn(t, e, s1, both, 1)
			kept = append(kept, changesOn(t, e, s2, both, 2)...)
			// A master with metadata and a slave, by fdfs_test1.
			img := randBytes(9, 12345)
			r := e.mustRun("fdfs_test1", e.clientConf, "upload", e.writeLocal("swap.jpg", img))
			ids := urlIDs(r.stdout)
			if len(ids) != 2 {
				t.Fatalf("fdfs_test1 upload:\n%s", r)
			}
			for _, id := range ids {
				e.waitOnDisk(id, img, both...)
				e.waitSameOnDisk(id+"-m", both...)
			}
			kept = append(kept, ids...)
			e.waitSameTrees(s1, s2)
			content := map[string][]byte{}
			meta := map[string]map[string]string{}
			for _, id := range kept {
				content[id] = e.waitSameOnDisk(id, both...)
				meta[id] = e.getMetaOrNil(id)
			}
			joinTimes := e.joinTimes(both)

			swap := func(n *node) {
				t.Helper()
				if err := n.stop(); err != nil {
					t.Fatalf("stop %s: %v", n, err)
				}
				n.impl = c.to
				n.name = fmt.Sprintf("%s(now %s)", n.name, c.to)
				n.start()
			}
			if c.rolling {
				swap(s2)
				e.waitActive(s1, s2)
				changesOn(t, e, s2, both, 3)
				swap(tr)
				e.waitActive(s1, s2)
				changesOn(t, e, s1, both, 4)
				swap(s1)
			} else {
				for _, n := range []*node{s2, s1, tr} {
					if err := n.stop(); err != nil {
						t.Fatalf("stop %s: %v", n, err)
					}
				}
				for _, n := range []*node{tr, s1, s2} {
					n.impl = c.to
					n.name = fmt.Sprintf("%s(now %s)", n.name, c.to)
					n.start()
				}
			}
			e.waitActive(s1, s2)

			// The old files, as they were.
			for _, id := range kept {
				e.expectDownload(id, content[id])
				if got := e.getMetaOrNil(id); fmt.Sprint(got) != fmt.Sprint(meta[id]) {
					t.Errorf("metadata of %s after the swap: %v, before: %v", id, got, meta[id])
				}
			}
			if got := e.joinTimes(both); fmt.Sprint(got) != fmt.Sprint(joinTimes) {
				t.Errorf("join times (fdfs_monitor) after the swap: %v, before: %v", got, joinTimes)
			}

			// The swapped cluster at work: changes on each side, to old
			// files too, replicated both ways.
			changesOn(t, e, s1, both, 5)
			changesOn(t, e, s2, both, 6)
			for _, src := range both {
				old := e.sourcedAt(kept, src)
				e.mustRun("fdfs_delete_file", e.clientConf, old)
				e.waitGone(old, both...)
			}
			e.waitSameTrees(s1, s2)
			checkBinlogs(t, s1, s2)
		})
	}
}

// getMetaOrNil returns a file's metadata, nil when it has none.
func (e *env) getMetaOrNil(id string) map[string]string {
	e.t.Helper()
	r := e.run("fdfs_test1", e.clientConf, "getmeta", id)
	m, ok := parseMeta(r.stdout)
	if !ok {
		return nil
	}
	return m
}

// joinTimes returns fdfs_monitor's "join time" of each storage.
func (e *env) joinTimes(storages []*node) map[string]string {
	e.t.Helper()
	groups, r := e.monitor()
	out := map[string]string{}
	for _, n := range storages {
		g := findGroup(groups, n.group)
		if g == nil || g.storage(n.ip) == nil {
			e.t.Fatalf("fdfs_monitor does not list %s:\n%s", n, r)
		}
		out[n.ip] = g.storage(n.ip).kv["join time"]
	}
	return out
}

// TestLateOldFilesReachJoiner: a member's uploads from before a storage
// joined that reach the joiner's old-file sync source (ours) only after
// that sync is done reach the joiner, of either implementation: the member
// (here its sync window is closed until then) skips them for the joiner,
// so the source forwards them, asking the joiner first whether it has
// them (an upstream storage overwrites a copy of another size with a
// create's content).
func TestLateOldFilesReachJoiner(t *testing.T) {
	for _, joinerImpl := range []impl{upstream, ours} {
		t.Run(string(joinerImpl), func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(ours)
			a, b := e.newStorage(ours, "group1"), e.newStorage(ours, "group1")
			// Our tracker makes the first storage by id (its IP) the source.
			src, late := a, b
			if b.ip < a.ip {
				src, late = b, a
			}
			closed := time.Now().Add(3 * time.Hour)
			late.override["sync_start_time"] = closed.Format("15:04")
			late.override["sync_end_time"] = closed.Add(time.Hour).Format("15:04")
			// src first: a storage joining a group in service takes its old
			// files from a member, and late's closed window would hold src
			// in WAIT_SYNC were late that member.
			e.writeClientConf()
			src.run(tr)
			e.waitActive(src)
			late.run(tr)
			e.waitActive(late)

			var ids []string
			for i := range 3 {
				id := e.upload(e.writeLocal(fmt.Sprintf("late%d.txt", i), randBytes(uint64(40+i), 2000+i)), late.addr())
				ids = append(ids, id)
			}
			e.setMeta(ids[0], "O", "k=v")
			// The joiner's until timestamp is a later second than the uploads.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
			joiner := e.addStorage(joinerImpl, "group1", []*node{tr})
			e.waitActive(src, late, joiner)
			e.waitSameTrees(src, joiner)

			if err := late.stop(); err != nil {
				t.Fatalf("stop %s: %v", late, err)
			}
			delete(late.override, "sync_start_time")
			delete(late.override, "sync_end_time")
			late.writeConf()
			late.start()
			e.waitActive(src, late, joiner)
			for _, id := range ids {
				e.waitSameOnDisk(id, src, late, joiner)
			}
			e.waitSameOnDisk(ids[0]+"-m", src, late, joiner)
			e.waitSameTrees(late, joiner)
			e.waitSameTrees(src, joiner)
		})
	}
}
