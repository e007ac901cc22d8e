package interop

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// topology is a cluster layout: the tracker's implementation and the
// storages of group1.
type topology struct {
	name     string
	tracker  impl
	storages []impl
	idMode   bool // storage-id mode (storage_ids.conf, ids in file names)
	tools    impl // whose client programs run (ours: internal/ctools)
}

// The layouts the C tools run against. "upstream" is the control: the
// scenario's expectations are checked against the reference first. The
// ourTools layouts run the same scenario with our client programs.
var topologies = []topology{
	{"upstream", upstream, []impl{upstream, upstream}, false, upstream},
	{"ours", ours, []impl{ours, ours}, false, upstream},
	{"ourTracker+upstreamStorages", ours, []impl{upstream, upstream}, false, upstream},
	{"upstreamTracker+ourStorages", upstream, []impl{ours, ours}, false, upstream},
	{"ourTracker+mixedGroup", ours, []impl{upstream, ours}, false, upstream},
	{"upstreamTracker+mixedGroup", upstream, []impl{ours, upstream}, false, upstream},
	{"idMode/upstream", upstream, []impl{upstream, upstream}, true, upstream},
	{"idMode/ours", ours, []impl{ours, ours}, true, upstream},
	{"idMode/ourTracker+mixedGroup", ours, []impl{upstream, ours}, true, upstream},
	{"idMode/upstreamTracker+mixedGroup", upstream, []impl{ours, upstream}, true, upstream},
	// Our client programs in place of upstream's, against either cluster.
	{"ourTools/upstream", upstream, []impl{upstream, upstream}, false, ours},
	{"ourTools/ours", ours, []impl{ours, ours}, false, ours},
	{"ourTools/idMode/ourTracker+mixedGroup", ours, []impl{upstream, ours}, true, ours},
}

// startTopology starts a tracker (with the trackerConf overrides) and the
// storages of group1 and waits until they are ACTIVE.
func startTopology(t *testing.T, top topology, trackerConf ...string) (*env, *node, []*node) {
	t.Helper()
	e := newEnv(t)
	e.tools = top.tools
	var sts []*node
	for _, im := range top.storages {
		sts = append(sts, e.newStorage(im, "group1"))
	}
	if top.idMode {
		e.useStorageIDs()
	}
	tr := e.addTracker(top.tracker, trackerConf...)
	for _, s := range sts {
		s.run(tr)
	}
	e.writeClientConf()
	e.waitActive(sts...)
	return e, tr, sts
}

// TestCTools runs the upstream C client tools through every operation
// against each topology and compares the storages' operation counters
// (as fdfs_monitor shows them) with the upstream control's.
func TestCTools(t *testing.T) {
	control := map[bool]map[string]int64{} // by idMode
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			e, _, sts := startTopology(t, top)
			counters := cToolsScenario(t, e, sts)
			if top.tracker == upstream && !slices.Contains(top.storages, ours) && top.tools == upstream {
				control[top.idMode] = counters
				return
			}
			if control[top.idMode] == nil {
				t.Log("counters not compared: the upstream control subtest did not run")
				return
			}
			compareCounters(t, control[top.idMode], counters)
		})
	}
}

// cToolsScenario runs every client operation with the C tools and returns
// the summed operation counters of the storages.
func cToolsScenario(t *testing.T, e *env, sts []*node) map[string]int64 {
	// Replication checks wait at checkpoints, all together: the storages
	// sync in the background meanwhile (upstream flushes its binlog every
	// second).
	var later checks
	// Normal uploads through the tracker: text, binary, 8 MiB, no extension.
	small := []byte("hello from the upstream C tools\n")
	bin := randBytes(1, 300_001)
	big := randBytes(2, 8<<20+17)
	idSmall := e.upload(e.writeLocal("small.txt", small))
	idBin := e.upload(e.writeLocal("data.bin", bin))
	idBig := e.upload(e.writeLocal("big", big))
	for _, c := range []struct {
		id   string
		data []byte
	}{{idSmall, small}, {idBin, bin}, {idBig, big}} {
		later.add(func() { e.waitOnDisk(c.id, c.data, sts...) }) // replicated to every storage
		e.expectDownload(c.id, c.data)
		e.expectFileInfo(c.id, "normal", c.data, sts)
	}

	// Ranged downloads.
	e.expectDownload(idBin, bin[1000:6000], 1000, 5000)
	e.expectDownload(idBin, bin[299_000:], 299_000, 0)
	e.expectDownload(idBin, bin[:1], 0, 1)
	e.expectDownload(idBig, big[5<<20:5<<20+3<<20], 5<<20, 3<<20)
	e.expectDownload(idSmall, small[len(small)-1:], int64(len(small)-1), 0)

	// Uploads to a chosen storage and store path.
	for i, s := range sts {
		data := randBytes(uint64(10+i), 4096+i)
		id := e.upload(e.writeLocal(fmt.Sprintf("direct%d.dat", i), data), s.addr(), "0")
		if src := e.expectFileInfo(id, "normal", data, sts); src != s.ip {
			t.Fatalf("uploaded to %s, fdfs_file_info says source %s", s, src)
		}
		later.add(func() { e.waitOnDisk(id, data, sts...) })
	}

	// An empty file.
	idEmpty := e.upload(e.writeLocal("empty.txt", nil))
	later.add(func() { e.waitOnDisk(idEmpty, []byte{}, sts...) })
	e.expectFileInfo(idEmpty, "normal", nil, sts)

	// Appender file: upload, append, info, regenerate.
	part1, part2 := randBytes(3, 70_000), randBytes(4, 33_333)
	aid := e.uploadAppender(e.writeLocal("log1.log", part1))
	e.mustRun("fdfs_append_file", e.clientConf, aid, e.writeLocal("log2.log", part2))
	whole := append(append([]byte{}, part1...), part2...)
	e.expectDownload(aid, whole)
	e.expectDownload(aid, whole[69_000:71_000], 69_000, 2000)
	e.expectFileInfo(aid, "appender", whole, sts)
	e.waitOnDisk(aid, whole, sts...) // now: regenerated below

	r := e.mustRun("fdfs_regenerate_filename", e.clientConf, aid)
	nid := strings.TrimSpace(r.stdout)
	e.checkID(nid, "log", r)
	if nid == aid {
		t.Fatalf("regenerate kept the name %s", aid)
	}
	e.expectDownload(nid, whole)
	e.expectFileInfo(nid, "normal", whole, sts)
	e.expectGoneForClients(aid)
	later.add(func() { e.waitOnDisk(nid, whole, sts...) })
	later.add(func() { e.waitGone(aid, sts...) })
	if r := e.run("fdfs_regenerate_filename", e.clientConf, nid); r.code == 0 {
		t.Fatalf("regenerating a normal file succeeded:\n%s", r)
	}
	if r := e.run("fdfs_append_file", e.clientConf, idSmall, e.writeLocal("x.txt", []byte("x"))); r.code == 0 {
		t.Fatalf("appending to a normal file succeeded:\n%s", r)
	}

	// upload appender + truncate + append + modify, by the C test
	// programs (three upload modes, two APIs).
	for i, prog := range []string{"fdfs_appender_test1", "fdfs_appender_test"} {
		for j, mode := range []string{"FILE", "BUFF", "CALLBACK"} {
			data := randBytes(uint64(20+3*i+j), 50_000+i*1000+j)
			local := e.writeLocal(fmt.Sprintf("app%d%d.txt", i, j), data)
			r := e.mustRun(prog, e.clientConf, local, mode)
			if strings.Contains(r.stderr, "!!!") || !strings.Contains(r.stdout, "modify file successfully") {
				t.Fatalf("%s %s reported a problem:\n%s", prog, mode, r)
			}
			ids := urlIDs(r.stdout)
			if len(ids) == 0 {
				t.Fatalf("no file ID in the output:\n%s", r)
			}
			// fdfs_appender_test1 truncates to 0, appends the file and
			// writes it again at its end; fdfs_appender_test truncates to
			// half the size instead.
			want := append(append([]byte{}, data...), data...)
			if prog == "fdfs_appender_test" {
				want = append(append([]byte{}, data[:len(data)/2]...), want...)
			}
			e.expectDownload(ids[0], want)
			e.expectFileInfo(ids[0], "appender", want, sts)
			later.add(func() { e.waitOnDisk(ids[0], want, sts...) })
		}
	}

	later.run()

	// Master with metadata and a slave (fdfs_test1: the file-ID API).
	img := randBytes(5, 20_000)
	local := e.writeLocal("img.jpg", img)
	r = e.mustRun("fdfs_test1", e.clientConf, "upload", local)
	ids := urlIDs(r.stdout)
	if len(ids) != 2 || strings.Contains(r.stdout, "not equal") {
		t.Fatalf("fdfs_test1 upload:\n%s", r)
	}
	master, slave := ids[0], ids[1]
	if want := strings.TrimSuffix(master, ".jpg") + "_big.jpg"; slave != want {
		t.Fatalf("slave ID %s, want %s", slave, want)
	}
	meta := map[string]string{"ext_name": "jpg", "file_size": "115120", "height": "80", "width": "160"}
	e.expectMeta(master, meta)
	e.expectMeta(slave, meta)
	e.expectDownload(master, img)
	e.expectDownload(slave, img)
	e.expectFileInfo(slave, "slave", img, sts)
	for _, id := range []string{master, slave} {
		e.waitOnDisk(id, img, sts...)
		e.waitSameOnDisk(id+"-m", sts...)
	}
	// A change of the master one second later: once its sync reaches the
	// replica, the tracker knows that the replica is past the master's
	// creation second (query_servers below).
	time.Sleep(1100 * time.Millisecond)
	// Each change is read back once it is on every storage: a read may
	// go to the replica (replication is asynchronous with either daemon).
	e.setMeta(master, "M", "width=200,color=red")
	meta["width"], meta["color"] = "200", "red"
	e.waitOnDiskFunc(master+"-m", sts, func(b []byte) bool { return bytes.Contains(b, []byte("color\x02red")) })
	e.expectMeta(master, meta)
	e.setMeta(master, "O", "a=b")
	e.waitOnDiskFunc(master+"-m", sts, func(b []byte) bool { return string(b) == "a\x02b" })
	e.expectMeta(master, map[string]string{"a": "b"})
	r = e.mustRun("fdfs_test1", e.clientConf, "download", master, e.tmpName("t1"))
	if !strings.Contains(r.stdout, "download file success, file size="+strconv.Itoa(len(img))) {
		t.Fatalf("fdfs_test1 download:\n%s", r)
	}
	// The tracker lists a replica once it has reported receiving a change
	// stamped after the file's creation second (the metadata above).
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r = e.mustRun("fdfs_test1", e.clientConf, "query_servers", master)
		all := strings.Contains(r.stdout, fmt.Sprintf("server list (%d):", len(sts)))
		for _, s := range sts {
			all = all && strings.Contains(r.stdout, s.addr()+"\n")
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("query_servers should list the %d storages after 15s:\n%s", len(sts), r)
		}
	}
	r = e.mustRun("fdfs_test1", e.clientConf, "delete", slave)
	if !strings.Contains(r.stdout, "delete file success") {
		t.Fatalf("fdfs_test1 delete:\n%s", r)
	}
	later.add(func() {
		e.waitGone(slave, sts...)
		e.expectGoneForClients(slave) // once no replica has it
	})

	// The same through fdfs_test (group + remote filename API), buffer mode.
	r = e.mustRun("fdfs_test", e.clientConf, "upload", local, "BUFF")
	names := regexpAll(`group_name=(\S+), remote_filename=(\S+)`, r.stdout)
	if len(names) != 2 || strings.Contains(r.stdout, "not equal") {
		t.Fatalf("fdfs_test upload:\n%s", r)
	}
	r = e.mustRun("fdfs_test", e.clientConf, "getmeta", names[1][0], names[1][1])
	if m, ok := parseMeta(r.stdout); !ok || len(m) != 4 {
		t.Fatalf("fdfs_test getmeta of the slave:\n%s", r)
	}
	e.expectDownload(names[1][0]+"/"+names[1][1], img)
	for _, n := range names {
		r = e.mustRun("fdfs_test", e.clientConf, "delete", n[0], n[1])
		if !strings.Contains(r.stdout, "delete file success") {
			t.Fatalf("fdfs_test delete:\n%s", r)
		}
		later.add(func() { e.waitGone(n[0]+"/"+n[1], sts...) })
	}

	// Deletes.
	for _, id := range []string{idSmall, idEmpty, nid, master} {
		e.mustRun("fdfs_delete_file", e.clientConf, id)
		later.add(func() {
			e.waitGone(id, sts...)
			e.expectGoneForClients(id)
		})
	}
	if r := e.run("fdfs_delete_file", e.clientConf, idSmall); r.code == 0 {
		t.Fatalf("deleting a deleted file succeeded:\n%s", r)
	}

	later.run()

	// fdfs_monitor: the group and its storages.
	groups, r := e.monitor()
	g := findGroup(groups, "group1")
	if len(groups) != 1 || g == nil {
		t.Fatalf("fdfs_monitor: want group1 only:\n%s", r)
	}
	n := strconv.Itoa(len(sts))
	for k, want := range map[string]string{"storage server count": n, "readable server count": n,
		"writable server count": n, "storage server port": strconv.Itoa(storagePort),
		"store path count": "1", "subdir count per path": strconv.Itoa(subdirCount)} {
		if g.kv[k] != want {
			t.Errorf("fdfs_monitor group1 %q = %q, want %q", k, g.kv[k], want)
		}
	}
	for _, s := range sts {
		ms := g.storage(s.ip)
		if ms == nil || ms.status != "ACTIVE" || ms.port != storagePort {
			t.Fatalf("fdfs_monitor: %s not listed ACTIVE:\n%s", s, r)
		}
		for k, want := range map[string]string{"id": s.idOrIP(), "store_path_count": "1",
			"subdir_count_per_path": strconv.Itoa(subdirCount), "upload priority": "10"} {
			if ms.kv[k] != want {
				t.Errorf("fdfs_monitor %s %q = %q, want %q", s, k, ms.kv[k], want)
			}
		}
		for _, k := range []string{"join time", "up time", "last_heart_beat_time"} {
			if v := ms.kv[k]; v == "" || strings.HasPrefix(v, "1970") {
				t.Errorf("fdfs_monitor %s %q = %q", s, k, v)
			}
		}
	}
	if t.Failed() {
		t.Logf("fdfs_monitor output:\n%s", r)
	}
	return e.settledCounters(sts)
}

func regexpAll(re, s string) [][]string {
	var out [][]string
	for _, m := range mustRe(re).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1:])
	}
	return out
}

// waitOnDiskFunc waits until every storage has fileID with content
// accepted by ok.
func (e *env) waitOnDiskFunc(fileID string, storages []*node, ok func([]byte) bool) {
	e.t.Helper()
	e.waitDisk(fileID, storages, func(b []byte, err error) bool { return err == nil && ok(b) },
		func(p string) string { return diskState(p, nil) })
}

// Client operation counters of the storages (fdfs_monitor), compared with
// the control's; the sync byte counters are only logged.
var (
	opCounters = []string{"upload", "append", "modify", "truncate", "set_meta", "delete",
		"download", "get_meta", "create_link", "delete_link"}
	byteCounters = []string{"upload_bytes", "append_bytes", "modify_bytes", "download_bytes"}
	syncCounters = []string{"total_sync_in_bytes", "success_sync_in_bytes",
		"total_sync_out_bytes", "success_sync_out_bytes"}
)

func counterKeys() []string {
	var keys []string
	for _, c := range opCounters {
		keys = append(keys, "total_"+c+"_count", "success_"+c+"_count")
	}
	for _, c := range byteCounters {
		keys = append(keys, "total_"+c, "success_"+c)
	}
	return append(keys, syncCounters...)
}

// settledCounters sums the counters over the storages once two readings
// two report intervals apart agree.
func (e *env) settledCounters(sts []*node) map[string]int64 {
	e.t.Helper()
	read := func() map[string]int64 {
		groups, r := e.monitor()
		g := findGroup(groups, "group1")
		if g == nil {
			e.t.Fatalf("fdfs_monitor: no group1:\n%s", r)
		}
		sum := map[string]int64{}
		for _, k := range counterKeys() {
			mk := k
			if k == "total_download_bytes" {
				mk = "stotal_download_bytes" // sic, fdfs_monitor's spelling
			}
			for _, s := range sts {
				if ms := g.storage(s.ip); ms != nil {
					v, _ := strconv.ParseInt(ms.kv[mk], 10, 64)
					sum[k] += v
				}
			}
		}
		return sum
	}
	prev := read()
	for range 10 {
		time.Sleep(2500 * time.Millisecond)
		cur := read()
		if maps.Equal(prev, cur) {
			return cur
		}
		prev = cur
	}
	return prev
}

func compareCounters(t *testing.T, control, got map[string]int64) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(control))
	for _, k := range keys {
		if control[k] == got[k] {
			continue
		}
		if slices.Contains(syncCounters, k) {
			t.Logf("counter %s (summed over the storages): %d, upstream control %d", k, got[k], control[k])
			continue
		}
		t.Errorf("counter %s (summed over the storages, fdfs_monitor): %d, upstream control %d", k, got[k], control[k])
	}
}

// checks are deferred test steps.
type checks []func()

func (c *checks) add(f func()) { *c = append(*c, f) }

// run runs the steps added so far.
func (c *checks) run() {
	for _, f := range *c {
		f()
	}
	*c = nil
}
