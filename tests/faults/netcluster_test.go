package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// The timeouts of the network tests, in seconds: short, so that a fault
// held for a few of them shows whether anything waits past them.
const (
	netConnectTimeout = 1
	netNetworkTimeout = 2
	netCheckActive    = 3 // the tracker's check_active_interval
)

// netAddrs are the addresses of a netCluster: the tracker, each storage's
// own (bind) address, the public address the tracker lists it at (its
// proxy), and the port of its proxied link to the tracker.
type netAddrs struct {
	tracker      string
	bind, public [2]string
	tlinkPort    [2]int // where storage i reaches the tracker, on its IP
	storagePort  int
}

// netCluster is a tracker and two storages of group1 in id mode
// (storage_ids.conf gives each id its public address) where every link
// goes through a faultProxy: storage i's link to the tracker through
// tlink[i] (dialing from its public address, so that the tracker sees
// that one), and every connection to storage i, from the other storage or
// a client, through peer[i] on its public address. The clients talk to the
// tracker directly.
//
// The tracker listens on an ephemeral port of its IP (port = 0 in its
// conf) and the tracker links on fixed ports of the same IP: a tracker
// takes the tracker_server lines of a JOIN that are not its own address
// for other trackers (to copy its state from, to elect a leader with), and
// with port 0 any port on its IP is its own.
type netCluster struct {
	*cluster
	a     netAddrs
	ids   [2]string
	peer  [2]*faultProxy
	tlink [2]*faultProxy
	pids  [3]int // storage 0, storage 1, the tracker
}

const netTrackerConf = `disabled = false
bind_addr = %s
port = 0
base_path = %s
store_lookup = 0
store_group = group1
store_server = 0
download_server = 0
reserved_storage_space = 1M
connect_timeout = %d
network_timeout = %d
check_active_interval = %d
use_storage_id = true
storage_ids_filename = %s
id_type_in_filename = id
`

const netStorageConf = `disabled = false
group_name = group1
bind_addr = %s
client_bind = true
port = %d
base_path = %s
store_path_count = 1
store_path0 = %s
subdir_count_per_path = 4
tracker_server = %s
connect_timeout = %d
network_timeout = %d
heart_beat_interval = 1
stat_report_interval = 1
sync_wait_msec = 10
`

func startNetCluster(t *testing.T, a netAddrs) *netCluster {
	t.Helper()
	dir := t.TempDir()
	nc := &netCluster{cluster: &cluster{}, a: a, ids: [2]string{"100001", "100002"}}
	idsConf := writeConf(t, filepath.Join(dir, "storage_ids.conf"), "%s group1 %s\n%s group1 %s\n",
		nc.ids[0], a.public[0], nc.ids[1], a.public[1])
	tbase := filepath.Join(dir, "tracker")
	mkdir(t, tbase)
	tconf := writeConf(t, filepath.Join(dir, "tracker.conf"), netTrackerConf, a.tracker, tbase,
		netConnectTimeout, netNetworkTimeout, netCheckActive, idsConf)
	nc.tracker = newProc(t, "tracker", tconf, "", filepath.Join(dir, "tracker.log"))
	startEphemeral(nc.tracker)
	nc.pids[2] = nc.tracker.cmd.Process.Pid
	taddr := nc.tracker.addr
	port := fmt.Sprint(a.storagePort)
	for i := range 2 {
		nc.peer[i] = newFaultProxy(t, net.JoinHostPort(a.public[i], port), net.JoinHostPort(a.bind[i], port),
			map[string]string{a.bind[1-i]: a.public[1-i]})
		nc.tlink[i] = newFaultProxy(t, net.JoinHostPort(a.tracker, fmt.Sprint(a.tlinkPort[i])), taddr,
			map[string]string{"": a.public[i]})
		base := filepath.Join(dir, fmt.Sprintf("storage%d", i))
		store := filepath.Join(base, "path0")
		mkdir(t, store)
		sconf := writeConf(t, filepath.Join(dir, fmt.Sprintf("storage%d.conf", i)), netStorageConf, a.bind[i], a.storagePort,
			base, store, nc.tlink[i].addr, netConnectTimeout, netNetworkTimeout)
		p := newProc(t, "storage", sconf, net.JoinHostPort(a.bind[i], port), filepath.Join(dir, fmt.Sprintf("storage%d.log", i)))
		p.start()
		nc.pids[i] = p.cmd.Process.Pid
		nc.storages = append(nc.storages, p)
		nc.storePaths = append(nc.storePaths, store)
	}
	cl, err := client.New(client.Config{Trackers: []string{taddr},
		ConnectTimeout: netConnectTimeout * time.Second, NetworkTimeout: netNetworkTimeout * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	nc.client = cl
	for i := range 2 {
		nc.waitStatus(t, i, protocol.StatusActive)
	}
	return nc
}

// status returns storage i's status as the tracker lists it.
func (nc *netCluster) status(i int) (byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := nc.client.ListStorages(ctx, group, "")
	if err != nil {
		return 0, err
	}
	for _, st := range list {
		if st.ID == nc.ids[i] {
			return st.Status, nil
		}
	}
	return 0, fmt.Errorf("storage %s not listed", nc.ids[i])
}

// waitStatus waits until the tracker lists storage i with status want.
func (nc *netCluster) waitStatus(t *testing.T, i int, want byte) {
	t.Helper()
	what := fmt.Sprintf("storage %s %s", nc.ids[i], protocol.StorageStatusName(want))
	testwait.For(t, waitLimit, what, func() error {
		st, err := nc.status(i)
		if err != nil {
			return err
		}
		if st != want {
			return fmt.Errorf("%s", protocol.StorageStatusName(st))
		}
		return nil
	})
}

// fds counts the open file descriptors (sockets included) of storage i,
// or of the tracker for i = 2.
func (nc *netCluster) fds(i int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", nc.pids[i]))
	return len(ents)
}

// heal lifts every fault of every proxy.
func (nc *netCluster) heal() {
	for i := range 2 {
		nc.peer[i].heal()
		nc.tlink[i].heal()
	}
}

// daemonStall returns the longest time a daemon or client kept a
// connection held by a fault before closing it, over every proxy, and
// resets the figures.
func (nc *netCluster) daemonStall() (closed, outlived time.Duration) {
	for _, p := range []*faultProxy{nc.peer[0], nc.peer[1], nc.tlink[0], nc.tlink[1]} {
		c, o := p.stalls()
		closed, outlived = max(closed, c), max(outlived, o)
	}
	return closed, outlived
}

// ackedFile is an acknowledged upload.
type ackedFile struct {
	id   string
	seed uint64
	size int
	at   time.Time
}

// phaseStats is what the load saw during one phase.
type phaseStats struct {
	name                          string
	uploads, uploadFails          int
	reads, readMissing, readWrong int
	readMissingYoung              int // ENOENT for a file acknowledged < readAge before
	readFails                     int // errors other than ENOENT: unreachable, timeout
	longestOp                     time.Duration
	statuses                      map[string]bool // storage 0's statuses seen
	daemonStall                   time.Duration
	outlived                      time.Duration // longest stall the heal ended
	held                          time.Duration // how long the fault was held
	caughtUp                      time.Duration // from the heal until both replicas had every file
	toOffline, toActive           time.Duration // from the fault until the tracker listed storage 0 OFFLINE, from the heal until both ACTIVE
	backlog                       [2]int        // files acknowledged during the fault that storage i lacked when it was lifted
}

// netLoad uploads (round robin over both storages) and reads files back
// the way a client reads: asks the tracker for a storage (QUERY_FETCH_ONE)
// and downloads there, checking the bytes.
type netLoad struct {
	cl     *client.Client
	mu     sync.Mutex
	acked  []ackedFile
	cur    *phaseStats
	phases []*phaseStats // every phase so far, cur last
	stop   chan struct{}
	wg     sync.WaitGroup
}

// uploadPause is each uploader's pause after an acknowledged upload: a
// steady load of about 10 files (330 KB) a second per uploader, not a
// benchmark that fills the disk.
const uploadPause = 100 * time.Millisecond

// readAge: a routed read of a file acknowledged at least this long before
// must never get ENOENT: unfaulted sync takes milliseconds. A younger file
// may be missing only where the tracker, with the source OFFLINE, falls
// back to the store server (upstream does the same); elsewhere the tracker
// sends a read to a replica only once its sync from the source has passed
// the file's timestamp, whatever the file's age.
const readAge = time.Second

func startNetLoad(cl *client.Client, uploaders, readers int) *netLoad {
	l := &netLoad{cl: cl, stop: make(chan struct{})}
	l.phase("warm-up")
	for w := range uploaders {
		l.wg.Add(1)
		go l.upload(uint64(w))
	}
	for w := range readers {
		l.wg.Add(1)
		go l.read(uint64(w))
	}
	return l
}

func (l *netLoad) stopAll() {
	close(l.stop)
	l.wg.Wait()
}

// phase starts counting into a new phaseStats and returns it.
func (l *netLoad) phase(name string) *phaseStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = &phaseStats{name: name, statuses: map[string]bool{}}
	l.phases = append(l.phases, l.cur)
	return l.cur
}

func (l *netLoad) record(f func(ps *phaseStats), took time.Duration) {
	l.mu.Lock()
	f(l.cur)
	l.cur.longestOp = max(l.cur.longestOp, took)
	l.mu.Unlock()
}

func (l *netLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *netLoad) upload(w uint64) {
	defer l.wg.Done()
	r := rand.New(rand.NewPCG(w, 7))
	for n := uint64(0); !l.stopped(); n++ {
		seed := w<<32 | n
		size := 1 + r.IntN(64<<10)
		b := content(seed, size)
		for !l.stopped() {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			start := time.Now()
			id, err := l.cl.Upload(ctx, bytes.NewReader(b), int64(size), client.UploadOptions{Ext: "bin"})
			cancel()
			took := time.Since(start)
			if err == nil {
				l.mu.Lock()
				l.acked = append(l.acked, ackedFile{id, seed, size, time.Now()})
				l.mu.Unlock()
				l.record(func(ps *phaseStats) { ps.uploads++ }, took)
				time.Sleep(uploadPause)
				break
			}
			l.record(func(ps *phaseStats) { ps.uploadFails++ }, took)
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (l *netLoad) read(w uint64) {
	defer l.wg.Done()
	r := rand.New(rand.NewPCG(w, 11))
	for !l.stopped() {
		l.mu.Lock()
		if len(l.acked) == 0 {
			l.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		// Recent files: those the faults are about.
		f := l.acked[len(l.acked)-1-r.IntN(min(len(l.acked), 200))]
		l.mu.Unlock()
		start := time.Now()
		st, got, err := l.fetchRouted(f.id)
		took := time.Since(start)
		young := start.Sub(f.at) < readAge

		l.record(func(ps *phaseStats) {
			ps.reads++
			switch {
			case err != nil:
				ps.readFails++
			case st == protocol.ENOENT && young:
				ps.readMissingYoung++
			case st == protocol.ENOENT:
				ps.readMissing++
			case st != 0:
				ps.readFails++
			case !bytes.Equal(got, content(f.seed, f.size)):
				ps.readWrong++
			}
		}, took)
		time.Sleep(5 * time.Millisecond)
	}
}

// fetchRouted asks the tracker where to read id and downloads it there,
// each step bounded by the client's network timeout.
func (l *netLoad) fetchRouted(id string) (byte, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	srv, err := l.cl.QueryFetch(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	g, name, err := fileid.Split(id)
	if err != nil {
		return 0, nil, err
	}
	c, err := net.DialTimeout("tcp", srv.Addr(), netConnectTimeout*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(netNetworkTimeout * time.Second))
	req := (&protocol.DownloadRequest{Group: g, Name: name}).Encode()
	pkt := append(protocol.Header{Length: int64(len(req)), Cmd: protocol.CmdDownloadFile}.Bytes(), req...)
	if _, err := c.Write(pkt); err != nil {
		return 0, nil, err
	}
	h, err := protocol.ReadHeader(c)
	if err != nil {
		return 0, nil, err
	}
	body, err := protocol.ReadBody(c, h, 1<<20)
	return h.Status, body, err
}

// since returns the files acknowledged at or after t.
func (l *netLoad) since(t time.Time) []ackedFile {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.acked), func(i int) bool { return !l.acked[i].at.Before(t) })
	return append([]ackedFile(nil), l.acked[i:]...)
}

// waitReplicated waits until every file of files is on both storages
// (asked directly, on their own addresses) with its bytes, and returns how
// long that took; a file served with other bytes fails the test at once.
func (nc *netCluster) waitReplicated(t *testing.T, files []ackedFile) time.Duration {
	t.Helper()
	start := time.Now()
	pending := map[[2]string]ackedFile{}
	for _, f := range files {
		for _, s := range nc.storages {
			pending[[2]string{s.addr, f.id}] = f
		}
	}
	testwait.For(t, waitLimit, fmt.Sprintf("%d files on both storages", len(files)), func() error {
		var last string
		for k, f := range pending {
			st, got, err := fetch(k[0], f.id)
			switch {
			case err != nil:
				last = err.Error()
			case st != 0:
				last = fmt.Sprintf("%s: %s status %d", k[0], f.id, st)
			default:
				if !bytes.Equal(got, content(f.seed, f.size)) {
					t.Errorf("%s serves %s with bytes that differ from the acknowledged ones", k[0], f.id)
				}
				delete(pending, k)
			}
		}
		if len(pending) > 0 {
			return fmt.Errorf("%d missing, e.g. %s", len(pending), last)
		}
		return nil
	})
	return time.Since(start)
}

// missing counts, per storage, the files of files it does not serve yet
// (asked directly, on its own address).
func (nc *netCluster) missing(files []ackedFile) [2]int {
	var n [2]int
	for i, s := range nc.storages {
		for _, f := range files {
			if st, _, err := fetch(s.addr, f.id); err != nil || st != 0 {
				n[i]++
			}
		}
	}
	return n
}

func (ps *phaseStats) String() string {
	var st []string
	for s := range ps.statuses {
		st = append(st, s)
	}
	sort.Strings(st)
	return fmt.Sprintf("%-28s uploads %4d ok %3d failed | reads %4d, ENOENT %d (+%d young), wrong %d, failed %3d | longest client op %5.2fs | fault %4.1fs, longest stall closed %4.2fs, healed %4.2fs | storage 0: %s (OFFLINE after %.1fs, both ACTIVE %.1fs after the heal) | missing at the heal %d/%d, caught up %.2fs",
		ps.name, ps.uploads, ps.uploadFails, ps.reads, ps.readMissing, ps.readMissingYoung, ps.readWrong, ps.readFails,
		ps.longestOp.Seconds(), ps.held.Seconds(), ps.daemonStall.Seconds(), ps.outlived.Seconds(), strings.Join(st, ","), ps.toOffline.Seconds(), ps.toActive.Seconds(), ps.backlog[0], ps.backlog[1], ps.caughtUp.Seconds())
}

// startEphemeral starts a tracker whose conf says port = 0 and sets
// p.addr to the address it logs.
func startEphemeral(p *proc) {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(bin, p.kind, "--config", p.conf)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.kind, err)
	}
	done := make(chan struct{})
	p.done = done
	go func() {
		p.cmd.Wait()
		logf.Close()
		close(done)
	}()
	started := regexp.MustCompile(`msg="tracker started" addr=(\S+)`)
	testwait.For(p.t, waitLimit, "tracker started", func() error {
		select {
		case <-done:
			return fmt.Errorf("%s exited", p.kind)
		default:
		}
		b, _ := os.ReadFile(p.logPath)
		m := started.FindSubmatch(b)
		if m == nil {
			return fmt.Errorf("no start line in its log")
		}
		p.addr = string(m[1])
		return nil
	})
}
