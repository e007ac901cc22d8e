package faults

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
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
