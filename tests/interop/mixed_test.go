package interop

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMixedGroup puts an upstream storage and one of ours in group1, under
// our tracker and under the upstream tracker, in IP mode and in storage-id
// mode, and checks that every change
// made on either side reaches the other byte for byte (on disk): uploads,
// metadata, slaves, appender changes, regenerate, deletes; then that each
// side catches up after being killed with SIGKILL and restarted.
func TestMixedGroup(t *testing.T) {
	for _, c := range []struct {
		name        string
		trackerImpl impl
		idMode      bool
	}{
		{"ourTracker", ours, false},
		{"upstreamTracker", upstream, false},
		{"idMode/ourTracker", ours, true},
		{"idMode/upstreamTracker", upstream, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			up := e.newStorage(upstream, "group1")
			our := e.newStorage(ours, "group1")
			if c.idMode {
				e.useStorageIDs()
			}
			tr := e.addTracker(c.trackerImpl)
			up.run(tr)
			our.run(tr)
			e.writeClientConf()
			e.waitActive(up, our)
			both := []*node{up, our}

			var kept []string // files expected on both at the end
			for i, src := range both {
				kept = append(kept, changesOn(t, e, src, both, uint64(100*i))...)
			}
			e.waitSameTrees(up, our)

			// Each side down (SIGKILL) while the other takes changes, then
			// back: it catches up; and changes made on it right after the
			// restart reach the other.
			for i, victim := range []*node{our, up} {
				survivor := both[1-slices.Index(both, victim)]
				t.Logf("kill -9 %s, changes on %s", victim, survivor)
				victim.kill9()
				ids := changesOn(t, e, survivor, []*node{survivor}, uint64(1000+100*i))
				// Delete a file the survivor made before the crash.
				old := e.sourcedAt(kept, survivor)
				e.mustRun("fdfs_delete_file", e.clientConf, old)
				kept = slices.DeleteFunc(kept, func(s string) bool { return s == old })
				victim.start()
				e.waitActive(victim)
				for _, id := range ids {
					e.waitSameOnDisk(id, both...)
				}
				e.waitGone(old, both...)
				kept = append(kept, ids...)
				kept = append(kept, changesOn(t, e, victim, both, uint64(2000+100*i))...)
				e.waitSameTrees(up, our)
			}
			for _, id := range kept {
				if _, err := os.Stat(our.pathOf(id)); err != nil {
					t.Errorf("%s missing at the end: %v", id, err)
				}
			}
			checkBinlogs(t, up, our)
		})
	}
}

// changesOn makes a set of changes whose source is storage src and waits
// until they are on every storage of check (content compared with what
// was written). It returns the IDs of the files it left.
func changesOn(t *testing.T, e *env, src *node, check []*node, seed uint64) []string {
	t.Helper()
	var kept []string
	// Normal files, one of 3 MiB.
	small := randBytes(seed+1, 1000+int(seed%97))
	big := randBytes(seed+2, 3<<20+int(seed%13))
	idSmall := e.upload(e.writeLocal(fmt.Sprintf("s%d.txt", seed), small), src.addr())
	idBig := e.upload(e.writeLocal(fmt.Sprintf("b%d.bin", seed), big), src.addr())
	e.expectFileInfo(idSmall, "normal", small, []*node{src})
	kept = append(kept, idSmall, idBig)

	// Metadata (through the tracker, which routes to the source).
	e.setMeta(idSmall, "O", fmt.Sprintf("src=%s,seed=%d", src.impl, seed))
	e.setMeta(idSmall, "M", "extra=1")

	// A slave of the big file.
	thumb := randBytes(seed+3, 5000)
	slave, err := rawUploadSlave(src.addr(), idBig, "_t", "jpg", thumb)
	if err != nil {
		t.Fatalf("slave upload to %s: %v", src, err)
	}
	kept = append(kept, slave)

	// An appender: upload, append (C tool), modify, truncate, append; a
	// second one regenerated into a normal file.
	p1, p2, p3 := randBytes(seed+4, 40_000), randBytes(seed+5, 20_000), randBytes(seed+6, 3000)
	aid, err := rawUpload(src.addr(), true, p1, "log")
	if err != nil {
		t.Fatal(err)
	}
	e.mustRun("fdfs_append_file", e.clientConf, aid, e.writeLocal(fmt.Sprintf("p2-%d", seed), p2))
	cur := append(append([]byte{}, p1...), p2...)
	must(t, rawModify(src.addr(), aid, 39_000, p3))
	copy(cur[39_000:], p3)
	must(t, rawTruncate(src.addr(), aid, 50_000))
	cur = cur[:50_000]
	must(t, rawAppend(src.addr(), aid, p3))
	cur = append(cur, p3...)
	kept = append(kept, aid)

	rid, err := rawUpload(src.addr(), true, p2, "dat")
	if err != nil {
		t.Fatal(err)
	}
	must(t, rawAppend(src.addr(), rid, p1))
	r := e.mustRun("fdfs_regenerate_filename", e.clientConf, rid)
	nid := strings.TrimSpace(r.stdout)
	e.checkID(nid, "dat", r)
	kept = append(kept, nid)

	// A file uploaded and deleted.
	gone := e.upload(e.writeLocal(fmt.Sprintf("g%d.txt", seed), []byte("short-lived")), src.addr())
	e.mustRun("fdfs_delete_file", e.clientConf, gone)

	e.waitOnDisk(idSmall, small, check...)
	e.waitOnDisk(idBig, big, check...)
	e.waitOnDisk(slave, thumb, check...)
	e.waitOnDisk(aid, cur, check...)
	e.waitOnDisk(nid, append(append([]byte{}, p2...), p1...), check...)
	e.waitGone(rid, check...)
	e.waitGone(gone, check...)
	e.waitOnDiskFunc(idSmall+"-m", check, func(b []byte) bool {
		return bytes.Contains(b, []byte("extra\x021")) && bytes.Contains(b, []byte("src\x02"+string(src.impl)))
	})
	if len(check) > 1 {
		e.waitSameOnDisk(idSmall+"-m", check...)
	}
	return kept
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sourcedAt returns the first ID in ids whose source storage is n.
func (e *env) sourcedAt(ids []string, n *node) string {
	e.t.Helper()
	for _, id := range ids {
		if kv, ok, _ := e.fileInfo(id); ok && kv["source ip address"] == n.ip && kv["file type"] == "normal" {
			return id
		}
	}
	e.t.Fatalf("no normal file with source %s among %v", n, ids)
	return ""
}

// storeTree maps each file under <store_path0>/data (except dot files) to
// its content.
func storeTree(n *node) (map[string][]byte, error) {
	root := filepath.Join(n.store, "data")
	tree := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		tree[filepath.ToSlash(rel)] = b
		return nil
	})
	return tree, err
}

// waitSameTrees waits until two storages hold exactly the same files with
// the same content.
func (e *env) waitSameTrees(a, b *node) {
	e.t.Helper()
	waitSameTreesWithin(e, a, b, 30*time.Second,
		func(string, map[string][]byte, map[string][]byte) string { return "" },
		func(string) string { return "" })
}

// waitSameTreesWithin is waitSameTrees with a deadline of d; a difference
// tolerate accepts does not count (it returns the reason, "" for none), and
// a failure tells, for each file that differs, what explain says of it.
func waitSameTreesWithin(e *env, a, b *node, d time.Duration, tolerate func(key string, ta, tb map[string][]byte) string, explain func(key string) string) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ta, errA := storeTree(a)
		tb, errB := storeTree(b)
		var diff, tolerated []string
		for _, line := range treeDiff(ta, tb, a.name, b.name) {
			key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			if why := tolerate(key, ta, tb); why != "" {
				tolerated = append(tolerated, line+" ("+why+")")
			} else {
				diff = append(diff, line)
			}
		}
		if errA == nil && errB == nil && len(diff) == 0 {
			if len(tolerated) > 0 {
				e.t.Logf("differences left as upstream leaves them:\n%s", strings.Join(tolerated, "\n"))
			}
			return
		}
		if time.Now().After(deadline) {
			if len(diff) > 20 {
				diff = append(diff[:20], fmt.Sprintf("  ... %d more", len(diff)-20))
			}
			for i, line := range diff {
				key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
				if why := explain(key); why != "" {
					diff[i] += "\n" + why
				}
			}
			e.t.Fatalf("store paths of %s and %s differ after %v (%v, %v):\n%s", a, b, d, errA, errB, strings.Join(diff, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func treeDiff(a, b map[string][]byte, nameA, nameB string) []string {
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		vb, ok := b[k]
		switch {
		case !ok:
			diff = append(diff, fmt.Sprintf("  %s: only on %s (%d bytes)", k, nameA, len(a[k])))
		case !bytes.Equal(a[k], vb):
			diff = append(diff, fmt.Sprintf("  %s: %d bytes on %s, %d bytes on %s, content differs", k, len(a[k]), nameA, len(vb), nameB))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			diff = append(diff, fmt.Sprintf("  %s: only on %s (%d bytes)", k, nameB, len(b[k])))
		}
	}
	return diff
}

// binlogRecord is one line of base_path/data/sync/binlog.NNN:
// "<timestamp> <op> <filename>[ <extra>...]".
type binlogRecord struct {
	ts, op, rest string
}

func readBinlogs(n *node) ([]binlogRecord, error) {
	files, err := filepath.Glob(filepath.Join(n.base, "data", "sync", "binlog.[0-9][0-9][0-9]"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no binlog under %s/data/sync: %v", n.base, err)
	}
	var recs []binlogRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			f := strings.SplitN(line, " ", 3)
			if len(f) != 3 {
				return nil, fmt.Errorf("%s: bad line %q", f, line)
			}
			recs = append(recs, binlogRecord{f[0], f[1], f[2]})
		}
	}
	return recs, nil
}

// binlogLineRe is the upstream binlog line: "<timestamp> <op> <logical
// name>[ <args>]", op one of storage_sync.h's (upper case on the source,
// lower case on a replica): Create, Delete, Update (metadata), Append,
// Modify, Truncate, Rename, Link.
var binlogLineRe = mustRe(`^[0-9]{10} [CDUAMTRLcduamtrl] M[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-Za-z_-]{27}[0-9A-Za-z_.-]*(-m)?( [0-9A-Za-z_./-]+)*$`)

// checkBinlogs checks that every binlog line of the storages has the
// upstream format (so either implementation can take over the other's
// base_path), and logs the operations each one wrote. The records are not
// compared one for one: a source skips what a replica already has (e.g.
// the appends of a file whose create was synced after them).
func checkBinlogs(t *testing.T, storages ...*node) {
	t.Helper()
	for _, n := range storages {
		recs, err := readBinlogs(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		ops := map[string]int{}
		for _, r := range recs {
			ops[r.op]++
			if line := r.ts + " " + r.op + " " + r.rest; !binlogLineRe.MatchString(line) {
				t.Errorf("%s (%s): binlog line %q is not in the upstream format", n, n.impl, line)
			}
		}
		t.Logf("%s binlog: %d records %v", n.name, len(recs), ops)
	}
}
