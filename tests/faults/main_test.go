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
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/addrmoves"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
)

// waitLimit turns a hang into a failure; it is not a speed requirement.
// opTimeout bounds one client operation.
const (
	waitLimit = 60 * time.Second
	opTimeout = 30 * time.Second
)

// bin is the fdfs binary TestMain built ("" with -short).
var bin string

func TestMain(m *testing.M) { os.Exit(fdfsbin.RunTests(m, "fdfs-faults-", &bin)) }

func needBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fdfs binary")
	}
}

// proc is one daemon (`fdfs tracker|storage --config conf`), restartable.
type proc struct {
	t       *testing.T
	kind    string
	conf    string
	addr    string // where it listens
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

func newProc(t *testing.T, kind, conf, addr, logPath string) *proc {
	p := &proc{t: t, kind: kind, conf: conf, addr: addr, logPath: logPath}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			if len(b) > 16<<10 {
				b = b[len(b)-16<<10:]
			}
			t.Logf("%s output (tail):\n%s", filepath.Base(p.conf), b)
		}
	})
	return p
}

// start starts the process and waits until it listens.
func (p *proc) start() {
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
	testwait.For(p.t, waitLimit, p.kind+" listening on "+p.addr, func() error {
		select {
		case <-done:
			return fmt.Errorf("%s exited", p.kind)
		default:
		}
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() { p.signal(syscall.SIGKILL) }

// stop sends SIGTERM (a graceful stop) and waits until the process is gone.
func (p *proc) stop() { p.signal(syscall.SIGTERM) }

func (p *proc) signal(sig syscall.Signal) {
	if p.cmd == nil || p.done == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	<-p.done
	p.done = nil
}

// running tells whether the process was started and has not been stopped.
func (p *proc) running() bool { return p.done != nil }

// cluster is trackers and storages, each a process.
type cluster struct {
	tracker  *proc // trackers[0]
	trackers []*proc
	storages []*proc
	// addrMu guards the storages' addresses and moves, which the soak
	// changes (moveStorage) while its workers look them up (addrsOf,
	// sourceOf).
	addrMu     sync.RWMutex
	moves      addrmoves.Book // storages' address changes, as the trackers know them
	groups     []string       // groups[i] is the group of storages[i]
	storePaths []string
	client     *client.Client // configured with every tracker
	// writes is held (read) by every write a workload sends; a disk
	// loss (loseDisk) takes it to pause them all.
	writes sync.RWMutex
}

const (
	trackerPort = 22122
	storagePort = 23000
	group       = "group1"
)

const trackerConf = `disabled = false
bind_addr = %s
port = %d
base_path = %s
store_lookup = 2
reserved_storage_space = 1M
check_active_interval = 120
`

const storageConf = `disabled = false
group_name = %s
bind_addr = %s
client_bind = true
port = %d
base_path = %s
store_path_count = 1
store_path0 = %s
subdir_count_per_path = 4
%s
heart_beat_interval = 1
stat_report_interval = 1
sync_wait_msec = 10
`

// startCluster starts a tracker on trackerIP and one storage of group1
// per storageIP, and waits until the tracker lists every storage ACTIVE.
func startCluster(t *testing.T, trackerIP string, storageIPs ...string) *cluster {
	t.Helper()
	return startClusterConf(t, storageConf, trackerIP, storageIPs...)
}

// startClusterConf is startCluster with another storage.conf template
// (storageConf and keys of its own after it).
func startClusterConf(t *testing.T, sconfFormat, trackerIP string, storageIPs ...string) *cluster {
	t.Helper()
	return startTopology(t, sconfFormat, []string{trackerIP}, map[string][]string{group: storageIPs})
}

// startTopology starts one tracker per trackerIP and, for each group, one
// storage per IP (each storage lists every tracker; its storage.conf from
// the template sconfFormat, storageConf or keys added to it), and waits
// until the trackers list every storage ACTIVE.
func startTopology(t *testing.T, sconfFormat string, trackerIPs []string, groups map[string][]string) *cluster {
	t.Helper()
	dir := testDir(t)
	c := &cluster{}
	var taddrs, lines []string
	for i, ip := range trackerIPs {
		taddr := net.JoinHostPort(ip, fmt.Sprint(trackerPort))
		taddrs = append(taddrs, taddr)
		lines = append(lines, "tracker_server = "+taddr)
		tbase := filepath.Join(dir, fmt.Sprintf("tracker%d", i))
		mkdir(t, tbase)
		tconf := writeConf(t, filepath.Join(dir, fmt.Sprintf("tracker%d.conf", i)), trackerConf, ip, trackerPort, tbase)
		p := newProc(t, "tracker", tconf, taddr, filepath.Join(dir, fmt.Sprintf("tracker%d.log", i)))
		p.start()
		c.trackers = append(c.trackers, p)
	}
	c.tracker = c.trackers[0]
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	slices.Sort(names)
	for _, g := range names {
		for _, ip := range groups[g] {
			i := len(c.storages)
			base := filepath.Join(dir, fmt.Sprintf("storage%d", i))
			store := filepath.Join(base, "path0")
			mkdir(t, store)
			sconf := writeConf(t, filepath.Join(dir, fmt.Sprintf("storage%d.conf", i)), sconfFormat,
				g, ip, storagePort, base, store, strings.Join(lines, "\n"))
			p := newProc(t, "storage", sconf, net.JoinHostPort(ip, fmt.Sprint(storagePort)), filepath.Join(dir, fmt.Sprintf("storage%d.log", i)))
			p.start()
			c.storages = append(c.storages, p)
			c.groups = append(c.groups, g)
			c.storePaths = append(c.storePaths, store)
		}
	}
	cl, err := client.New(client.Config{Trackers: taddrs, ConnectTimeout: 2 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	c.client = cl
	c.waitActive(t)
	return c
}

// waitActive waits until a tracker lists every storage ACTIVE in its group.
func (c *cluster) waitActive(t *testing.T) {
	t.Helper()
	testwait.For(t, waitLimit, "every storage ACTIVE", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		active := map[string]bool{} // group/ip
		for _, g := range slices.Compact(slices.Sorted(slices.Values(c.groups))) {
			list, err := c.client.ListStorages(ctx, g, "")
			if err != nil {
				return err
			}
			for _, st := range list {
				if st.Status == protocol.StatusActive {
					active[g+"/"+st.IP] = true
				}
			}
		}
		for i, s := range c.storages {
			if ip, _, _ := net.SplitHostPort(s.addr); !active[c.groups[i]+"/"+ip] {
				return fmt.Errorf("%s of %s not active", ip, c.groups[i])
			}
		}
		return nil
	})
}

// testDir is a new directory for a test's daemons: under $FDFS_FAULTS_DIR,
// kept after the test for a post-mortem, when that is set; else removed.
func testDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("FDFS_FAULTS_DIR")
	if root == "" {
		return t.TempDir()
	}
	mkdir(t, root)
	dir, err := os.MkdirTemp(root, t.Name()+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("daemons' data and logs kept in %s", dir)
	return dir
}

func mkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeConf(t *testing.T, path, format string, args ...any) string {
	t.Helper()
	if err := os.WriteFile(path, fmt.Appendf(nil, format, args...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// content returns n pseudo-random bytes determined by seed.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b[:n]
}

// fetch downloads a whole file from one storage directly (DOWNLOAD_FILE on
// its address): the status and, for 0, the bytes.
func fetch(addr, fileID string) (byte, []byte, error) {
	// From the storage's own address: a member of its group gets what it
	// holds, where a client would get a file it lacks from the file's
	// source (storagenode/source_read.go).
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, nil, err
	}
	return fetchFrom(addr, fileID, host)
}

// verify checks every file of want on every storage of c, byte for byte,
// waiting up to waitLimit for replication to bring missing ones. A file
// served with other bytes is corrupt at once, but for a beginning of the
// acknowledged bytes: a replica of an appender file grows append by
// append, and is waited for too. One still missing or short at the end is
// lost or corrupt. It returns lost and corrupt (each problem is reported).
func (c *cluster) verify(t *testing.T, want map[string]func() []byte) (lost, corrupt int) {
	t.Helper()
	const short = "served with only"
	for _, s := range c.storages {
		pending := map[string]string{} // id -> last problem
		for id := range want {
			pending[id] = ""
		}
		deadline := time.Now().Add(waitLimit)
		for len(pending) > 0 {
			for id := range pending {
				st, got, err := fetch(s.addr, id)
				switch {
				case err != nil:
					pending[id] = err.Error()
				case st != 0:
					pending[id] = fmt.Sprintf("status %d", st)
				default:
					b := want[id]()
					if len(got) < len(b) && bytes.HasPrefix(b, got) {
						pending[id] = fmt.Sprintf("%s %d bytes of the acknowledged %d", short, len(got), len(b))
						continue
					}
					if !bytes.Equal(got, b) {
						t.Errorf("%s serves %s with %d bytes that differ from the acknowledged %d", s.addr, id, len(got), len(b))
						corrupt++
					}
					delete(pending, id)
				}
			}
			if len(pending) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for id, why := range pending {
			if strings.HasPrefix(why, short) {
				t.Errorf("%s: acknowledged %s still short after %v: %s", s.addr, id, waitLimit, why)
				corrupt++
				continue
			}
			t.Errorf("%s: acknowledged %s not served after %v: %s", s.addr, id, waitLimit, why)
			lost++
		}
	}
	return lost, corrupt
}

// tempFiles lists the files being written under a store path's data
// directories that have no final name yet: upload temp files, and the
// unnamed files (O_TMPFILE) a storage writes where the file system allows,
// found among the open descriptors of every process as /proc/PID/fd/N
// (os.Stat of that path gives the file's size).
func tempFiles(store string) []string {
	data := filepath.Join(store, "data")
	var out []string
	filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".upload-") && strings.HasSuffix(d.Name(), ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		// An unnamed file reads "<its directory>/#<inode> (deleted)".
		if target, err := os.Readlink(fd); err == nil && strings.HasPrefix(target, data+"/") &&
			strings.HasSuffix(target, " (deleted)") && strings.HasPrefix(filepath.Base(target), "#") {
			out = append(out, fd)
		}
	}
	return out
}

// counters are what the clients saw.
type counters struct {
	mu      sync.Mutex
	acked   int // operations acknowledged
	retried int // operations that failed and were retried
}

func (c *counters) ack() {
	c.mu.Lock()
	c.acked++
	c.mu.Unlock()
}

func (c *counters) fail() {
	c.mu.Lock()
	c.retried++
	c.mu.Unlock()
}

func (c *counters) get() (acked, retried int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked, c.retried
}

// waitMore waits until c counts n more acknowledged operations than now.
func (c *counters) waitMore(t *testing.T, n int, what string) {
	t.Helper()
	start, _ := c.get()
	testwait.Until(t, waitLimit, fmt.Sprintf("%d more %s", n, what), func() bool {
		a, _ := c.get()
		return a >= start+n
	})
}
