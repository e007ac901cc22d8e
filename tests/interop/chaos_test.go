package interop

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// chaosDuration is how long TestMixedChaos restarts daemons under load.
const chaosDuration = 40 * time.Second

// upstreamStopLimit bounds a stop: upstream's storage, on SIGTERM, writes
// its binlog buffer out, then waits for its threads up to 90 s (at times
// all of it); a SIGKILL meanwhile loses the records of the changes its
// threads finish after that write.
const upstreamStopLimit = 100 * time.Second

// TestMixedChaos runs one group of an upstream storage and one of ours,
// under an upstream tracker and one of ours, with a client load of
// uploads (some with metadata, one in twenty empty), appender files
// changed by append, modify and truncate, metadata overwritten and
// merged, and deletes, while the daemons are stopped and started again
// one at a time: ours with SIGKILL or SIGTERM, upstream's with SIGTERM
// (upstream's storage buffers its binlog for sync_binlog_buff_interval,
// so a SIGKILL loses the records of its last uploads and those files are
// never replicated: upstream's own limit, not a mixed cluster's).
//
// Only files of our storage are truncated: upstream's storage, replicating
// an append or a modify, skips it when the file has since been truncated
// below the range's end (storage_sync.c storage_sync_modify_file), and the
// truncate that follows is then refused by the replica (its size is not
// the truncate's old size): the copies differ for good, between two
// upstream storages as well (TestTruncateWhilePeerDown). Ours sends such a
// file whole.
//
// Changes go to the file's source storage directly (as a client with a
// cached route would): a change routed to the other storage while the
// source is down races the source's own unreplicated changes, which
// FastDFS does not order. A change, upload or delete that fails takes
// its file out of the model (it may or may not have landed), but not
// out of the check that both storages end up with the same files.
//
// At the end both store paths must hold the same files, every file the
// model knows with its bytes and metadata, every deleted one gone.
func TestMixedChaos(t *testing.T) {
	e := newEnv(t)
	trackers := e.addBoundTrackers(ours, upstream)
	trOurs, trUp := trackers[0], trackers[1]
	stUp := e.addStorage(upstream, "group1", trackers)
	stOurs := e.addStorage(ours, "group1", trackers)
	e.writeClientConf()
	e.waitActiveOnAll(trackers, stUp, stOurs)

	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FDFS_TEST_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("FDFS_TEST_SEED=%d", seed)
	load := startChaosLoad(e, []*node{stUp, stOurs}, 3, seed)
	r := rand.New(rand.NewPCG(seed, 6))
	// Every daemon in turn, in an order shuffled each round; ours stopped
	// with SIGKILL one time in two.
	nodes := []*node{trOurs, trUp, stUp, stOurs}
	events := map[string]int{}
	for end, i := time.Now().Add(chaosDuration), 0; time.Now().Before(end); i++ {
		if i%len(nodes) == 0 {
			r.Shuffle(len(nodes), func(a, b int) { nodes[a], nodes[b] = nodes[b], nodes[a] })
		}
		time.Sleep(time.Duration(1000+r.IntN(1500)) * time.Millisecond)
		n := nodes[i%len(nodes)]
		how := "SIGTERM"
		if n.impl == ours && r.IntN(2) == 0 {
			how = "SIGKILL"
			n.kill9()
		} else if err := n.stopWithin(upstreamStopLimit); err != nil {
			t.Errorf("stop %s: %v", n, err)
		}
		events[string(n.impl)+" "+n.role+" "+how]++
		t.Logf("%s: %s %s", time.Now().Format("15:04:05.000"), how, n)
		time.Sleep(time.Duration(200+r.IntN(1300)) * time.Millisecond)
		n.start()
	}
	files, gone := load.finish()
	t.Logf("events %v; operations %v; failed %v; %d files kept, %d deleted", events, load.ops, load.failed, len(files), len(gone))
	if len(files) < 100 || len(gone) < 20 {
		t.Fatalf("the load did too little to check: %d files kept, %d deleted", len(files), len(gone))
	}

	e.waitActiveOnAll(trackers, stUp, stOurs)
	waitSameTreesWithin(e, stUp, stOurs, 2*time.Minute, upstreamOrphanMeta(load), func(name string) string {
		return explainFile(load, name, stUp, stOurs)
	})
	for _, f := range files {
		for _, st := range []*node{stUp, stOurs} {
			if s := diskState(st.pathOf(f.id), f.data); !strings.HasSuffix(s, "ok") {
				t.Errorf("%s on %s: %s", f.id, st, s)
			}
			if err := metaOnDisk(st, f); err != nil {
				t.Errorf("%s on %s: %v", f.id, st, err)
			}
		}
	}
	for _, id := range gone {
		for _, st := range []*node{stUp, stOurs} {
			for _, name := range []string{id, id + "-m"} {
				if st == stUp && name == id+"-m" {
					continue // upstreamOrphanMeta
				}
				if _, err := os.Stat(st.pathOf(name)); err == nil {
					t.Errorf("%s deleted, still on %s:\n%s", name, st, explainFile(load, dataKey(id), stUp, stOurs))
				}
			}
		}
	}
	checkBinlogs(t, stUp, stOurs)
}

// metaOnDisk checks f's metadata file on st against the model.
func metaOnDisk(st *node, f *chaosFile) error {
	b, err := os.ReadFile(st.pathOf(f.id + "-m"))
	if f.meta == nil {
		if err == nil {
			return fmt.Errorf("a metadata file %q where none was set", b)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("metadata %v: %w", f.meta, err)
	}
	got, err := protocol.UnpackMeta(b)
	if err != nil {
		return err
	}
	if !maps.Equal(got, f.meta) {
		return fmt.Errorf("metadata %v, want %v", got, f.meta)
	}
	return nil
}

// upstreamOrphanMeta tolerates a metadata file left only on upstream's
// storage (the first tree) whose file the load deleted and neither
// storage holds: upstream's storage writes a replicated metadata file
// whatever became of its file, and the metadata's create can reach it
// after it deleted the file (ours, as the receiver, drops it: deletes.go;
// ours, as the sender, checks the peer before an update, not before each
// create).
func upstreamOrphanMeta(l *chaosLoad) func(key string, up, other map[string][]byte) string {
	deleted := map[string]bool{}
	for _, id := range l.gone {
		deleted[dataKey(id)] = true
	}
	return func(key string, up, other map[string][]byte) string {
		master, meta := strings.CutSuffix(key, "-m")
		_, onUp := up[key]
		_, onOther := other[key]
		_, masterUp := up[master]
		_, masterOther := other[master]
		if !meta || !onUp || onOther || masterUp || masterOther || !deleted[master] {
			return ""
		}
		return "upstream's orphan metadata file"
	}
}

// dataKey is where a file ID lives under a store path's data directory
// ("HH/LL/name"), as storeTree names it.
func dataKey(id string) string {
	_, name, _ := strings.Cut(id, "/M")
	_, rest, _ := strings.Cut(name, "/")
	return rest
}

// explainFile tells what the load did to the file at name (a path under
// data/, a metadata file's included) and what each storage's binlog says
// of it.
func explainFile(l *chaosLoad, name string, storages ...*node) string {
	var b strings.Builder
	if f := l.all[strings.TrimSuffix(name, "-m")]; f != nil {
		fmt.Fprintf(&b, "    the load: %s\n", strings.Join(f.log, "; "))
	}
	for _, st := range storages {
		recs, err := readBinlogs(st)
		if err != nil {
			fmt.Fprintf(&b, "    %s: %v\n", st.name, err)
			continue
		}
		for _, r := range recs {
			if strings.Contains(r.rest, strings.TrimSuffix(name, "-m")) {
				fmt.Fprintf(&b, "    %s binlog: %s %s %s\n", st.name, r.ts, r.op, r.rest)
			}
		}
		for _, line := range logLinesAbout(st, strings.TrimSuffix(name, "-m")) {
			fmt.Fprintf(&b, "    %s log: %s\n", st.name, line)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// maxLinesAbout bounds the log lines explainFile prints per daemon.
const maxLinesAbout = 30

// logLinesAbout returns the last lines of n's logs (its output and its
// log files) that name the file at name: which of the replication's
// paths passed over a file tells more than its binlog records.
func logLinesAbout(n *node, name string) []string {
	files := []string{n.out}
	logs, _ := filepath.Glob(filepath.Join(n.base, "logs", "*.log"))
	var lines []string
	for _, f := range append(files, logs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, name) {
				lines = append(lines, line)
			}
		}
	}
	return lines[max(0, len(lines)-maxLinesAbout):]
}

// chaosFile is a file of the model: what both storages must hold.
type chaosFile struct {
	id   string
	src  string // the source storage's address: changes go there
	data []byte
	meta map[string]string // nil: no metadata file
	log  []string          // the operations sent, for a failure's message
}

// note records an operation on f for a failure's message.
func (f *chaosFile) note(op string, err error) {
	f.log = append(f.log, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), op, err))
}

// chaosLoad is the client load of TestMixedChaos.
type chaosLoad struct {
	cl     *client.Client
	addrOf map[string]string // storage IP -> address
	ours   map[string]bool   // addresses of our storages
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	ops    map[string]int // acknowledged, by operation
	failed map[string]int
	files  []*chaosFile
	gone   []string
	all    map[string]*chaosFile // every file uploaded, by name under data/
}

func startChaosLoad(e *env, storages []*node, workers int, seed uint64) *chaosLoad {
	l := &chaosLoad{cl: e.client(), addrOf: map[string]string{}, ours: map[string]bool{}, stop: make(chan struct{}),
		ops: map[string]int{}, failed: map[string]int{}, all: map[string]*chaosFile{}}
	for _, st := range storages {
		l.addrOf[st.ip] = st.addr()
		l.ours[st.addr()] = st.impl == ours
	}
	for i := range workers {
		l.wg.Add(1)
		go l.worker(seed + uint64(i))
	}
	return l
}

// finish stops the workers and returns the model: the files kept and the
// IDs deleted.
func (l *chaosLoad) finish() ([]*chaosFile, []string) {
	close(l.stop)
	l.wg.Wait()
	return l.files, l.gone
}

func (l *chaosLoad) count(op string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed[op]++
	} else {
		l.ops[op]++
	}
}

func (l *chaosLoad) worker(seed uint64) {
	defer l.wg.Done()
	r := rand.New(rand.NewPCG(seed, 77))
	var mine []*chaosFile
	var gone []string
	defer func() {
		l.mu.Lock()
		l.files = append(l.files, mine...)
		l.gone = append(l.gone, gone...)
		l.mu.Unlock()
	}()
	for {
		select {
		case <-l.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		op, f, err := l.step(ctx, r, &mine)
		cancel()
		l.count(op, err)
		if f != nil {
			f.note(op, err)
		}
		switch {
		case f == nil:
		case err != nil: // it may or may not have landed
			mine = slices.DeleteFunc(mine, func(x *chaosFile) bool { return x == f })
		case op == "delete":
			mine = slices.DeleteFunc(mine, func(x *chaosFile) bool { return x == f })
			gone = append(gone, f.id)
		}
	}
}

// step makes one operation and returns its name and the file it changed
// (nil for a failed upload, which leaves nothing to track).
func (l *chaosLoad) step(ctx context.Context, r *rand.Rand, mine *[]*chaosFile) (string, *chaosFile, error) {
	appenders := slices.DeleteFunc(slices.Clone(*mine), func(f *chaosFile) bool { return !strings.HasSuffix(f.id, ".log") })
	switch p := r.IntN(100); {
	case p < 35 || len(*mine) == 0:
		return "upload", nil, l.upload(ctx, r, mine, false)
	case p < 50:
		return "upload-appender", nil, l.upload(ctx, r, mine, true)
	case p < 75 && len(appenders) > 0:
		f := appenders[r.IntN(len(appenders))]
		op, err := l.change(r, f)
		return op, f, err
	case p < 87:
		f := (*mine)[r.IntN(len(*mine))]
		return "set-metadata", f, l.setMeta(r, f)
	default:
		if len(*mine) < 10 {
			return "upload", nil, l.upload(ctx, r, mine, false)
		}
		f := (*mine)[0]
		return "delete", f, l.cl.Delete(ctx, f.id)
	}
}

func (l *chaosLoad) upload(ctx context.Context, r *rand.Rand, mine *[]*chaosFile, appender bool) error {
	size := 1 + r.IntN(64<<10)
	if appender {
		size = 1 + r.IntN(16<<10)
	} else if r.IntN(20) == 0 {
		size = 0
	}
	f := &chaosFile{data: randBytes(r.Uint64(), size)}
	opt := client.UploadOptions{Ext: "bin"}
	if r.IntN(3) == 0 {
		f.meta = map[string]string{"size": strconv.Itoa(size), "n": strconv.Itoa(r.IntN(1000))}
		opt.Meta = f.meta
	}
	up := l.cl.Upload
	if appender {
		opt.Ext, up = "log", l.cl.UploadAppender
	}
	id, err := up(ctx, bytes.NewReader(f.data), int64(size), opt)
	if err != nil {
		return err
	}
	_, name, err := fileid.Split(id)
	if err != nil {
		return err
	}
	n, err := fileid.Parse(name)
	if err != nil {
		return err
	}
	if f.src = l.addrOf[n.SourceIP]; f.src == "" {
		return fmt.Errorf("%s: source %q is no storage of the test", id, n.SourceIP)
	}
	f.id = id
	f.note("upload", nil)
	*mine = append(*mine, f)
	l.mu.Lock()
	l.all[dataKey(id)] = f
	l.mu.Unlock()
	return nil
}

// change appends to, modifies or truncates appender file f at its source.
func (l *chaosLoad) change(r *rand.Rand, f *chaosFile) (string, error) {
	switch size := len(f.data); {
	case r.IntN(3) == 0 && size > 0:
		off := r.IntN(size)
		b := randBytes(r.Uint64(), 1+r.IntN(min(4096, size-off)))
		if err := rawModify(f.src, f.id, int64(off), b); err != nil {
			return "modify", err
		}
		copy(f.data[off:], b)
		return "modify", nil
	case r.IntN(4) == 0 && l.ours[f.src]:
		n := r.IntN(size + 1)
		if err := rawTruncate(f.src, f.id, int64(n)); err != nil {
			return "truncate", err
		}
		f.data = f.data[:n]
		return "truncate", nil
	default:
		b := randBytes(r.Uint64(), 1+r.IntN(8192))
		if err := rawAppend(f.src, f.id, b); err != nil {
			return "append", err
		}
		f.data = append(f.data, b...)
		return "append", nil
	}
}

// setMeta overwrites or merges f's metadata at its source.
func (l *chaosLoad) setMeta(r *rand.Rand, f *chaosFile) error {
	set := map[string]string{"k" + strconv.Itoa(r.IntN(4)): strconv.Itoa(r.IntN(1 << 20))}
	flag := protocol.MetaOverwrite
	if r.IntN(2) == 0 {
		flag = protocol.MetaMerge
	}
	group, name, _ := fileid.Split(f.id)
	req := protocol.SetMetadataRequest{Name: name, Flag: flag, Group: group, Meta: protocol.PackMeta(set)}
	if err := rawStatus(f.src, protocol.CmdSetMetadata, req.Encode()); err != nil {
		return err
	}
	if flag == protocol.MetaMerge && f.meta != nil {
		maps.Copy(f.meta, set)
	} else {
		f.meta = set
	}
	return nil
}
