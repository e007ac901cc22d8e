package multitracker

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/trackernode"
)

// waitFor bounds every poll of a test; the polls themselves return as soon
// as the condition holds.
const waitFor = 30 * time.Second

// env is a cluster of n trackers and two storages of group1. Tracker 0 is
// the devcluster's own; the others are started here from the same
// tracker.conf with their own address and base path. setup's storageConf
// lines go into both storages' conf.
type env struct {
	t     *testing.T
	c     *devcluster.Cluster
	ips   []string
	extra map[int]*trackernode.Server // trackers 1..n-1 while running
	cfgs  map[int]*conf.Tracker
}

func setup(t *testing.T, n int, storageConf ...string) *env {
	t.Helper()
	e := &env{t: t, extra: map[int]*trackernode.Server{}, cfgs: map[int]*conf.Tracker{}}
	var lines []string
	for range n {
		ip, err := devcluster.FreeIP(devcluster.DefaultTrackerPort)
		if err != nil {
			t.Fatal(err)
		}
		e.ips = append(e.ips, ip)
		lines = append(lines, fmt.Sprintf("tracker_server = %s:%d", ip, devcluster.DefaultTrackerPort))
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := devcluster.Launch(ctx, devcluster.Options{
		Dir: dir, TrackerIP: e.ips[0], SubdirCount: 4, HeartBeatInterval: 1,
		StorageConf: append(lines, storageConf...), ActiveTimeout: waitFor,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	t.Cleanup(func() {
		for i, s := range e.extra {
			s.Close()
			delete(e.extra, i)
		}
		c.Close()
	})
	for i := 1; i < n; i++ {
		cfg, err := conf.LoadTracker(c.Tracker.ConfPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg.BindAddr = e.ips[i]
		cfg.BasePath = filepath.Join(dir, fmt.Sprintf("tracker%d", i))
		if err := os.MkdirAll(cfg.BasePath, 0o755); err != nil {
			t.Fatal(err)
		}
		e.cfgs[i] = cfg
		e.start(i)
	}
	return e
}

func (e *env) addr(i int) string {
	return net.JoinHostPort(e.ips[i], fmt.Sprint(devcluster.DefaultTrackerPort))
}

func (e *env) addrs() []string {
	var out []string
	for i := range e.ips {
		out = append(out, e.addr(i))
	}
	return out
}

func (e *env) start(i int) {
	e.t.Helper()
	if i == 0 {
		if err := e.c.StartTracker(); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	s, err := trackernode.New(e.cfgs[i], nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.extra[i] = s
}

func (e *env) stop(i int) {
	e.t.Helper()
	if i == 0 {
		if err := e.c.StopTracker(); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	if err := e.extra[i].Close(); err != nil {
		e.t.Fatal(err)
	}
	delete(e.extra, i)
}

// call sends one request to one tracker (no failover).
func call(addr string, cmd byte, body []byte) ([]byte, error) {
	return callFrom("", addr, cmd, body)
}

// callFrom is call from source address srcIP ("": the kernel's choice).
// Trackers answer the tracker-to-tracker commands only to the trackers and
// storages of the cluster.
func callFrom(srcIP, addr string, cmd byte, body []byte) ([]byte, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	if srcIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(srcIP)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := protocol.WritePacket(c, cmd, 0, body); err != nil {
		return nil, err
	}
	return protocol.ReadResponse(c, 1<<20)
}

// poll calls f until it returns nil, failing the test after waitFor.
func poll(t *testing.T, what string, f func() error) {
	t.Helper()
	testwait.For(t, waitFor, what, f)
}

// waitLeader waits until every running tracker names the same running
// leader (SERVER_GET_LEADER) and exactly one tracker reports itself leader
// in TRACKER_GET_STATUS (asked as a storage); it returns the leader's index.
func (e *env) waitLeader(running []int) int {
	e.t.Helper()
	leader := -1
	poll(e.t, "leader agreement", func() error {
		var first string
		for _, i := range running {
			b, err := call(e.addr(i), protocol.CmdServerGetLeader, nil)
			if err != nil {
				return fmt.Errorf("tracker %d: %w", i, err)
			}
			if first == "" {
				first = string(b)
			} else if string(b) != first {
				return fmt.Errorf("tracker %d names %s, another %s", i, b, first)
			}
		}
		leaders := 0
		for _, i := range running {
			b, err := callFrom(e.c.Storages[0].IP, e.addr(i), protocol.CmdTrackerGetStatus, nil)
			if err != nil {
				return fmt.Errorf("tracker %d status: %w", i, err)
			}
			st, err := protocol.DecodeTrackerStatus(b)
			if err != nil {
				return err
			}
			if st.IsLeader {
				leaders++
				leader = i
				if e.addr(i) != first {
					return fmt.Errorf("tracker %d claims leadership, the others name %s", i, first)
				}
			}
		}
		if leaders != 1 {
			return fmt.Errorf("%d trackers claim leadership", leaders)
		}
		return nil
	})
	return leader
}

// waitActive waits until tracker i lists both storages ACTIVE.
func (e *env) waitActive(i int) {
	e.t.Helper()
	poll(e.t, fmt.Sprintf("storages ACTIVE on tracker %d", i), func() error {
		b, err := call(e.addr(i), protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
		if err != nil {
			return err
		}
		ss, err := protocol.DecodeStorageStats(b)
		if err != nil {
			return err
		}
		// Deleted and moved storages stay listed (tombstones, as upstream).
		ss = slices.DeleteFunc(ss, func(s protocol.StorageStat) bool {
			return s.Status == protocol.StatusDeleted || s.Status == protocol.StatusIPChanged
		})
		if len(ss) != len(e.c.Storages) {
			return fmt.Errorf("%d storages listed", len(ss))
		}
		for _, s := range ss {
			if s.Status != protocol.StatusActive {
				return fmt.Errorf("%s is %s", s.ID, protocol.StorageStatusName(s.Status))
			}
		}
		return nil
	})
}

// uploads sums the successful uploads tracker i counts for the storages
// of group1, all of which it must list.
func (e *env) uploads(i int) (int64, error) {
	b, err := call(e.addr(i), protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
	if err != nil {
		return 0, err
	}
	ss, err := protocol.DecodeStorageStats(b)
	if err != nil {
		return 0, err
	}
	if len(ss) != len(e.c.Storages) {
		return 0, fmt.Errorf("%d storages listed", len(ss))
	}
	var n int64
	for _, s := range ss {
		n += s.Stat.SuccessUploadCount
	}
	return n, nil
}

func (e *env) client() *client.Client {
	e.t.Helper()
	cl, err := client.New(client.Config{Trackers: e.addrs(), ConnectTimeout: 2 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cl.Close() })
	return cl
}

func others(n, skip int) []int {
	var out []int
	for i := range n {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}

func all(n int) []int { return others(n, -1) }

// traffic uploads and downloads small files in a loop through a client
// configured with every tracker. A failed operation is retried (it may
// have been in flight on the tracker that died); the attempts are logged
// with their start time so the test can check that nothing failed once
// the failover was over.
type traffic struct {
	mu       sync.Mutex
	failures []time.Time // start of every failed attempt
	lost     []error     // operations that never succeeded
	done     int         // operations that succeeded
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startTraffic(cl *client.Client) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	tr.wg.Add(1)
	go func() {
		defer tr.wg.Done()
		for {
			select {
			case <-tr.stop:
				return
			default:
			}
			tr.op(cl)
			time.Sleep(5 * time.Millisecond) // leave CPU to parallel test packages
		}
	}()
	return tr
}

// op uploads then downloads one file, retrying each step up to 100 times.
func (tr *traffic) op(cl *client.Client) {
	data := make([]byte, 1000)
	rand.Read(data)
	var id string
	steps := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) {
			id, err = cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "bin"})
			return err
		},
		func(ctx context.Context) error {
			var b bytes.Buffer
			if _, err := cl.Download(ctx, id, 0, 0, &b); err != nil {
				return err
			}
			if !bytes.Equal(b.Bytes(), data) {
				return fmt.Errorf("downloaded %d bytes differ from the upload", b.Len())
			}
			return nil
		},
	}
	for _, step := range steps {
		var err error
		for range 100 {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err = step(ctx)
			cancel()
			if err == nil {
				break
			}
			tr.mu.Lock()
			tr.failures = append(tr.failures, start)
			tr.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			tr.mu.Lock()
			tr.lost = append(tr.lost, err)
			tr.mu.Unlock()
			return
		}
	}
	tr.mu.Lock()
	tr.done++
	tr.mu.Unlock()
}

func (tr *traffic) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.done
}

func (tr *traffic) finish() {
	close(tr.stop)
	tr.wg.Wait()
}

// Two trackers elect one leader, both see the storages ACTIVE; killing the
// leader under a stream of uploads and downloads makes the other the
// leader with no operation lost; the old leader comes back with its
// persisted state and follows.
func TestFailoverTwoTrackers(t *testing.T) {
	e := setup(t, 2)
	leader := e.waitLeader(all(2))
	for i := range 2 {
		e.waitActive(i)
	}
	cl := e.client()
	tr := startTraffic(cl)
	poll(t, "traffic before the failover", func() error {
		if n := tr.count(); n < 5 {
			return fmt.Errorf("%d operations done", n)
		}
		return nil
	})

	// The leader has seen beats counting uploads before it dies.
	poll(t, "upload counters on the leader", func() error {
		if n, err := e.uploads(leader); err != nil || n == 0 {
			return fmt.Errorf("%d uploads counted, %v", n, err)
		}
		return nil
	})
	e.stop(leader)
	survivor := others(2, leader)
	if got := e.waitLeader(survivor); got != survivor[0] {
		t.Fatalf("leader %d after the failover, want %d", got, survivor[0])
	}
	failoverDone := time.Now()
	before := tr.count()
	poll(t, "traffic after the failover", func() error {
		if n := tr.count(); n < before+5 {
			return fmt.Errorf("%d operations since the failover", n-before)
		}
		return nil
	})

	e.start(leader)
	// State survives the restart: the storages are known at once, with
	// their counters, before any of them rejoined.
	if n, err := e.uploads(leader); err != nil || n == 0 {
		t.Fatalf("restarted tracker: %d uploads counted, %v", n, err)
	}
	if got := e.waitLeader(all(2)); got != survivor[0] {
		t.Fatalf("leader %d after the restart, want %d (the restarted tracker must follow)", got, survivor[0])
	}
	e.waitActive(leader)
	before = tr.count()
	poll(t, "traffic after the restart", func() error {
		if n := tr.count(); n < before+5 {
			return fmt.Errorf("%d operations since the restart", n-before)
		}
		return nil
	})
	tr.finish()

	if len(tr.lost) > 0 {
		t.Fatalf("%d operations failed for good, first: %v", len(tr.lost), tr.lost[0])
	}
	for _, at := range tr.failures {
		if at.After(failoverDone) {
			t.Errorf("an attempt started %v after the failover failed", at.Sub(failoverDone))
		}
	}
	t.Logf("%d operations, %d failed attempts (all before the failover completed)", tr.count(), len(tr.failures))
}

// Three trackers agree on one leader; when it dies the other two agree on
// a new one, and the storages stay ACTIVE on them.
func TestElectionThreeTrackers(t *testing.T) {
	e := setup(t, 3)
	leader := e.waitLeader(all(3))
	for i := range 3 {
		e.waitActive(i)
	}
	e.stop(leader)
	rest := others(3, leader)
	next := e.waitLeader(rest)
	for _, i := range rest {
		e.waitActive(i)
	}
	e.start(leader)
	if got := e.waitLeader(all(3)); got != next {
		t.Fatalf("leader %d after the restart, want %d", got, next)
	}
}

// leaderBody is the 66/67 body as upstream 6.16.1 sends it: the "ip:port"
// text, unpadded.
func leaderBody(addr string) []byte { return []byte(addr) }

// A follower made leader behind the leader's back (split brain) is noticed
// by the storages, which receive leader announcements from both: they send
// TRACKER_NOTIFY_RESELECT_LEADER and the trackers elect one leader again.
func TestSplitBrainResolvedByStorages(t *testing.T) {
	e := setup(t, 2)
	leader := e.waitLeader(all(2))
	for i := range 2 {
		e.waitActive(i)
	}
	rogue := others(2, leader)[0]
	for _, cmd := range []byte{protocol.CmdTrackerNotifyNextLeader, protocol.CmdTrackerCommitNextLeader} {
		// As the leader would: only trackers may send these.
		if _, err := callFrom(e.ips[leader], e.addr(rogue), cmd, leaderBody(e.addr(rogue))); err != nil {
			t.Fatalf("making tracker %d leader: %v", rogue, err)
		}
	}
	// Without the storages' RESELECT both would lead forever.
	e.waitLeader(all(2))
	for i := range 2 {
		e.waitActive(i)
	}
}
