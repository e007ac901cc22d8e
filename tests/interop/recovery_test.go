package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestDiskRecoveryMixed wipes one of the two store paths of one storage of
// a mixed group (an upstream storage and one of ours) and restarts it: it
// must refill the path from the other (disk recovery), and no tracker may
// list it ACTIVE, which routes reads to it, before every file is back on
// its disk. Each kind recovers under our tracker, under the upstream one,
// and under both at once (the storages report to the two).
func TestDiskRecoveryMixed(t *testing.T) {
	for _, c := range []struct {
		name     string
		victim   impl
		trackers []impl
	}{
		{"ours/ourTracker", ours, []impl{ours}},
		{"ours/upstreamTracker", ours, []impl{upstream}},
		{"ours/bothTrackers", ours, []impl{ours, upstream}},
		{"upstream/ourTracker", upstream, []impl{ours}},
		{"upstream/upstreamTracker", upstream, []impl{upstream}},
		{"upstream/bothTrackers", upstream, []impl{upstream, ours}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			// Upstream's recovery fetches the peer's binlog on a
			// connection it does not bind to bind_addr, which our storage
			// refuses from any address but a group member's: the shim
			// binds it, as a host with one address would.
			trackers := e.addBoundTrackers(c.trackers...)
			up := e.newStorage(upstream, "group1").withStorePaths(2)
			up.bindShim = bindShim(t)
			our := e.newStorage(ours, "group1").withStorePaths(2)
			up.run(trackers...)
			our.run(trackers...)
			e.writeClientConf()
			e.waitActive(up, our)
			victim, peer := our, up
			if c.victim == upstream {
				victim, peer = up, our
			}
			cl := e.client()
			files := uploadMany(t, cl, peer, 1500, 8<<10, true)
			onPath1 := 0
			for id, b := range files {
				e.waitOnDisk(id, b, victim)
				if strings.Contains(id, "/M01/") {
					onPath1++
				}
			}
			if onPath1 < 500 || onPath1 > 1000 {
				t.Fatalf("%d of %d files on store path 1, want about half", onPath1, len(files))
			}

			if err := victim.stop(); err != nil {
				t.Fatal(err)
			}
			// One disk of two lost: store path 1 is refilled, path 0 kept.
			if err := os.RemoveAll(filepath.Join(victim.storePaths()[1], "data")); err != nil {
				t.Fatal(err)
			}
			var watches []*activeWatch
			for i, tr := range trackers {
				conf := e.writeClientConfAt(filepath.Join(e.dir, fmt.Sprintf("tracker%d-client.conf", i)), tr)
				watches = append(watches, watchActive(t, e.clientAt(conf), tr, victim, files))
			}
			victim.start()
			for _, w := range watches {
				w.wait()
			}
			for id, b := range files {
				e.waitOnDisk(id, b, victim)
			}
			checkMetaRecovered(t, e, files, peer, victim)
			// Back in service: what is uploaded to it reaches the peer.
			id := uploadMany(t, cl, victim, 1, 8<<10, false)
			for id, b := range id {
				e.waitOnDisk(id, b, peer)
			}
		})
	}
}

// checkMetaRecovered checks that every metadata file (-m) the peer holds
// for files is on the recovered storage too, byte for byte.
func checkMetaRecovered(t *testing.T, e *env, files map[string][]byte, peer, recovered *node) {
	t.Helper()
	metas := 0
	for id := range files {
		if _, err := os.Stat(peer.pathOf(id + "-m")); err == nil {
			metas++
			e.waitSameOnDisk(id+"-m", peer, recovered)
		}
	}
	if metas == 0 {
		t.Fatal("no metadata file to check")
	}
}

// client is our client engine on the env's client.conf.
func (e *env) client() *client.Client {
	e.t.Helper()
	return e.clientAt(e.clientConf)
}

// clientAt is our client engine on the client.conf at path.
func (e *env) clientAt(path string) *client.Client {
	e.t.Helper()
	cc, err := conf.LoadClient(path)
	if err != nil {
		e.t.Fatal(err)
	}
	cl, err := client.FromConf(cc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cl.Close() })
	return cl
}

// uploadMany uploads n files of 1 KB to maxSize bytes to st, the second
// one empty when empty is set, and returns their contents by file ID.
func uploadMany(t *testing.T, cl *client.Client, st *node, n, maxSize int, empty bool) map[string][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files := map[string][]byte{}
	srv := &client.Server{Group: st.group, IP: st.ip, Port: st.port, StorePathIndex: protocol.StoreAnyPath}
	for i := range n {
		size := 1024 + (i*977)%(maxSize-1024)
		if i == 1 && empty {
			size = 0 // a download of it is EINVAL, but for a member of the group
		}
		b := randBytes(uint64(7000+i+100000*st.starts), size)
		opt := client.UploadOptions{Ext: "bin", Storage: srv}
		if i%10 == 0 { // metadata: a -m file beside one file in ten
			opt.Meta = map[string]string{"n": fmt.Sprint(i)}
		}
		id, err := cl.Upload(ctx, bytes.NewReader(b), int64(len(b)), opt)
		if err != nil {
			t.Fatalf("upload %d to %s: %v", i, st, err)
		}
		files[id] = b
	}
	return files
}

// activeWatch polls one tracker's listing of a recovering storage from
// before its start until it is ACTIVE there, and checks at that moment
// that every file is on its disk.
type activeWatch struct {
	t       *testing.T
	st      *node
	tracker *node
	done    chan struct{}
	mu      sync.Mutex
	seen    []string // statuses in the order listed
	err     error    // files missing when first listed ACTIVE
}

func watchActive(t *testing.T, cl *client.Client, tracker, st *node, files map[string][]byte) *activeWatch {
	w := &activeWatch{t: t, st: st, tracker: tracker, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), activeLimit)
	go func() {
		defer close(w.done)
		defer cancel()
		for ctx.Err() == nil {
			status := "absent"
			if sts, err := cl.ListStorages(ctx, st.group, ""); err == nil {
				for _, s := range sts {
					if s.IP == st.ip {
						status = protocol.StorageStatusName(s.Status)
					}
				}
			}
			w.note(status)
			if status == "ACTIVE" {
				w.mu.Lock()
				w.err = missingOn(st, files)
				w.mu.Unlock()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return w
}

func (w *activeWatch) note(status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.seen); n == 0 || w.seen[n-1] != status {
		w.seen = append(w.seen, status)
	}
}

// wait waits for the watch to end and fails the test if the storage was
// listed ACTIVE with files missing, or never.
func (w *activeWatch) wait() {
	w.t.Helper()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.err != nil:
		w.t.Fatalf("%s on %s: %v (statuses listed: %v)", w.st, w.tracker, w.err, w.seen)
	case w.seen[len(w.seen)-1] != "ACTIVE":
		w.t.Fatalf("%s on %s: not ACTIVE after %v (statuses listed: %v)", w.st, w.tracker, activeLimit, w.seen)
	}
	w.t.Logf("%s on %s: listed %v", w.st, w.tracker, w.seen)
}

// missingOn says how many of files st lacks on its disk (nil when none).
func missingOn(st *node, files map[string][]byte) error {
	if missing := missingCount(st, files); missing > 0 {
		return fmt.Errorf("listed ACTIVE with %d of %d files not on its disk", missing, len(files))
	}
	return nil
}

// TestSwapDuringRecovery: a storage recovering a wiped store path from
// its peer is killed once it has fetched the peer's binlog (upstream's
// with disk_recovery_threads = 3, the stock value, splits it over three
// parts), and the other implementation is started on the same conf file
// and data (the daemons swapped mid-recovery): it must finish the
// recovery, every file back, then ACTIVE. Ours read only the first of
// upstream's parts before, and left the files of the other two
// unrestored.
func TestSwapDuringRecovery(t *testing.T) {
	for _, c := range []struct {
		name       string
		first      impl
		fetchedTag string // in the recovery flag once the binlog is fetched
	}{
		{"upstreamToOurs", upstream, "recovery_threads=3"},
		{"oursToUpstream", ours, "recovery_threads=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(ours)
			victim := e.newStorage(c.first, "group1", "disk_recovery_threads = 3")
			peerImpl := ours
			if c.first == ours {
				peerImpl = upstream
			}
			peer := e.newStorage(peerImpl, "group1")
			for _, n := range []*node{victim, peer} {
				if n.impl == upstream {
					n.bindShim = bindShim(t) // see TestDiskRecoveryMixed
				}
			}
			victim.run(tr)
			peer.run(tr)
			e.writeClientConf()
			e.waitActive(victim, peer)
			cl := e.client()
			// No empty file: upstream's storage cannot recover one from
			// upstream's (its download is EINVAL, retried for good).
			files := uploadMany(t, cl, peer, 3000, 8<<10, false)
			for id, b := range files {
				e.waitOnDisk(id, b, victim)
			}
			if err := victim.stop(); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(victim.store, "data")
			if err := os.RemoveAll(data); err != nil {
				t.Fatal(err)
			}
			victim.launch()
			fetched := func() bool {
				flag, err := os.ReadFile(filepath.Join(data, ".recovery.flag"))
				return err == nil && bytes.Contains(flag, []byte("fetch_binlog_done=1")) && bytes.Contains(flag, []byte(c.fetchedTag))
			}
			deadline := time.Now().Add(waitLimit)
			for !fetched() {
				if !victim.running() || time.Now().After(deadline) {
					t.Fatalf("%s did not get to a fetched recovery binlog (running: %v)", victim, victim.running())
				}
				time.Sleep(time.Millisecond)
			}
			victim.kill9()
			parts, _ := filepath.Glob(filepath.Join(data, ".binlog.recovery.*"))
			restored := len(files) - missingCount(victim, files)
			t.Logf("%s killed with %d files of %d restored; recovery files %v", victim, restored, len(files), parts)
			if restored == len(files) {
				t.Fatal("the recovery finished before the kill: nothing left to take over")
			}

			victim.impl = peerImpl // the same conf file and data, the other daemon
			victim.start()
			e.waitActive(victim)
			if n := missingCount(victim, files); n != 0 {
				t.Fatalf("ACTIVE with %d of %d files missing", n, len(files))
			}
			if left, _ := filepath.Glob(filepath.Join(data, ".*recovery*")); len(left) != 0 {
				t.Errorf("recovery files left: %v", left)
			}
		})
	}
}

// missingCount is how many of files st lacks on its disk, or holds with
// other bytes.
func missingCount(st *node, files map[string][]byte) int {
	n := 0
	for id, b := range files {
		if got, err := os.ReadFile(st.pathOf(id)); err != nil || !bytes.Equal(got, b) {
			n++
		}
	}
	return n
}
