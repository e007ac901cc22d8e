package faults

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// Appender file figures (bytes): chunks of appends and modifies, and the
// size past which a file is truncated rather than grown.
const (
	chunkMin       = 1 << 10
	chunkMax       = 16 << 10
	appenderMaxLen = 256 << 10
)

// workload is the clients of a mutation test: workers that each own a few
// files and change them one operation at a time, and readers.
type workload struct {
	c     *cluster
	stats *opStats
	stop  chan struct{}
	wg    sync.WaitGroup
	seeds atomic.Uint64

	mu    sync.Mutex
	files []*tracked // every file ever acknowledged, in order
	live  []*tracked

	liveBytes atomic.Int64 // content bytes of the live files
	reads     counters     // downloads at the source: right (acked), failed (retried)
	readWrong atomic.Int64
	anyReads  counters     // downloads through the client: right, failed
	anyOdd    atomic.Int64 // ... that got a state never acknowledged nor in flight
	wrongErrs []string
	refused   []error // uploads refused for good

	// extra, when set, may run one more kind of operation (the soak's)
	// instead of a change of an appender file; it reports whether it did.
	extra func(w *workload, r *rand.Rand, mine *[]*tracked) bool
	pause time.Duration // between two steps of a worker
}

func newWorkload(c *cluster) *workload {
	return &workload{c: c, stats: newOpStats(), stop: make(chan struct{}), pause: 2 * time.Millisecond}
}

func (w *workload) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// finish stops the clients and waits for them.
func (w *workload) finish() {
	if !w.stopping() {
		close(w.stop)
	}
	w.wg.Wait()
}

func (w *workload) add(f *tracked) {
	w.mu.Lock()
	w.files = append(w.files, f)
	w.live = append(w.live, f)
	w.mu.Unlock()
	w.liveBytes.Add(int64(len(f.current().data)))
}

func (w *workload) drop(f *tracked, size int) {
	w.mu.Lock()
	for i, g := range w.live {
		if g == f {
			w.live = append(w.live[:i], w.live[i+1:]...)
			break
		}
	}
	w.mu.Unlock()
	w.liveBytes.Add(-int64(size))
}

// forget removes f from the model.
func (w *workload) forget(f *tracked) {
	w.drop(f, len(f.current().data))
	w.mu.Lock()
	for i, g := range w.files {
		if g == f {
			w.files = append(w.files[:i], w.files[i+1:]...)
			break
		}
	}
	w.mu.Unlock()
}

func (w *workload) randomLive(r *rand.Rand) *tracked {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.live) == 0 {
		return nil
	}
	return w.live[r.IntN(len(w.live))]
}

// randomMeta is 1–3 keys of a–e with random values.
func randomMeta(r *rand.Rand) map[string]string {
	m := map[string]string{}
	for range 1 + r.IntN(3) {
		m[string(rune('a'+r.IntN(5)))] = fmt.Sprint(r.Uint32())
	}
	return m
}

// create uploads a file with metadata until it is acknowledged (a failed
// upload leaves at most an orphan nobody knows of, so it is retried as
// is); nil once stopping.
func (w *workload) create(op string, r *rand.Rand, size int, upload func(ctx context.Context, b []byte, meta map[string]string) (string, error)) *tracked {
	b := content(w.seeds.Add(1), size)
	meta := randomMeta(r)
	for !w.stopping() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		w.c.writes.RLock()
		id, err := upload(ctx, b, meta)
		w.c.writes.RUnlock()
		cancel()
		if err == nil {
			w.stats.ack(op, time.Since(start))
			f := newTracked(id, b, meta)
			w.add(f)
			return f
		}
		if st := protocol.StatusOf(err); st == protocol.EINVAL || st == protocol.ENAMETOOLONG {
			w.mu.Lock() // a retry cannot help: a failure of the test
			w.refused = append(w.refused, fmt.Errorf("%s: %w", op, err))
			w.mu.Unlock()
			return nil
		}
		w.stats.count(w.stats.retried, op)
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (w *workload) createAppender(r *rand.Rand) *tracked {
	return w.create("upload-appender", r, chunkMin+r.IntN(chunkMax-chunkMin+1), func(ctx context.Context, b []byte, meta map[string]string) (string, error) {
		return w.c.client.UploadAppender(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "log", Meta: meta})
	})
}

// change runs one random change of appender file f: append, modify,
// truncate, metadata overwrite or merge, or (1 in 20) delete. It reports
// whether f is still live.
func (w *workload) change(r *rand.Rand, f *tracked) bool {
	_, name, _ := fileid.Split(f.id)
	cur := f.current()
	after := cur
	var op string
	var cmd byte
	var body []byte
	chunk := content(w.seeds.Add(1), chunkMin+r.IntN(chunkMax-chunkMin+1))
	k := r.IntN(20)
	if !f.appender && k > 0 && k < 13 {
		k = 13 + k%7 // a normal file only takes metadata and delete
	}
	switch {
	case k == 0:
		op, cmd, after = "delete", protocol.CmdDeleteFile, snapshot{}
		body = (&protocol.FileRequest{Group: f.group, Name: name}).Encode()
	case k < 5 && len(cur.data) < appenderMaxLen:
		op, cmd, after.data = "append", protocol.CmdAppendFile, append(bytes.Clone(cur.data), chunk...)
		body = append((&protocol.AppendRequest{Name: name, Length: int64(len(chunk))}).Encode(), chunk...)
	case k < 10 && len(cur.data) < appenderMaxLen:
		off := r.IntN(len(cur.data) + 1)
		d := bytes.Clone(cur.data)
		if n := off + len(chunk); n > len(d) {
			d = append(d, make([]byte, n-len(d))...)
		}
		copy(d[off:], chunk)
		op, cmd, after.data = "modify", protocol.CmdModifyFile, d
		body = append((&protocol.ModifyRequest{Name: name, Offset: int64(off), Length: int64(len(chunk))}).Encode(), chunk...)
	case k < 13:
		n := r.IntN(len(cur.data) + 1)
		op, cmd, after.data = "truncate", protocol.CmdTruncateFile, bytes.Clone(cur.data[:n])
		body = (&protocol.TruncateRequest{Name: name, NewSize: int64(n)}).Encode()
	default:
		m, flag := randomMeta(r), protocol.MetaOverwrite
		op, after.meta = "meta-overwrite", protocol.PackMeta(m)
		if k >= 16 {
			old, _ := protocol.UnpackMeta(cur.meta)
			merged := maps.Clone(old)
			maps.Copy(merged, m)
			op, flag, after.meta = "meta-merge", protocol.MetaMerge, protocol.PackMeta(merged)
		}
		cmd = protocol.CmdSetMetadata
		body = (&protocol.SetMetadataRequest{Name: name, Flag: flag, Group: f.group, Meta: protocol.PackMeta(m)}).Encode()
	}
	send := func(ctx context.Context) error { return w.c.atSource(ctx, f.id, cmd, body) }
	if !w.c.mutate(w.stats, op, f, after, w.stop, send) {
		if f.isBroken() {
			w.forget(f) // unsettled: counted, not checked again
		}
		return false
	}
	w.liveBytes.Add(int64(len(after.data) - len(cur.data)))
	if !after.exists {
		w.drop(f, 0)
		return false
	}
	return true
}

// atSource sends one request to the storage that created id and waits
// for its reply. The changes go to the source only, as QUERY_UPDATE routes
// them while it is active: while it is down they fail and are retried.
// (Routed to another storage, as upstream's QUERY_UPDATE does then, two
// storages change the same file and the replicas diverge: see
// docs/reliability.md, "Crashes: kill -9".)
func (c *cluster) atSource(ctx context.Context, id string, cmd byte, body []byte) error {
	addr, err := c.sourceOf(id)
	if err != nil {
		return err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if err := protocol.WritePacket(nc, cmd, 0, body); err != nil {
		return err
	}
	_, err = protocol.ReadResponse(nc, 0)
	return err
}

// startWorkers starts n workers, each keeping perWorker appender files of
// its own and changing a random one of its files, over and over.
func (w *workload) startWorkers(n, perWorker int, seed uint64) {
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(g)))
			var mine []*tracked
			for !w.stopping() {
				if w.extra != nil && w.extra(w, r, &mine) {
					continue
				}
				if countAppenders(mine) < perWorker {
					if f := w.createAppender(r); f != nil {
						mine = append(mine, f)
					}
					continue
				}
				i := r.IntN(len(mine))
				if !w.change(r, mine[i]) {
					mine = append(mine[:i], mine[i+1:]...)
				}
				time.Sleep(w.pause)
			}
		}()
	}
}

func countAppenders(fs []*tracked) int {
	n := 0
	for _, f := range fs {
		if f.appender {
			n++
		}
	}
	return n
}

// startReaders starts n readers: each downloads a random live file (and
// its metadata) through the client, over and over. A read that succeeds
// must give one of the file's versions, never a mix; one that fails (a
// storage down, a replica not there yet, the file just deleted) is only
// counted.
func (w *workload) startReaders(n int, seed uint64) {
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(100+g)))
			for !w.stopping() {
				time.Sleep(5 * time.Millisecond)
				if f := w.randomLive(r); f != nil {
					w.read(f)
				}
			}
		}()
	}
}

// read downloads f twice: from its source storage directly, where every
// change lands first and which must only ever serve versions of the file
// (never a mix, crash or not), and through the client with its metadata
// (the tracker picks any storage that has the file). A replica catching
// up may serve a state no client wrote (docs/reliability.md): counted,
// not failed on.
func (w *workload) read(f *tracked) {
	if addr, err := w.c.sourceOf(f.id); err == nil {
		st, data, err := fetch(addr, f.id)
		switch {
		case err != nil || st != 0:
			w.reads.fail()
		case !f.known(data, nil):
			w.readWrong.Add(1)
			w.mu.Lock()
			w.wrongErrs = append(w.wrongErrs, fmt.Sprintf("%s: its source serves %d bytes that are not a version of it", f.id, len(data)))
			w.mu.Unlock()
		default:
			w.reads.ack()
		}
	}
	var got bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	start := time.Now()
	if _, err := w.c.client.Download(ctx, f.id, 0, 0, &got); err != nil {
		w.anyReads.fail()
		return
	}
	w.stats.ack("download", time.Since(start))
	meta, merr := w.c.client.GetMetadata(ctx, f.id)
	var packed []byte
	if merr == nil {
		packed = protocol.PackMeta(meta)
	}
	if !f.known(got.Bytes(), packed) {
		w.anyOdd.Add(1)
		return
	}
	w.anyReads.ack()
}

// waitAcks waits until the workers have had n more operations acknowledged.
func (w *workload) waitAcks(t *testing.T, n int) {
	t.Helper()
	start := w.stats.total(w.stats.acked)
	testwait.Until(t, 2*waitLimit, fmt.Sprintf("%d more operations acknowledged", n), func() bool {
		return w.stats.total(w.stats.acked) >= start+n
	})
}

// check verifies the model on the cluster, the temp files and what the
// clients saw, and logs the figures.
func (w *workload) check(t *testing.T, label string) {
	t.Helper()
	w.c.waitActive(t)
	lost, corrupt, back := w.c.verifyModel(t, w.files)
	var temps []string
	testwait.Until(t, waitLimit, "no upload temp file left", func() bool {
		temps = temps[:0]
		for _, store := range w.c.storePaths {
			temps = append(temps, tempFiles(store)...)
		}
		return len(temps) == 0
	})
	for _, e := range w.stats.errs {
		t.Log(e)
	}
	for _, e := range w.refused {
		t.Error(e)
	}
	// Logged, not failed on: appends and modifies are written into the
	// file as they arrive, so the source serves a partial one while it is
	// in flight, and keeps it if killed then (docs/reliability.md).
	for _, e := range w.wrongErrs {
		t.Log(e)
	}
	w.stats.report(t)
	live := 0
	for _, f := range w.files {
		if f.current().exists {
			live++
		}
	}
	ra, rf := w.reads.get()
	aa, af := w.anyReads.get()
	t.Logf("%s: reads at the source during the run: %d right, %d failed, %d neither an old nor a new version; through the tracker (any replica, with metadata): %d right, %d failed, %d a state never written",
		label, ra, rf, w.readWrong.Load(), aa, af, w.anyOdd.Load())
	t.Logf("%s: checked on every storage of their group: %d files (%d live, %d deleted); lost %d, corrupt %d, deleted but back %d; failed operations left unsettled %d; temp files left %d",
		label, len(w.files), live, len(w.files)-live, lost, corrupt, back, w.stats.unsettled.Load(), len(temps))
}
