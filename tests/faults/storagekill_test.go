package faults

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// Storage kill figures: how many kills, how long a storage stays down.
const (
	storageKills     = 3
	storageDownTime  = 300 * time.Millisecond
	smallUploaders   = 8
	smallMin         = 1 << 10
	smallMax         = 64 << 10
	largeSize        = 20 << 20
	acksBetweenKills = 60
)

// upload is one acknowledged upload: its id and how to make its bytes.
type upload struct {
	id   string
	seed uint64
	size int
}

type uploads struct {
	mu sync.Mutex
	l  []upload
}

func (u *uploads) add(x upload) {
	u.mu.Lock()
	u.l = append(u.l, x)
	u.mu.Unlock()
}

func (u *uploads) random(r *rand.Rand) (upload, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.l) == 0 {
		return upload{}, false
	}
	return u.l[r.IntN(len(u.l))], true
}

// uploadSmall starts n goroutines (in wg) that upload 1–64 KB files, the
// sizes drawn from random stream, until stop is closed: each acknowledged
// upload goes to acked, each failure is counted in cnt and retried. A
// steady stream, not a flood: the files are all checked on every storage
// at the end.
func uploadSmall(wg *sync.WaitGroup, stop chan struct{}, n int, stream uint64, cl *client.Client, seeds *atomic.Uint64, cnt *counters, acked *uploads) {
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), stream))
			for {
				select {
				case <-stop:
					return
				default:
				}
				seed, size := seeds.Add(1), smallMin+r.IntN(smallMax-smallMin+1)
				if id, ok := uploadUntilAcked(cl, seed, size, cnt, stop, nil); ok {
					acked.add(upload{id, seed, size})
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
}

// stopper returns the function that ends a kill test's load: it closes
// stop and waits for wg, once however often it is called (the test calls
// it before its checks and defers it for an early failure).
func stopper(stop chan struct{}, wg *sync.WaitGroup) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
	}
}

// uploadUntilAcked uploads the bytes of (seed, size) until an upload is
// acknowledged or stop is closed; each failure is counted and retried.
func uploadUntilAcked(cl *client.Client, seed uint64, size int, cnt *counters, stop <-chan struct{}, g *gate) (string, bool) {
	b := content(seed, size)
	for {
		var r io.Reader = bytes.NewReader(b)
		if g != nil {
			r = &gatedReader{r: r, at: size / 2, g: g, stop: stop}
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		id, err := cl.Upload(ctx, r, int64(len(b)), client.UploadOptions{Ext: "bin"})
		cancel()
		if err == nil {
			cnt.ack()
			return id, true
		}
		cnt.fail()
		select {
		case <-stop:
			return "", false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestStorageKill9: two storages of group1 (replication on); 8 clients
// upload 1–64 KB files and one a 20 MB file, over and over; a storage is
// killed with SIGKILL (while the large upload is in flight) and restarted,
// 3 times, the two storages in turn. Every acknowledged upload must then
// be served with its exact bytes by both storages, reads during the run
// must never return wrong bytes, and no upload temp file may remain.
func TestStorageKill9(t *testing.T) {
	needBinary(t)
	c := startCluster(t, "127.0.0.150", "127.0.0.151", "127.0.0.152")

	var (
		acked        uploads
		small, large counters
		reads        counters
		readCorrupt  atomic.Int64
		stop         = make(chan struct{})
		wg           sync.WaitGroup
		seeds        atomic.Uint64
		largeGate    = gate{paused: make(chan struct{}), release: make(chan struct{})}
	)
	uploadSmall(&wg, stop, smallUploaders, 1, c.client, &seeds, &small, &acked)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			seed := seeds.Add(1)
			id, ok := uploadUntilAcked(c.client, seed, largeSize, &large, stop, &largeGate)
			if ok {
				acked.add(upload{id, seed, largeSize})
			}
		}
	}()
	// A reader: any download that succeeds must give the acknowledged
	// bytes (one that fails, e.g. on the storage being down or a replica
	// not there yet, is only counted).
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(99, 1))
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			u, ok := acked.random(r)
			if !ok || u.size > smallMax {
				continue
			}
			var got bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			_, err := c.client.Download(ctx, u.id, 0, 0, &got)
			cancel()
			switch {
			case err != nil:
				reads.fail()
			case !bytes.Equal(got.Bytes(), content(u.seed, u.size)):
				readCorrupt.Add(1)
			default:
				reads.ack()
			}
		}
	}()
	stopAll := stopper(stop, &wg)
	defer stopAll()

	var lastRestart time.Time
	killed := make([]int, len(c.storages))
	for range storageKills {
		small.waitMore(t, acksBetweenKills, "small uploads acknowledged")
		// The victim is the storage receiving the large upload, killed
		// when half of it was sent: the client holds the rest back until
		// the kill, so its temp file is the one of that size.
		largeGate.armed.Store(true)
		select {
		case <-largeGate.paused:
		case <-time.After(waitLimit):
			t.Fatal("no large upload reached half-way")
		}
		victim := -1
		testwait.Until(t, waitLimit, "the large upload's temp file on a storage", func() bool {
			victim = c.receivingLarge()
			return victim >= 0
		})
		c.storages[victim].kill()
		largeGate.release <- struct{}{}
		killed[victim]++
		time.Sleep(storageDownTime)
		c.storages[victim].start()
		lastRestart = time.Now()
		c.waitActive(t)
	}
	small.waitMore(t, acksBetweenKills, "small uploads acknowledged after the last restart")
	large.waitMore(t, 1, "large uploads acknowledged after the last restart")
	stopAll()

	want := map[string]func() []byte{}
	for _, u := range acked.l {
		want[u.id] = func() []byte { return content(u.seed, u.size) }
	}
	lost, corrupt := c.verify(t, want)

	// The restarted storages sweep the temp files of the killed runs;
	// replication has finished, so nothing else should have one.
	if d := time.Until(lastRestart.Add(3 * time.Second)); d > 0 {
		time.Sleep(d)
	}
	var temps []string
	for _, store := range c.storePaths {
		temps = append(temps, tempFiles(store)...)
	}
	for _, p := range temps {
		t.Errorf("upload temp file left: %s", p)
	}

	sa, sr := small.get()
	la, lr := large.get()
	ra, rr := reads.get()
	t.Logf("storage kill -9: %d kills (storage down %v each, restarted), per storage %v, each in the middle of a 20 MB upload to it", storageKills, storageDownTime, killed)
	t.Logf("small uploads (1-64 KB, %d clients): %d acknowledged, %d failed-but-retried", smallUploaders, sa, sr)
	t.Logf("large uploads (20 MB): %d acknowledged, %d failed-but-retried", la, lr)
	t.Logf("reads during the run: %d right, %d failed, %d wrong bytes", ra, rr, readCorrupt.Load())
	t.Logf("checked on each of %d storages: %d files; lost %d, corrupt %d; temp files left %d",
		len(c.storages), len(want), lost, corrupt, len(temps))
	if n := readCorrupt.Load(); n > 0 {
		t.Errorf("%d downloads during the run returned wrong bytes", n)
	}
}

// receivingLarge returns the index of the one storage with a temp file of
// between a quarter and three quarters of a large upload (what the paused
// upload has sent, less what is still in the socket buffers), or -1 while
// there is not exactly one (a replica of the previous large file may be
// arriving too).
func (c *cluster) receivingLarge() int {
	found := -1
	for i, store := range c.storePaths {
		for _, p := range tempFiles(store) {
			if fi, err := os.Stat(p); err == nil && fi.Size() > largeSize/4 && fi.Size() < largeSize*3/4 {
				if found >= 0 {
					return -1
				}
				found = i
			}
		}
	}
	return found
}

// gate pauses the next upload through a gatedReader once armed, at its
// half-way point, until the test releases it.
type gate struct {
	armed   atomic.Bool
	paused  chan struct{}
	release chan struct{}
}

type gatedReader struct {
	r    io.Reader
	n    int
	at   int
	g    *gate
	stop <-chan struct{}
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if r.n < r.at && r.n+len(p) > r.at {
		p = p[:r.at-r.n]
	}
	if r.n == r.at && r.g.armed.CompareAndSwap(true, false) {
		select {
		case r.g.paused <- struct{}{}:
			select {
			case <-r.g.release:
			case <-r.stop:
			}
		case <-r.stop:
		}
	}
	n, err := r.r.Read(p)
	r.n += n
	return n, err
}
