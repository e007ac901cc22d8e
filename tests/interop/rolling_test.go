package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRollingMigration replaces the daemons of a live cluster (two
// trackers, two storages of group1) one at a time, as docs/migration.md
// says, while fastdfs-client-java keeps uploading, reading back and
// deleting files on one thread. Upstream to ours: each tracker is stopped
// and started again as ours on the same conf file and data, then each
// storage is drained (fdfs monitor drain, which needs our trackers),
// replaced the same way and put back in service. The rollback goes the
// other way (storages first, while our trackers can still drain them).
//
// Every file the client kept must end up byte-identical on both storages,
// and no client operation may fail once only our trackers serve: while
// upstream trackers do, clients fail on their own account (a stopping one
// cuts the requests it is serving, one that starts answers ENOENT until
// the storages join it again, and two of them route some reads of a file
// just uploaded to a storage that does not have it yet). Those are counted
// and reported. With our trackers, every storage replacement (drained
// first) must cost nothing.
func TestRollingMigration(t *testing.T) {
	cp := javaClasspath(t)
	for _, c := range []struct {
		name          string
		from, to      impl
		trackersFirst bool
	}{
		{"upstreamToOurs", upstream, ours, true},
		{"rollback", ours, upstream, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tr1, tr2 := e.addTracker(c.from), e.addTracker(c.from)
			trackers := []*node{tr1, tr2}
			s1 := e.addStorage(c.from, "group1", trackers)
			s2 := e.addStorage(c.from, "group1", trackers)
			e.writeClientConf()
			e.waitActiveOnAll(trackers, s1, s2)

			load := startLoad(t, e, cp)
			// While an upstream tracker serves (or stops, or starts), the
			// client's failures are upstream's own: see above.
			upstreamTrackers := window{from: time.Now(), to: time.Now().Add(time.Hour)}
			load.waitOps(t, 200)
			swapTrackers := func() {
				if c.to == upstream {
					upstreamTrackers.from = time.Now()
				}
				for _, tr := range trackers {
					replace(t, tr, c.to)
					e.waitActiveOnAll(trackers, s1, s2)
					load.waitOps(t, 200)
				}
				if c.from == upstream {
					upstreamTrackers.to = time.Now()
				}
			}
			if c.trackersFirst {
				swapTrackers()
			}
			for i, st := range []*node{s1, s2} {
				e.drainAsRunbook(st, []*node{s2, s1}[i])
				replace(t, st, c.to)
				e.waitActiveOnAll(trackers, s1, s2)
				e.drain(st, "undrain")
				load.waitOps(t, 200)
			}
			if !c.trackersFirst {
				swapTrackers()
			}
			ok, failed, kept := load.finish(t)
			fails := load.failures()
			var unexcused []string
			for _, f := range fails {
				if !f.within(upstreamTrackers) {
					unexcused = append(unexcused, f.line)
				}
			}
			t.Logf("%d client operations, %d failed (%d while upstream trackers served); %d files kept",
				ok+failed, failed, failed-len(unexcused), len(kept))
			if len(unexcused) > 0 || failed != len(fails) {
				t.Errorf("client operations failed outside the replacement of upstream trackers:\n%s", strings.Join(unexcused, "\n"))
			}
			for id, seed := range kept {
				e.waitOnDisk(id, javaRandom(seed, 5120), s1, s2)
			}
			e.waitSameTrees(s1, s2)
		})
	}
}

// window is a span of wall-clock time.
type window struct{ from, to time.Time }

// failure is one FAIL line of LoadGen and when it happened.
type failure struct {
	line string
	at   time.Time
}

// within reports whether f happened inside w (with a second of slack
// after it: the client's requests in flight then).
func (f failure) within(w window) bool {
	return !f.at.Before(w.from) && !f.at.After(w.to.Add(time.Second))
}

// waitActiveOnAll waits until every tracker lists the storages ACTIVE
// (fdfs_monitor asks one tracker; clients ask either).
func (e *env) waitActiveOnAll(trackers []*node, storages ...*node) {
	e.t.Helper()
	saved := e.clientConf
	defer func() { e.clientConf = saved }()
	for _, tr := range trackers {
		e.clientConf = e.writeClientConfAt(filepath.Join(e.dir, "client-"+tr.ip+".conf"), tr)
		e.waitActive(storages...)
	}
}

// drainAsRunbook drains st before its replacement as docs/migration.md
// step 2 says. When the peer is upstream's, a drain that does not
// complete is judged as the runbook tells an operator to: a C storage
// does not advance its sync timestamp for records it received on the
// extra connections of a parallel batch (upstream's workers send no
// REPORT_SERVER_ID) nor for deletes of files it never had (ENOENT), so
// its report can stay behind st's last update for good. What st has sent
// is in its mark file for the peer: at the end of its binlog, nothing is
// left to replicate.
func (e *env) drainAsRunbook(st, peer *node) {
	e.t.Helper()
	out, err := e.tryDrain(st, "drain", "--wait", "60s")
	if err == nil {
		e.t.Logf("fdfs monitor drain %s: %s", st, strings.TrimSpace(string(out)))
		return
	}
	if peer.impl != upstream {
		e.drainFailed(st, out, err)
	}
	var left string
	deadline := time.Now().Add(waitLimit)
	for {
		left, err = sentAll(st.base, peer.idOrIP(), peer.port)
		if err == nil && left == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil || left != "" {
		e.drainFailed(st, out, fmt.Errorf("the drain did not complete and %s has not sent everything to %s: %s %v", st, peer, left, err))
	}
	e.t.Logf("fdfs monitor drain %s did not complete (the C peer's sync timestamp stays behind), but its mark file for %s is at the end of its binlog (docs/migration.md step 2): proceeding", st, peer)
}

// sentAll applies docs/migration.md's check to the storage whose
// base_path is base: "" when its mark file for the peer (id or IP, port)
// is at the end of its binlog, else what is left.
func sentAll(base, peer string, port int) (string, error) {
	sync := filepath.Join(base, "data", "sync")
	index, err := readKV(filepath.Join(sync, "binlog_index.dat"))
	if err != nil {
		return "", err
	}
	mark, err := readKV(filepath.Join(sync, fmt.Sprintf("%s_%d.mark", peer, port)))
	if err != nil {
		return "", err
	}
	cur, _ := strconv.Atoi(index["current_write"])
	fi, err := os.Stat(filepath.Join(sync, fmt.Sprintf("binlog.%03d", cur)))
	if err != nil {
		return "", err
	}
	if mark["binlog_index"] == strconv.Itoa(cur) && mark["binlog_offset"] == strconv.FormatInt(fi.Size(), 10) {
		return "", nil
	}
	return fmt.Sprintf("mark at binlog %s offset %s, binlog %d ends at %d", mark["binlog_index"], mark["binlog_offset"], cur, fi.Size()), nil
}

// readKV reads a key=value file (upstream's mark and index files).
func readKV(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return kv, nil
}

// drain runs `fdfs monitor <verb> group1 <storage>` (drain or undrain) with
// our binary against every tracker of the client conf.
func (e *env) drain(st *node, verb string, flags ...string) {
	e.t.Helper()
	out, err := e.tryDrain(st, verb, flags...)
	if err != nil {
		e.drainFailed(st, out, err)
	}
	e.t.Logf("fdfs monitor %s %s: %s", verb, st, strings.TrimSpace(string(out)))
}

func (e *env) tryDrain(st *node, verb string, flags ...string) ([]byte, error) {
	args := append([]string{"monitor", "--config", e.clientConf, verb}, flags...)
	args = append(args, st.group, st.idOrIP())
	out, err := exec.Command(ourBin, args...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("fdfs %v: %w", args, err)
	}
	return out, err
}

func (e *env) drainFailed(st *node, out []byte, err error) {
	e.t.Helper()
	mon, _ := exec.Command(ourBin, "monitor", "--config", e.clientConf).CombinedOutput()
	e.t.Fatalf("%v\n%s\nfdfs monitor:\n%s", err, out, mon)
}

// replace stops n and starts it again as implementation to, on the same
// conf file and directories. An upstream daemon that does not stop within
// the harness's limit is killed (as a service manager would): what it had
// in progress was drained first.
func replace(t *testing.T, n *node, to impl) {
	t.Helper()
	t.Logf("%s: replacing %s", time.Now().UTC().Format("15:04:05.000"), n)
	if err := n.stop(); err != nil {
		if n.impl == ours {
			t.Fatalf("stop %s: %v", n, err)
		}
		t.Logf("stop %s: %v", n, err)
	}
	n.impl = to
	n.name = fmt.Sprintf("%s(now %s)", n.name, to)
	n.start()
	t.Logf("%s: %s started", time.Now().UTC().Format("15:04:05.000"), n)
}

// javaLoad is a running java/LoadGen.
type javaLoad struct {
	dir  string
	cmd  *exec.Cmd
	out  *os.File
	done chan error
}

func startLoad(t *testing.T, e *env, cp string) *javaLoad {
	t.Helper()
	l := &javaLoad{dir: e.mkdir("load"), done: make(chan error, 1)}
	out, err := os.Create(filepath.Join(l.dir, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	l.out = out
	// Without fastdfs-client-java's connection pool (its default is on):
	// the pool hands out connections a replaced daemon closed, one failed
	// request each (docs/migration.md).
	base, err := os.ReadFile(e.clientConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(l.dir, "java.conf")
	if err := os.WriteFile(conf, append(base, "connection_pool.enabled = false\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	l.cmd = exec.Command("java", "-cp", cp, "LoadGen", conf, l.dir)
	l.cmd.Stdout, l.cmd.Stderr = l.out, l.out
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { l.done <- l.cmd.Wait() }()
	t.Cleanup(func() {
		l.cmd.Process.Kill()
		l.out.Close()
	})
	return l
}

// ops is the number of operations LoadGen has finished (lines of kept.txt
// are one per kept file; deleted ones count one in four).
func (l *javaLoad) ops() int {
	b, _ := os.ReadFile(filepath.Join(l.dir, "kept.txt"))
	return strings.Count(string(b), "\n") * 4 / 3
}

// waitOps waits until LoadGen has done n more operations.
func (l *javaLoad) waitOps(t *testing.T, n int) {
	t.Helper()
	target := l.ops() + n
	deadline := time.Now().Add(waitLimit)
	for l.ops() < target {
		select {
		case err := <-l.done:
			t.Fatalf("LoadGen ended early: %v\n%s", err, l.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("LoadGen made no progress for %v:\n%s", waitLimit, l.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// finish stops LoadGen and returns its counts and the files it kept
// (file id → seed of the content).
func (l *javaLoad) finish(t *testing.T) (ok, failed int, kept map[string]int64) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(l.dir, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-l.done:
		if err != nil {
			t.Fatalf("LoadGen: %v\n%s", err, l.output())
		}
	case <-time.After(waitLimit):
		t.Fatalf("LoadGen did not stop:\n%s", l.output())
	}
	out := l.output()
	i := strings.LastIndex(out, "ok=")
	if i < 0 {
		t.Fatalf("LoadGen printed no summary:\n%s", out)
	}
	if _, err := fmt.Sscanf(out[i:], "ok=%d failed=%d", &ok, &failed); err != nil {
		t.Fatalf("LoadGen summary: %v\n%s", err, out)
	}
	kept = map[string]int64{}
	f, err := os.Open(filepath.Join(l.dir, "kept.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, seed, _ := strings.Cut(sc.Text(), " ")
		s, err := strconv.ParseInt(seed, 10, 64)
		if err != nil {
			t.Fatalf("kept.txt line %q", sc.Text())
		}
		kept[id] = s
	}
	return ok, failed, kept
}

func (l *javaLoad) output() string {
	b, _ := os.ReadFile(filepath.Join(l.dir, "out.txt"))
	return tailLines(string(b), 40)
}

// failures parses LoadGen's FAIL lines ("FAIL <op> <error> at <RFC 3339
// time>").
func (l *javaLoad) failures() []failure {
	b, _ := os.ReadFile(filepath.Join(l.dir, "out.txt"))
	var out []failure
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "FAIL ") {
			continue
		}
		f := failure{line: line}
		if i := strings.LastIndex(line, " at "); i >= 0 {
			f.at, _ = time.Parse(time.RFC3339Nano, line[i+4:])
		}
		out = append(out, f)
	}
	return out
}

// javaRandom is java.util.Random(seed).nextBytes of n bytes: the content
// LoadGen uploaded with that seed.
func javaRandom(seed int64, n int) []byte {
	const mult, add, mask = 0x5DEECE66D, 0xB, 1<<48 - 1
	s := (seed ^ mult) & mask
	next := func() int32 {
		s = (s*mult + add) & mask
		return int32(s >> 16)
	}
	b := make([]byte, 0, n)
	for len(b) < n {
		r := next()
		for k := 0; k < 4 && len(b) < n; k++ {
			b = append(b, byte(r))
			r >>= 8
		}
	}
	return b
}

// TestSentAll: the runbook's check of a drained storage's mark file.
func TestSentAll(t *testing.T) {
	for _, c := range []struct {
		name, mark string
		done       bool
	}{
		{"at the end", "binlog_index=1\nbinlog_offset=16\nneed_sync_old=0\n", true},
		{"behind", "binlog_index=1\nbinlog_offset=6\n", false},
		{"an older binlog", "binlog_index=0\nbinlog_offset=16\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "data", "sync")
			for name, content := range map[string]string{
				"binlog_index.dat":     "current_write=1\ncurrent_compress=0\n",
				"binlog.001":           "1 C f01\n2 D f01\n",
				"127.0.0.9_23000.mark": c.mark,
			} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			left, err := sentAll(base, "127.0.0.9", 23000)
			if err != nil || (left == "") != c.done {
				t.Fatalf("sentAll: %q %v, want done %v", left, err, c.done)
			}
		})
	}
}
