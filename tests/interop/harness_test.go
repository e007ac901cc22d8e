package interop

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// impl says whose daemon a node runs.
type impl string

const (
	ours     impl = "ours"     // the fdfs binary built from this tree
	upstream impl = "upstream" // fdfs_trackerd / fdfs_storaged of the reference build
)

const (
	trackerPort = 22122
	storagePort = 23000 // every storage of a group on the same port (IP mode), each on its own IP
	subdirCount = 4     // subdir_count_per_path: small, so first starts are fast
	waitLimit   = 60 * time.Second
	activeLimit = 40 * time.Second // for storages to turn ACTIVE
	stopLimit   = 20 * time.Second // SIGTERM, then SIGKILL
	logTail     = 60               // lines of each log printed when a test fails
)

// env is the set of processes of one test, under one t.TempDir().
type env struct {
	t          *testing.T
	dir        string
	work       string // working directory of the tools
	nodes      []*node
	clientConf string // client.conf for the C tools and the Java client
	idsFile    string // storage_ids.conf in storage-id mode, "" in IP mode
	// tools says whose client programs run calls: upstream's, or ours
	// (the fdfs binary under the program's name) for those it provides.
	tools impl
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.work = e.mkdir("work")
	t.Cleanup(e.close) // runs before the TempDir removal (LIFO)
	return e
}

func (e *env) mkdir(parts ...string) string {
	e.t.Helper()
	p := filepath.Join(append([]string{e.dir}, parts...)...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// node is one daemon: its conf file, directories and current process.
type node struct {
	e     *env
	name  string // e.g. "tracker-ours", "storage2-upstream"
	role  string // "tracker" or "storage"
	impl  impl
	ip    string
	port  int
	group string
	id    string // storage id (id mode)
	base  string // base_path
	store string // store_path0 (storages)
	// extraStores are store_path1... (withStorePaths).
	extraStores []string
	conf        string
	out         string // stdout+stderr of every run of the process
	trackers    []*node
	override    map[string]string // conf keys replacing the generated values
	bindShim    string            // upstream only: LD_PRELOAD library binding outgoing sockets to ip

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	starts  int
}

func (n *node) addr() string { return net.JoinHostPort(n.ip, strconv.Itoa(n.port)) }

func (n *node) String() string { return n.name + "@" + n.addr() }

// addTracker creates (and starts) a tracker.
func (e *env) addTracker(im impl, override ...string) *node {
	e.t.Helper()
	n := e.newNode("tracker", im, trackerPort, override)
	n.writeConf()
	n.start()
	return n
}

// addStorage creates (and starts) a storage of group reporting to trackers.
func (e *env) addStorage(im impl, group string, trackers []*node, override ...string) *node {
	e.t.Helper()
	n := e.newStorage(im, group, override...)
	n.run(trackers...)
	return n
}

// newStorage creates a storage without starting it (see run).
func (e *env) newStorage(im impl, group string, override ...string) *node {
	e.t.Helper()
	n := e.newNode("storage", im, storagePort, override)
	n.group = group
	n.id = strconv.Itoa(100000 + len(e.storages()))
	return n
}

// run writes the storage's conf file, naming trackers, and starts it.
func (n *node) run(trackers ...*node) {
	n.e.t.Helper()
	n.trackers = trackers
	n.writeConf()
	n.start()
}

// ipsOf lists the nodes' addresses.
func ipsOf(nodes []*node) []string {
	var ips []string
	for _, n := range nodes {
		ips = append(ips, n.ip)
	}
	return ips
}

func (e *env) storages() []*node {
	var out []*node
	for _, n := range e.nodes {
		if n.role == "storage" {
			out = append(out, n)
		}
	}
	return out
}

// useStorageIDs switches the env to storage-id mode: it writes
// storage_ids.conf ("<id> <group> <ip>") for the storages created so far,
// which trackers and clients created afterwards use (id_type_in_filename =
// id: file names carry the id).
func (e *env) useStorageIDs() {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("# storage_ids.conf, written by tests/interop\n")
	for _, n := range e.storages() {
		fmt.Fprintf(&b, "%s %s %s\n", n.id, n.group, n.ip)
	}
	e.idsFile = filepath.Join(e.dir, "storage_ids.conf")
	if err := os.WriteFile(e.idsFile, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// idOrIP is how trackers name the storage: its id in id mode, else its IP.
func (n *node) idOrIP() string {
	if n.e.idsFile != "" {
		return n.id
	}
	return n.ip
}

func (e *env) newNode(role string, im impl, port int, override []string) *node {
	e.t.Helper()
	idx := 1
	for _, o := range e.nodes {
		if o.role == role {
			idx++
		}
	}
	name := fmt.Sprintf("%s%d-%s", role, idx, im)
	n := &node{e: e, name: name, role: role, impl: im, port: port, ip: freeIP(e.t, port),
		base: e.mkdir(name), override: map[string]string{}}
	if role == "storage" {
		n.store = e.mkdir(name, "store0")
	}
	n.conf = filepath.Join(e.dir, name+".conf")
	n.out = filepath.Join(e.dir, name+".out")
	for _, kv := range override {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			e.t.Fatalf("bad override %q", kv)
		}
		n.override[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	e.nodes = append(e.nodes, n)
	return n
}

// freeIP returns a random loopback address 127.x.y.z (x ≥ 1, z in 1..254)
// where port can be listened on now.
func freeIP(t *testing.T, port int) string {
	t.Helper()
	var err error
	for range 50 {
		ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
		var l net.Listener
		if l, err = net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			l.Close()
			return ip
		}
	}
	t.Fatalf("no free loopback address for port %d: %v", port, err)
	return ""
}

// The conf files: the upstream format, every key understood by both
// implementations, values chosen for fast tests (1 s beats, 10 ms sync
// polls, 4×4 data dirs). Both daemons get the same file.
func (n *node) confPairs() [][2]string {
	if n.role == "tracker" {
		ids := [][2]string{{"use_storage_id", "false"}}
		if n.e.idsFile != "" {
			ids = [][2]string{{"use_storage_id", "true"}, {"storage_ids_filename", n.e.idsFile},
				{"id_type_in_filename", "id"}, {"trust_storage_server_id", "false"}}
		}
		return append([][2]string{
			{"disabled", "false"},
			{"bind_addr", n.ip},
			{"port", strconv.Itoa(n.port)},
			{"connect_timeout", "5"},
			{"network_timeout", "60"},
			{"base_path", n.base},
			{"max_connections", "256"},
			{"accept_threads", "1"},
			{"work_threads", "4"},
			{"store_lookup", "0"},
			{"store_group", ""},
			{"store_server", "0"},
			{"store_path", "0"},
			{"download_server", "0"},
			{"reserved_storage_space", "1M"},
			{"log_level", "info"},
			{"run_by_group", ""},
			{"run_by_user", ""},
			{"allow_hosts", "*"},
			{"sync_log_buff_interval", "1"},
			{"check_active_interval", "120"},
			{"thread_stack_size", "256KB"},
			{"storage_ip_changed_auto_adjust", "true"},
			{"storage_sync_file_max_delay", "86400"},
			{"storage_sync_file_max_time", "300"},
			{"use_trunk_file", "false"},
			{"use_connection_pool", "false"},
		}, ids...)
	}
	pairs := [][2]string{
		{"disabled", "false"},
		{"group_name", n.group},
		{"bind_addr", n.ip},
		{"client_bind", "true"},
		{"port", strconv.Itoa(n.port)},
		{"connect_timeout", "5"},
		{"network_timeout", "60"},
		{"heart_beat_interval", "1"},
		{"stat_report_interval", "1"},
		{"base_path", n.base},
		{"max_connections", "256"},
		{"buff_size", "256KB"},
		{"accept_threads", "1"},
		{"work_threads", "4"},
		{"disk_rw_separated", "true"},
		{"disk_reader_threads", "1"},
		{"disk_writer_threads", "1"},
		{"sync_wait_msec", "10"},
		{"sync_interval", "0"},
		{"sync_start_time", "00:00"},
		{"sync_end_time", "23:59"},
		{"write_mark_file_freq", "500"},
		{"disk_recovery_threads", "1"},
		{"store_path_count", strconv.Itoa(len(n.storePaths()))},
	}
	for i, p := range n.storePaths() {
		pairs = append(pairs, [2]string{fmt.Sprintf("store_path%d", i), p})
	}
	pairs = append(pairs, [2]string{"subdir_count_per_path", strconv.Itoa(subdirCount)})
	for _, tr := range n.trackers {
		pairs = append(pairs, [2]string{"tracker_server", tr.addr()})
	}
	return append(pairs, [][2]string{
		{"log_level", "info"},
		{"run_by_group", ""},
		{"run_by_user", ""},
		{"allow_hosts", "*"},
		{"file_distribute_path_mode", "0"},
		{"file_distribute_rotate_count", "100"},
		{"fsync_after_written_bytes", "0"},
		{"sync_log_buff_interval", "1"},
		{"sync_binlog_buff_interval", "1"},
		{"sync_stat_file_interval", "1"},
		{"thread_stack_size", "512KB"},
		{"upload_priority", "10"},
		{"if_alias_prefix", ""},
		{"check_file_duplicate", "0"},
		{"file_signature_method", "hash"},
		{"key_namespace", "FastDFS"},
		{"keep_alive", "0"},
		{"use_access_log", "false"},
		{"file_sync_skip_invalid_record", "false"},
		{"use_connection_pool", "false"},
		{"connection_pool_max_idle_time", "3600"},
		{"compress_binlog", "false"},
		{"check_store_path_mark", "true"},
		{"http.domain_name", ""},
	}...)
}

func (n *node) writeConf() {
	n.e.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s.conf (upstream FastDFS V6 format), written by tests/interop for %s\n", n.role, n.name)
	seen := map[string]bool{}
	for _, kv := range n.confPairs() {
		v := kv[1]
		if lvl := os.Getenv("FDFS_INTEROP_LOG_LEVEL"); kv[0] == "log_level" && lvl != "" {
			v = lvl // e.g. debug, to see more when a test fails
		}
		if o, ok := n.override[kv[0]]; ok {
			v = o
		}
		seen[kv[0]] = true
		fmt.Fprintf(&b, "%s = %s\n", kv[0], v)
	}
	for k, v := range n.override {
		if !seen[k] {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	if err := os.WriteFile(n.conf, []byte(b.String()), 0o644); err != nil {
		n.e.t.Fatal(err)
	}
}

// refEnv is the environment of every upstream program.
func refEnv() []string {
	env := os.Environ()
	lib := refLib
	if old := os.Getenv("LD_LIBRARY_PATH"); old != "" {
		lib += ":" + old
	}
	return append(env, "LD_LIBRARY_PATH="+lib)
}

// start runs the daemon in the foreground and waits until it listens.
func (n *node) start() {
	n.e.t.Helper()
	n.launch()
	n.waitListening()
}

// launch starts the daemon without waiting for it to listen (upstream's
// storage listens only once a disk recovery is over).
func (n *node) launch() {
	t := n.e.t
	t.Helper()
	if n.running() {
		t.Fatalf("%s already running", n)
	}
	f, err := os.OpenFile(n.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	n.starts++
	fmt.Fprintf(f, "==== %s: start #%d of %s\n", time.Now().Format("15:04:05.000"), n.starts, n)
	var cmd *exec.Cmd
	if n.impl == ours {
		cmd = exec.Command(ourBin, n.role, "--config", n.conf)
	} else {
		daemon := map[string]string{"tracker": "fdfs_trackerd", "storage": "fdfs_storaged"}[n.role]
		cmd = exec.Command(filepath.Join(refBin, daemon), "-N", n.conf)
		cmd.Env = refEnv()
		if n.bindShim != "" {
			cmd.Env = append(cmd.Env, "LD_PRELOAD="+n.bindShim, "FDFS_BIND_IP="+n.ip)
		}
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = daemonAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", n, err)
	}
	done := make(chan struct{})
	n.cmd, n.done = cmd, done
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "==== %s: %s exited: %v\n", time.Now().Format("15:04:05.000"), n.name, err)
		f.Close()
		n.waitErr = err
		close(done)
	}()
}

func (n *node) running() bool {
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

func (n *node) waitListening() {
	t := n.e.t
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c, err := net.DialTimeout("tcp", n.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if !n.running() {
			t.Fatalf("%s exited before listening: %v", n, n.waitErr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after %v: %v", n, waitLimit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits (SIGKILL after stopLimit). It returns the
// exit error, or an error saying it had to be killed.
func (n *node) stop() error { return n.stopWithin(stopLimit) }

// stopWithin is stop with its own limit.
func (n *node) stopWithin(limit time.Duration) error {
	if !n.running() {
		return nil
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return n.waitErr
	case <-time.After(limit):
	}
	n.cmd.Process.Kill()
	<-n.done
	return fmt.Errorf("%s still running %v after SIGTERM, killed", n, limit)
}

// kill9 kills the daemon with SIGKILL, as a crash would.
func (n *node) kill9() {
	if !n.running() {
		return
	}
	n.cmd.Process.Kill()
	<-n.done
}

// close stops every process and, if the test failed, prints the end of
// every log.
func (e *env) close() {
	for i := len(e.nodes) - 1; i >= 0; i-- {
		if err := e.nodes[i].stop(); err != nil && e.nodes[i].impl == ours {
			e.t.Logf("stop %s: %v", e.nodes[i], err)
		}
	}
	if e.t.Failed() {
		e.dumpLogs()
		e.keep()
	}
}

// keep copies the failed test's folder (confs, logs, binlogs, marks and
// store paths) into $FDFS_INTEROP_KEEP, which outlives the test.
func (e *env) keep() {
	root := os.Getenv("FDFS_INTEROP_KEEP")
	if root == "" {
		return
	}
	dst := filepath.Join(root, strings.NewReplacer("/", "_", " ", "_").Replace(e.t.Name())+time.Now().Format("-150405"))
	if err := os.CopyFS(dst, os.DirFS(e.dir)); err != nil {
		e.t.Logf("keeping %s: %v", e.dir, err)
		return
	}
	e.t.Logf("the test's folder is kept in %s", dst)
}

func (e *env) dumpLogs() {
	for _, n := range e.nodes {
		files := []string{n.out}
		logs, _ := filepath.Glob(filepath.Join(n.base, "logs", "*.log"))
		files = append(files, logs...)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			e.t.Logf("---- %s: last lines of %s:\n%s", n.name, f, tailLines(string(b), logTail))
		}
	}
}

// tailLines returns the last n lines of a log, a run of lines that agree
// in their first 80 characters after the timestamp counted as one (an
// upstream daemon logs a warning per file: the tail was that warning
// only).
func tailLines(s string, n int) string {
	var lines []string
	var lastKey string
	repeats := 0
	flush := func() {
		if repeats > 0 {
			lines = append(lines, fmt.Sprintf("    (%d more like the line above)", repeats))
			repeats = 0
		}
	}
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		key := l
		if i := strings.Index(l, "] "); i >= 0 && i < 32 {
			key = l[i+2:]
		}
		key = key[:min(len(key), 80)]
		if key == lastKey && len(lines) > 0 {
			repeats++
			continue
		}
		flush()
		lines = append(lines, l)
		lastKey = key
	}
	flush()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitActive waits until fdfs_monitor shows every storage ACTIVE.
func (e *env) waitActive(storages ...*node) {
	e.t.Helper()
	deadline := time.Now().Add(activeLimit)
	for {
		groups, r := e.monitor()
		missing := []string{}
		for _, n := range storages {
			g := findGroup(groups, n.group)
			var s *monStorage
			if g != nil {
				s = g.storage(n.ip)
			}
			if s == nil || s.status != "ACTIVE" {
				st := "absent"
				if s != nil {
					st = s.status
				}
				missing = append(missing, fmt.Sprintf("%s: %s", n, st))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("storages not ACTIVE after %v: %s\n%s", activeLimit, strings.Join(missing, "; "), r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ---- files on disk

// pathOf is where a storage keeps a file ID of its group:
// <store_pathN>/data/HH/LL/<name> for MNN (N in hex).
func (n *node) pathOf(fileID string) string {
	_, rest, ok := strings.Cut(fileID, "/") // group
	if !ok {
		return ""
	}
	m, rest, ok := strings.Cut(rest, "/") // M00
	if !ok || len(m) != 3 || m[0] != 'M' {
		return ""
	}
	idx, err := strconv.ParseUint(m[1:], 16, 8)
	stores := n.storePaths()
	if err != nil || int(idx) >= len(stores) {
		return ""
	}
	return filepath.Join(stores[idx], "data", filepath.FromSlash(rest))
}

// withStorePaths gives a storage not yet run count store paths:
// store_path0 (n.store) and count-1 more.
func (n *node) withStorePaths(count int) *node {
	for i := 1; i < count; i++ {
		n.extraStores = append(n.extraStores, n.e.mkdir(n.name, fmt.Sprintf("store%d", i)))
	}
	return n
}

// storePaths lists a storage's store paths, store_path0 first.
func (n *node) storePaths() []string { return append([]string{n.store}, n.extraStores...) }

// diskState describes a file on a storage's disk for messages.
func diskState(path string, want []byte) string {
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		return "missing"
	case want != nil && !bytes.Equal(b, want):
		return fmt.Sprintf("%d bytes, differ from the %d expected", len(b), len(want))
	}
	return fmt.Sprintf("%d bytes, ok", len(b))
}

// waitOnDisk waits until every storage has fileID with exactly want.
func (e *env) waitOnDisk(fileID string, want []byte, storages ...*node) {
	e.t.Helper()
	e.waitDisk(fileID, storages, func(b []byte, err error) bool { return err == nil && bytes.Equal(b, want) },
		func(p string) string { return diskState(p, want) })
}

// waitGone waits until no storage has fileID (nor its metadata file).
func (e *env) waitGone(fileID string, storages ...*node) {
	e.t.Helper()
	for _, id := range []string{fileID, fileID + "-m"} {
		e.waitDisk(id, storages, func(_ []byte, err error) bool { return errors.Is(err, os.ErrNotExist) },
			func(p string) string { return "still there: " + diskState(p, nil) })
	}
}

// waitSameOnDisk waits until every storage has fileID, identical, and
// returns the content.
func (e *env) waitSameOnDisk(fileID string, storages ...*node) []byte {
	e.t.Helper()
	var first []byte
	e.waitDisk(fileID, storages[1:], func(b []byte, err error) bool {
		var ferr error
		first, ferr = os.ReadFile(storages[0].pathOf(fileID))
		return ferr == nil && err == nil && bytes.Equal(b, first)
	}, func(p string) string { return diskState(p, first) })
	return first
}

func (e *env) waitDisk(fileID string, storages []*node, ok func([]byte, error) bool, describe func(string) string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var bad []string
		for _, n := range storages {
			p := n.pathOf(fileID)
			b, err := os.ReadFile(p)
			if !ok(b, err) {
				bad = append(bad, fmt.Sprintf("%s: %s", n.name, describe(p)))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s not as expected on disk after 30s: %s", fileID, strings.Join(bad, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- test data

// randBytes returns n pseudo-random bytes from seed.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeLocal writes a local file under e.work and returns its path.
func (e *env) writeLocal(name string, data []byte) string {
	e.t.Helper()
	p := filepath.Join(e.work, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}
