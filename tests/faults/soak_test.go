package faults

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// soakConfig sizes a soak run.
type soakConfig struct {
	duration   time.Duration
	trackers   []string
	workers    int
	perWorker  int           // appender files each worker keeps
	pause      time.Duration // between two steps of a worker
	largeSize  int           // bytes of a large upload
	capBytes   int64         // content bytes kept at most (each stored twice)
	chaosEvery time.Duration // between two kills or restarts
	rssEvery   time.Duration // between two VmRSS samples
}

// soakQuick is the soak of `make test`; FDFS_SOAK=<duration> runs the
// long one (`make soak`).
var (
	soakQuick = soakConfig{duration: 20 * time.Second, trackers: []string{"127.0.0.200", "127.0.0.201"},
		workers: 4, perWorker: 3, pause: 2 * time.Millisecond, largeSize: 4 << 20, capBytes: 48 << 20, chaosEvery: 3 * time.Second, rssEvery: time.Second}
	soakLong = soakConfig{trackers: []string{"127.0.0.200", "127.0.0.201", "127.0.0.202"},
		workers: 6, perWorker: 4, pause: 10 * time.Millisecond, largeSize: 16 << 20, capBytes: 256 << 20, chaosEvery: 20 * time.Second, rssEvery: 5 * time.Second}
)

// soakProgressEvery is how often a soak logs how far it is.
const soakProgressEvery = 5 * time.Minute

// soakGroups: two groups of two storages.
var soakGroups = map[string][]string{
	"group1": {"127.0.0.203", "127.0.0.204"},
	"group2": {"127.0.0.205", "127.0.0.206"},
}

// TestSoak runs a cluster of 2 groups of 2 storages and 2 trackers (3 in
// the long run) under mixed operations: uploads of small (1–64 KB) and
// large files with metadata, slave files, appender files changed by
// append, modify, truncate and metadata overwrite and merge, downloads
// whole and by range, deletes (the oldest files go once the content kept
// passes a cap). Every few seconds a storage or a tracker is killed with
// SIGKILL or stopped with SIGTERM, and restarted (a storage, one time in
// four, at another address); every fourth event a storage's disk is
// replaced by an empty one (loseDisk). At the end every live file must be served
// with its bytes and metadata by both storages of its group and every
// deleted one by none. It logs the operations
// acknowledged, failed-but-retried and their latencies, and each daemon's
// VmRSS. 20 s by default; FDFS_SOAK=30m (make soak) for a long run.
func TestSoak(t *testing.T) {
	needBinary(t)
	cfg := soakQuick
	if v := os.Getenv("FDFS_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FDFS_SOAK=%q: %v", v, err)
		}
		cfg = soakLong
		cfg.duration = d
	}
	c := startTopology(t, storageConf, cfg.trackers, soakGroups)
	w := newWorkload(c)
	w.pause = cfg.pause
	var slaves atomic.Int64 // numbers the slave prefixes
	w.extra = func(w *workload, r *rand.Rand, mine *[]*tracked) bool {
		return soakStep(w, r, mine, cfg, &slaves)
	}
	w.startWorkers(cfg.workers, cfg.perWorker, 21)
	w.startReaders(1, 21)
	defer w.finish()

	rss := newRSSLog(c)
	chaos := map[string]int{}
	events := 0 // every fourth a disk loss, the others random
	r := rand.New(rand.NewPCG(21, 2))
	end := time.Now().Add(cfg.duration)
	nextChaos := time.Now().Add(cfg.chaosEvery)
	nextProgress := time.Now().Add(soakProgressEvery)
	for now := time.Now(); now.Before(end); now = time.Now() {
		rss.sample()
		if now.After(nextProgress) {
			t.Logf("soak: %v left; %d operations acknowledged, %d MB of content kept; events %v",
				time.Until(end).Round(time.Second), w.stats.total(w.stats.acked), w.liveBytes.Load()>>20, chaos)
			nextProgress = now.Add(soakProgressEvery)
		}
		if now.After(nextChaos) {
			if events++; events%4 == 3 {
				chaos[c.loseDisk(t, r.IntN(len(c.storages)))]++
			} else {
				chaos[c.chaosEvent(t, r)]++
			}
			nextChaos = time.Now().Add(cfg.chaosEvery)
		}
		time.Sleep(cfg.rssEvery)
	}
	w.finish()
	rss.sample()
	t.Logf("soak: %v, %d trackers, 2 groups of 2 storages, %d workers and 1 reader; kept at most %d MB of content; events %v",
		cfg.duration, len(cfg.trackers), cfg.workers, cfg.capBytes>>20, chaos)
	w.check(t, "soak")
	c.checkInitFlags(t)
	c.checkTrackersAgree(t)
	rss.report(t)
}

// checkTrackersAgree waits until every tracker, asked alone, lists every
// storage ACTIVE at its address now: a tracker that missed a status
// report while it was down (the end of an initial sync, an address
// change) would keep a storage in another status, which joins and beats
// do not move, and would route around it.
func (c *cluster) checkTrackersAgree(t *testing.T) {
	t.Helper()
	for _, tr := range c.trackers {
		cl, err := client.New(client.Config{Trackers: []string{tr.addr}, ConnectTimeout: 2 * time.Second, NetworkTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		testwait.For(t, waitLimit, "every storage ACTIVE on tracker "+tr.addr, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for i, s := range c.storages {
				ip, _, _ := net.SplitHostPort(s.addr)
				list, err := cl.ListStorages(ctx, c.groups[i], "")
				if err != nil {
					return err
				}
				var listed []string
				members := 0
				for _, st := range list {
					listed = append(listed, st.IP+" "+protocol.StorageStatusName(st.Status))
					if st.Status != protocol.StatusIPChanged && st.Status != protocol.StatusDeleted {
						members++ // the old addresses of moved storages stay listed
					}
				}
				if members != 2 || !slices.Contains(listed, ip+" ACTIVE") {
					return fmt.Errorf("%s lists %v", c.groups[i], listed)
				}
			}
			return nil
		})
	}
}

// checkInitFlags checks that every storage's .data_init_flag still says
// its initial sync is done: one that read sync_old_done=0 at a restart
// joined as a new storage, and a peer copied its old files over the newer
// ones it held (a stale snapshot of the flag file was saved last).
func (c *cluster) checkInitFlags(t *testing.T) {
	t.Helper()
	for i, store := range c.storePaths {
		flag := filepath.Join(filepath.Dir(store), "data", ".data_init_flag")
		b, err := os.ReadFile(flag)
		if err != nil {
			t.Errorf("storage %d: %v", i, err)
			continue
		}
		if !strings.Contains(string(b), "\nsync_old_done=1\n") {
			t.Errorf("storage %d: %s does not say sync_old_done=1:\n%s", i, flag, b)
		}
	}
}

// soakStep runs, in about half the steps of a worker, one of the soak's
// own operations: a delete of the worker's oldest file once the cluster
// keeps more than capBytes, an upload (1 in 15 large), a slave upload of a
// normal file, or a ranged download. It reports whether it ran one.
func soakStep(w *workload, r *rand.Rand, mine *[]*tracked, cfg soakConfig, slaves *atomic.Int64) bool {
	cl := w.c.client
	if w.liveBytes.Load() > cfg.capBytes && len(*mine) > 0 {
		f := (*mine)[0]
		*mine = (*mine)[1:]
		w.remove(f)
		return true
	}
	// A normal file that is not a slave: a slave of a slave would have a
	// longer name each time, until too long.
	normal := func() *tracked {
		var ns []*tracked
		for _, f := range *mine {
			if !f.appender && !f.slave && f.current().exists {
				ns = append(ns, f)
			}
		}
		if len(ns) == 0 {
			return nil
		}
		return ns[r.IntN(len(ns))]
	}
	switch r.IntN(8) {
	case 0:
		size, op := smallMin+r.IntN(smallMax-smallMin+1), "upload"
		if r.IntN(15) == 0 {
			size, op = cfg.largeSize, "upload-large"
		}
		f := w.create(op, r, size, func(ctx context.Context, b []byte, meta map[string]string) (string, error) {
			return cl.Upload(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "bin", Meta: meta})
		})
		if f != nil {
			*mine = append(*mine, f)
		}
	case 1:
		m := normal()
		if m == nil {
			return false
		}
		f := w.create("upload-slave", r, smallMin+r.IntN(smallMax-smallMin+1), func(ctx context.Context, b []byte, meta map[string]string) (string, error) {
			// A new prefix per attempt: a failed attempt may have landed.
			prefix := "_s" + strconv.FormatInt(slaves.Add(1), 10)
			id, err := cl.UploadSlave(ctx, bytes.NewReader(b), int64(len(b)), m.id, prefix, "bin")
			if err == nil {
				err = cl.SetMetadata(ctx, id, meta, protocol.MetaOverwrite)
			}
			return id, err
		})
		if f != nil {
			*mine = append(*mine, f)
		}
	case 2:
		if f := normal(); f != nil {
			w.readRange(r, f)
		}
	default:
		return false
	}
	return true
}

// remove deletes f at its source until acknowledged (or settled).
func (w *workload) remove(f *tracked) {
	_, name, _ := fileid.Split(f.id)
	body := (&protocol.FileRequest{Group: f.group, Name: name}).Encode()
	size := len(f.current().data)
	if w.c.mutate(w.stats, "delete", f, snapshot{}, w.stop, func(ctx context.Context) error {
		return w.c.atSource(ctx, f.id, protocol.CmdDeleteFile, body)
	}) {
		w.drop(f, size)
		return
	}
	if f.isBroken() {
		w.forget(f)
	}
}

// readRange downloads a random range of normal file f (whose bytes never
// change) and compares it.
func (w *workload) readRange(r *rand.Rand, f *tracked) {
	data := f.current().data
	off := r.IntN(len(data))
	n := 1 + r.IntN(len(data)-off)
	var got bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	start := time.Now()
	if _, err := w.c.client.Download(ctx, f.id, int64(off), int64(n), &got); err != nil {
		w.reads.fail()
		return
	}
	w.stats.ack("download-range", time.Since(start))
	if !bytes.Equal(got.Bytes(), data[off:off+n]) {
		w.readWrong.Add(1)
		w.mu.Lock()
		w.wrongErrs = append(w.wrongErrs, fmt.Sprintf("%s: range %d+%d: %d bytes that differ", f.id, off, n, got.Len()))
		w.mu.Unlock()
		return
	}
	w.reads.ack()
}

// chaosEvent kills (SIGKILL) or stops (SIGTERM) a random storage or
// tracker, restarts it after 0.3–1.5 s, in one storage event of four at
// another address (moveStorage), and waits until the trackers list every
// storage ACTIVE; it returns what it did.
func (c *cluster) chaosEvent(t *testing.T, r *rand.Rand) string {
	t.Helper()
	var p *proc
	what := "storage"
	if r.IntN(3) == 0 {
		p, what = c.trackers[r.IntN(len(c.trackers))], "tracker"
	} else {
		i := r.IntN(len(c.storages))
		if r.IntN(4) == 0 {
			return c.moveStorage(t, i, r.IntN(2) == 0)
		}
		p = c.storages[i]
	}
	if r.IntN(2) == 0 {
		p.kill()
		what = "kill -9 " + what
	} else {
		p.stop()
		what = "SIGTERM " + what
	}
	time.Sleep(300*time.Millisecond + time.Duration(r.IntN(1200))*time.Millisecond)
	p.start()
	c.waitActive(t)
	return what
}

// moveStorage stops storage i (SIGKILL when kill, else SIGTERM) and
// starts it again at its other address (bind_addr), as a storage moved to
// another machine or given a new DHCP lease comes back: it must report
// the change (STORAGE_REPORT_IP_CHANGED) and be the same member at the new
// address, with its files and its peers' sync marks, not a new member
// beside an OFFLINE record of the old one. Files named after the old
// address keep being served (the final check reads every one of them
// from both storages of its group). The addresses alternate, so a long
// soak also moves storages back to where they were.
func (c *cluster) moveStorage(t *testing.T, i int, kill bool) string {
	t.Helper()
	p := c.storages[i]
	what := "SIGTERM"
	if kill {
		p.kill()
		what = "kill -9"
	} else {
		p.stop()
	}
	oldIP, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	newIP := otherAddress(t, oldIP)
	fdfsproc.SetKey(t, p.conf, "bind_addr", newIP)
	c.addrMu.Lock()
	p.addr = net.JoinHostPort(newIP, port)
	c.moves.Add(oldIP, newIP)
	c.addrMu.Unlock()
	p.start()
	c.waitActive(t)
	testwait.For(t, waitLimit, oldIP+" no longer listed in "+c.groups[i], func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := c.client.ListStorages(ctx, c.groups[i], "")
		if err != nil {
			return err
		}
		for _, st := range list {
			if st.IP == oldIP {
				return fmt.Errorf("%s still listed, %s", oldIP, protocol.StorageStatusName(st.Status))
			}
		}
		return nil
	})
	return what + " storage, back at another address"
}

// loseDisk replaces storage i's disk as an operator would: its writes
// replicated first (every write of the workload paused, the storage
// drained until its peer has all it wrote: what a lost disk held alone is
// lost whatever the server does), the storage stopped, its store path's
// data removed (a new, empty disk), started again. It refills the path
// from its peer (disk recovery) under the workload, which resumes once the
// storage is stopped; the final check reads every file from both storages.
func (c *cluster) loseDisk(t *testing.T, i int) string {
	t.Helper()
	p := c.storages[i]
	c.addrMu.RLock()
	ip, _, err := net.SplitHostPort(p.addr)
	c.addrMu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c.writes.Lock()
	paused := true
	defer func() { // also on a failure here: the workers wait for it
		if paused {
			c.writes.Unlock()
		}
	}()
	if _, err := c.client.DrainStorage(ctx, c.groups[i], ip, protocol.DrainStart); err != nil {
		t.Fatalf("drain %s: %v", ip, err)
	}
	testwait.For(t, waitLimit, ip+" drained", func() error {
		st, err := c.client.DrainStorage(ctx, c.groups[i], ip, protocol.DrainQuery)
		if err == nil && st != protocol.DrainComplete {
			err = fmt.Errorf("drain state %d", st)
		}
		return err
	})
	p.stop()
	c.writes.Unlock()
	paused = false
	if err := os.RemoveAll(filepath.Join(c.storePaths[i], "data")); err != nil {
		t.Fatal(err)
	}
	p.start()
	c.waitActive(t)
	if _, err := c.client.DrainStorage(ctx, c.groups[i], ip, protocol.DrainStop); err != nil {
		t.Fatalf("undrain %s: %v", ip, err)
	}
	return "SIGTERM storage, its disk replaced (refilled by recovery)"
}

// otherAddress is the soak storage's address it does not have now: the
// last byte 10 up from its first one (.203–.206 and .213–.216).
func otherAddress(t *testing.T, ip string) string {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		t.Fatalf("storage address %q", ip)
	}
	b := a.As4()
	if b[3] >= 210 {
		b[3] -= 10
	} else {
		b[3] += 10
	}
	return netip.AddrFrom4(b).String()
}

// rssLog samples the VmRSS of every running daemon.
type rssLog struct {
	c                  *cluster
	first, max, latest map[string]int64 // KB, per daemon
}

func newRSSLog(c *cluster) *rssLog {
	return &rssLog{c: c, first: map[string]int64{}, max: map[string]int64{}, latest: map[string]int64{}}
}

func (l *rssLog) sample() {
	procs := map[string]*proc{}
	for _, p := range l.c.trackers {
		procs["tracker "+p.addr] = p
	}
	for i, p := range l.c.storages {
		// By index: a storage moved to another address stays one line.
		procs[fmt.Sprintf("storage %d (%s)", i, l.c.groups[i])] = p
	}
	for name, p := range procs {
		if !p.running() {
			continue
		}
		kb, err := vmRSS(p.cmd.Process.Pid)
		if err != nil {
			continue // exited between the check and the read
		}
		if _, ok := l.first[name]; !ok {
			l.first[name] = kb
		}
		l.max[name] = max(l.max[name], kb)
		l.latest[name] = kb
	}
}

func (l *rssLog) report(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(l.max)) {
		t.Logf("VmRSS %-28s first %6.1f MB, max %6.1f MB, last %6.1f MB", name,
			float64(l.first[name])/1024, float64(l.max[name])/1024, float64(l.latest[name])/1024)
	}
}

// vmRSS reads a process's resident set size (KB) from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
