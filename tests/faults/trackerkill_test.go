package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// Tracker kill figures: how many kills, how long the tracker stays down.
const (
	trackerKills         = 3
	trackerDownTime      = 300 * time.Millisecond
	trackerUploaders     = 6
	appenders            = 3
	appendsPerFile       = 8
	appendMin            = 1 << 10
	appendMax            = 16 << 10
	trackerAcksPerPhase  = 40 // small uploads acknowledged between kills
	appendAcksPerPhase   = 15 // appends acknowledged between kills
	trackerRetryInterval = 20 * time.Millisecond
)

// appenderFile is one acknowledged appender file: its id, the storage it
// was created on (the one that takes its appends) and its expected bytes.
type appenderFile struct {
	id   string
	addr string
	mu   sync.Mutex
	want []byte
}

func (f *appenderFile) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.want...)
}

// appendCounters are what the appending clients saw.
type appendCounters struct {
	created, createRetried counters // UPLOAD_APPENDER_FILE
	appends                counters // APPEND_FILE: acknowledged, failed attempts
	landed                 atomic.Int64
	corrupt                atomic.Int64
	lastErr                atomic.Value // string: the last failed append's error
}

// sourceAddr is the address of the storage that created fileID (the
// source IP of its name; every storage of the test listens on storagePort).
func sourceAddr(fileID string) (string, error) {
	_, name, err := fileid.Split(fileID)
	if err != nil {
		return "", err
	}
	n, err := fileid.Parse(name)
	if err != nil {
		return "", err
	}
	if n.SourceIP == "" {
		return "", fmt.Errorf("%s: source is a storage id, not an address", fileID)
	}
	return net.JoinHostPort(n.SourceIP, fmt.Sprint(storagePort)), nil
}

// createAppender uploads an appender file with the bytes of (seed, size)
// until one is acknowledged or stop is closed.
func createAppender(cl *client.Client, seed uint64, size int, cnt *appendCounters, stop <-chan struct{}) (*appenderFile, bool, error) {
	b := content(seed, size)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		id, err := cl.UploadAppender(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "log"})
		cancel()
		if err == nil {
			cnt.created.ack()
			addr, err := sourceAddr(id)
			if err != nil {
				return nil, false, err
			}
			return &appenderFile{id: id, addr: addr, want: b}, true, nil
		}
		cnt.createRetried.fail()
		select {
		case <-stop:
			return nil, false, nil
		case <-time.After(trackerRetryInterval):
		}
	}
}

// appendUntilAcked appends chunk to f until an append is acknowledged, or
// a failed one is found to have landed anyway, or stop is closed. After
// each failure it downloads f from its source storage directly: the old
// bytes mean the append did not land (retried), the old bytes followed by
// chunk mean it did (counted as landed, not retried); anything else is
// corrupt (an error, and f is given up).
func appendUntilAcked(cl *client.Client, f *appenderFile, chunk []byte, cnt *appendCounters, stop <-chan struct{}) (ok bool, err error) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		aerr := cl.Append(ctx, f.id, bytes.NewReader(chunk), int64(len(chunk)))
		cancel()
		if aerr == nil {
			f.mu.Lock()
			f.want = append(f.want, chunk...)
			f.mu.Unlock()
			cnt.appends.ack()
			return true, nil
		}
		cnt.appends.fail()
		cnt.lastErr.Store(aerr.Error())
		old := f.bytes()
		landed, err := appendLanded(f.addr, f.id, old, chunk)
		if err != nil {
			cnt.corrupt.Add(1)
			return false, fmt.Errorf("append to %s failed (%v); then %v", f.id, aerr, err)
		}
		if landed {
			f.mu.Lock()
			f.want = append(f.want, chunk...)
			f.mu.Unlock()
			cnt.landed.Add(1)
			return true, nil
		}
		select {
		case <-stop:
			return false, nil
		case <-time.After(trackerRetryInterval):
		}
	}
}

// appendLanded tells from the file's bytes on its source storage whether
// an append of chunk to a file of bytes old landed. The storages are not
// killed in this test, so a download that fails is retried for a while.
func appendLanded(addr, id string, old, chunk []byte) (bool, error) {
	var last string
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		st, got, err := fetch(addr, id)
		switch {
		case err != nil:
			last = err.Error()
		case st != 0:
			last = fmt.Sprintf("status %d", st)
		case bytes.Equal(got, old):
			return false, nil
		case len(got) == len(old)+len(chunk) && bytes.Equal(got[:len(old)], old) && bytes.Equal(got[len(old):], chunk):
			return true, nil
		default:
			return false, fmt.Errorf("%s serves %d bytes, neither the %d acknowledged nor those plus the %d-byte chunk", addr, len(got), len(old), len(chunk))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, fmt.Errorf("download from %s: %s", addr, last)
}

// TestTrackerKill9: one tracker, two storages of group1 (replication on);
// 6 clients upload 1–64 KB files and 3 clients create appender files and
// append 1–16 KB chunks to them, over and over; the tracker is killed with
// SIGKILL and restarted 300 ms later, 3 times. A failed append is checked
// on the file's source storage before it is retried, so each appender
// file's expected bytes are exactly its acknowledged appends (plus any
// that landed despite the error). Then both storages must be ACTIVE on the
// tracker again, every acknowledged upload and appender file must be
// served with its exact bytes by both storages, and a new upload and
// append must succeed.
func TestTrackerKill9(t *testing.T) {
	needBinary(t)
	c := startCluster(t, "127.0.0.153", "127.0.0.154", "127.0.0.155")

	var (
		acked    uploads
		small    counters
		ac       appendCounters
		filesMu  sync.Mutex
		files    []*appenderFile
		errsMu   sync.Mutex
		errs     []error
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		seeds    atomic.Uint64
		stopping = func() bool {
			select {
			case <-stop:
				return true
			default:
				return false
			}
		}
	)
	uploadSmall(&wg, stop, trackerUploaders, 2, c.client, &seeds, &small, &acked)
	for g := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for !stopping() {
				f, ok, err := createAppender(c.client, seeds.Add(1), appendMin+r.IntN(appendMax-appendMin+1), &ac, stop)
				if err != nil {
					errsMu.Lock()
					errs = append(errs, err)
					errsMu.Unlock()
					return
				}
				if !ok {
					return
				}
				filesMu.Lock()
				files = append(files, f)
				filesMu.Unlock()
				for range appendsPerFile {
					if stopping() {
						return
					}
					chunk := content(seeds.Add(1), appendMin+r.IntN(appendMax-appendMin+1))
					ok, err := appendUntilAcked(c.client, f, chunk, &ac, stop)
					if err != nil {
						errsMu.Lock()
						errs = append(errs, err)
						errsMu.Unlock()
						break // f is corrupt: a new file
					}
					if !ok {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	stopAll := stopper(stop, &wg)
	defer stopAll()

	var listed, rejoined []time.Duration
	for range trackerKills {
		ac.appends.waitMore(t, appendAcksPerPhase, "appends acknowledged")
		small.waitMore(t, trackerAcksPerPhase, "small uploads acknowledged")
		c.tracker.kill()
		time.Sleep(trackerDownTime)
		start := time.Now()
		c.tracker.start()
		// Listed ACTIVE at once from the saved state; rejoined when each
		// storage has sent the new process a heartbeat.
		c.waitActive(t)
		listed = append(listed, time.Since(start).Round(10*time.Millisecond))
		c.waitHeartbeat(t, start)
		rejoined = append(rejoined, time.Since(start).Round(10*time.Millisecond))
	}
	// The load goes on after the last restart: new uploads, appender
	// files and appends must be acknowledged.
	smallBefore, _ := small.get()
	createdBefore, _ := ac.created.get()
	appendsBefore, _ := ac.appends.get()
	small.waitMore(t, trackerAcksPerPhase, "small uploads acknowledged after the last restart")
	ac.created.waitMore(t, 1, "appender files created after the last restart")
	ac.appends.waitMore(t, appendAcksPerPhase, "appends acknowledged after the last restart")
	smallAfter, _ := small.get()
	createdAfter, _ := ac.created.get()
	appendsAfter, _ := ac.appends.get()
	stopAll()

	for _, err := range errs {
		t.Error(err)
	}

	// Both storages ACTIVE on the tracker, then every acknowledged file
	// on both, byte for byte.
	c.waitActive(t)
	want := map[string]func() []byte{}
	for _, u := range acked.l {
		want[u.id] = func() []byte { return content(u.seed, u.size) }
	}
	appendedBytes := 0
	for _, f := range files {
		b := f.bytes()
		appendedBytes += len(b)
		want[f.id] = func() []byte { return b }
	}
	lost, corrupt := c.verify(t, want)

	// A new upload and append, once, after the run.
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	b := content(seeds.Add(1), 4<<10)
	id, err := c.client.UploadAppender(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "log"})
	if err != nil {
		t.Fatalf("upload after the last restart: %v", err)
	}
	chunk := content(seeds.Add(1), 4<<10)
	if err := c.client.Append(ctx, id, bytes.NewReader(chunk), int64(len(chunk))); err != nil {
		t.Fatalf("append after the last restart: %v", err)
	}
	var got bytes.Buffer
	if _, err := c.client.Download(ctx, id, 0, 0, &got); err != nil || !bytes.Equal(got.Bytes(), append(b, chunk...)) {
		t.Fatalf("download after the last restart: %v, %d bytes", err, got.Len())
	}

	sa, sr := small.get()
	ca, cr := ac.created.get()
	aa, ar := ac.appends.get()
	t.Logf("tracker kill -9: %d kills (tracker down %v each, restarted); after each start both storages listed ACTIVE after %v, heartbeating to the new process after %v",
		trackerKills, trackerDownTime, listed, rejoined)
	t.Logf("small uploads (1-64 KB, %d clients): %d acknowledged, %d failed-but-retried", trackerUploaders, sa, sr)
	t.Logf("appender files (%d clients): %d created, %d failed-but-retried", appenders, ca, cr)
	t.Logf("appends (1-16 KB): %d acknowledged, %d failed attempts, %d landed despite the error, %d found corrupt after an error",
		aa, ar, ac.landed.Load(), ac.corrupt.Load())
	if e, ok := ac.lastErr.Load().(string); ok {
		t.Logf("last failed append: %s", e)
	}
	t.Logf("after the last restart: %d uploads, %d appender files, %d appends acknowledged",
		smallAfter-smallBefore, createdAfter-createdBefore, appendsAfter-appendsBefore)
	t.Logf("checked on each of %d storages: %d files (%d uploads, %d appender files of %d bytes in all); lost %d, corrupt %d",
		len(c.storages), len(want), len(acked.l), len(files), appendedBytes, lost, corrupt)
}

// waitHeartbeat waits until the tracker reports, for every storage, a
// heartbeat in a second later than since's: the storage has reconnected
// to a tracker process started at since.
func (c *cluster) waitHeartbeat(t *testing.T, since time.Time) {
	t.Helper()
	testwait.For(t, waitLimit, "a heartbeat from every storage", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := c.client.ListStorages(ctx, group, "")
		if err != nil {
			return err
		}
		beat := map[string]int64{}
		for _, st := range list {
			beat[st.IP] = st.Stat.LastHeartBeatTime
		}
		for _, s := range c.storages {
			if ip, _, _ := net.SplitHostPort(s.addr); beat[ip] <= since.Unix() {
				return fmt.Errorf("%s: last heartbeat %d, tracker started %d", ip, beat[ip], since.Unix())
			}
		}
		return nil
	})
}
