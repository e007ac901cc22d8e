package interop

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOurToolsSameOutput runs upstream's client programs and ours (the
// fdfs binary under their names) with the same command lines against the
// same cluster, one right after the other, and compares what a script
// sees: the exit status, stdout and the non-log lines of stderr. File IDs
// the two uploads create differ and are compared by form; values that
// move on their own (counters, clocks, free space) are masked.
func TestOurToolsSameOutput(t *testing.T) {
	for _, tc := range []struct {
		top         topology
		trackerConf []string
	}{
		{topology{"upstreamTracker", upstream, []impl{upstream, ours}, false, ""}, nil},
		{topology{"ourTracker", ours, []impl{ours, upstream}, false, ""}, nil},
		{topology{"idMode", ours, []impl{upstream, ours}, true, ""}, nil},
		{topology{"trunk", upstream, []impl{ours, upstream}, false, ""}, trunkTrackerConf},
	} {
		t.Run(tc.top.name, func(t *testing.T) {
			e, tr, sts := startTopology(t, tc.top, tc.trackerConf...)
			sameOutputScenario(t, e, tr, sts, tc.trackerConf != nil)
		})
	}
}

func sameOutputScenario(t *testing.T, e *env, tr *node, sts []*node, trunk bool) {
	c := &comparer{e: e}
	text := e.writeLocal("hello.txt", []byte("hello, tools\n"))
	sameFailures(c, tr, text)
	sameFileOps(c, tr, sts, text)
	sameTestPrograms(c, text)
	sameAppenderPrograms(c, text)
	sameClusterViews(c, tr, trunk)
}

// sameFailures: usage, option and conf errors.
func sameFailures(c *comparer, tr *node, text string) {
	e, t := c.e, c.e.t
	conf := e.clientConf
	missingConf := filepath.Join(e.dir, "missing.conf")
	noTracker := filepath.Join(e.dir, "notracker.conf")
	deadTracker := filepath.Join(e.dir, "dead.conf")
	writeFile(t, noTracker, "base_path = "+e.dir+"\n")
	writeFile(t, deadTracker, "base_path = "+e.dir+"\nconnect_timeout = 2\ntracker_server = "+tr.ip+":1\n")
	for _, tool := range []string{"fdfs_upload_file", "fdfs_upload_appender", "fdfs_download_file",
		"fdfs_delete_file", "fdfs_append_file", "fdfs_regenerate_filename", "fdfs_file_info", "fdfs_crc32"} {
		c.same(tool)
	}
	c.same("fdfs_file_info", "-x", conf, "group1/M00/00/00/x")
	c.same("fdfs_monitor", "-h")
	c.same("fdfs_tracker_stat", "-h")
	c.same("fdfs_storage_stat", "-c")
	c.same("fdfs_volumn_stat", "-h")
	for _, cf := range []string{missingConf, noTracker, deadTracker} {
		c.same("fdfs_upload_file", cf, text)
		c.same("fdfs_download_file", cf, "group1/M00/00/00/wKgAAWdzRbmAAAAAAAAAAAAAAAA.txt")
		c.same("fdfs_delete_file", cf, "group1/M00/00/00/wKgAAWdzRbmAAAAAAAAAAAAAAAA.txt")
		c.same("fdfs_monitor", cf)
		c.same("fdfs_storage_stat", "-c", cf)
	}
}

// sameFileOps: uploads (compared by the IDs' form and extension), reads of
// the same files, changes each program makes to its own file.
func sameFileOps(c *comparer, tr *node, sts []*node, text string) {
	e := c.e
	conf := e.clientConf
	bin := e.writeLocal("photo.tar.gz", randBytes(7, 300_000))
	noExt := e.writeLocal("noext", randBytes(8, 1000))
	longExt := e.writeLocal("x.toolong", randBytes(9, 10))
	dir := e.mkdir("work", "adir")
	ids := map[string][2]string{}
	for _, local := range []string{text, bin, noExt, longExt} {
		ids[local] = c.sameIDs("fdfs_upload_file", conf, local)
	}
	st := sts[1]
	c.sameIDs("fdfs_upload_file", conf, text, st.addr(), "0")
	c.sameIDs("fdfs_upload_file", conf, text, st.addr())
	c.same("fdfs_upload_file", conf, text, tr.ip+":1")
	c.same("fdfs_upload_file", conf, filepath.Join(e.work, "nofile"))
	c.same("fdfs_upload_file", conf, dir)
	app := c.sameIDs("fdfs_upload_appender", conf, text)
	for _, id := range []string{ids[text][0], ids[bin][1], app[0], app[1]} {
		c.same("fdfs_file_info", conf, id)
		c.same("fdfs_file_info", "-n", conf, id)
		c.same("fdfs_file_info", conf, id, "-s")
	}
	gone := "group1/M00/00/00/" + strings.Repeat("A", 27) + ".txt"
	c.same("fdfs_file_info", conf, gone)
	c.same("fdfs_file_info", conf, "group1/M00/00/00/short.txt")
	c.same("fdfs_file_info", conf, "nogroup")
	c.sameDownload(ids[bin][0])
	c.sameDownload(ids[bin][0], "1000", "5000")
	c.sameDownload(ids[text][0], "0", "0")
	c.sameDownload(gone)
	c.same("fdfs_download_file", conf, ids[text][1], filepath.Join(e.work, "nodir", "out"))
	c.same("fdfs_crc32", bin)
	c.same("fdfs_crc32", filepath.Join(e.work, "nofile"))
	c.sameEach("fdfs_append_file", []string{conf, app[0], bin}, []string{conf, app[1], bin})
	// A small body: with a large one an upstream storage that refuses the
	// append may close before the client has sent it all (ENOTCONN).
	c.same("fdfs_append_file", conf, ids[text][0], text)
	c.same("fdfs_append_file", conf, app[0], filepath.Join(e.work, "nofile"))
	e.waitSameOnDisk(app[0], sts...)
	e.waitSameOnDisk(app[1], sts...)
	c.same("fdfs_file_info", conf, app[0])
	c.sameEach("fdfs_regenerate_filename", []string{conf, app[0]}, []string{conf, app[1]})
	c.same("fdfs_regenerate_filename", conf, ids[noExt][0])
	c.sameEach("fdfs_delete_file", []string{conf, ids[noExt][0]}, []string{conf, ids[noExt][1]})
	c.same("fdfs_delete_file", conf, ids[noExt][0])
	c.same("fdfs_delete_file", conf, "nogroup")
}

// sameClusterViews: fdfs_monitor and the stat programs, each command line
// run by both right after the other.
func sameClusterViews(c *comparer, tr *node, trunk bool) {
	conf := c.e.clientConf
	c.sameMasked("fdfs_monitor", conf)
	c.sameMasked("fdfs_monitor", conf, "list", "group1")
	c.same("fdfs_monitor", conf, "list", "nogroup")
	c.sameMasked("fdfs_monitor", conf, "-h", tr.addr(), "list")
	c.same("fdfs_monitor", conf, "-h", tr.ip+":1")
	c.same("fdfs_monitor", conf, "badop")
	c.same("fdfs_monitor", conf, "delete", "group1", "10.9.9.9")
	c.same("fdfs_monitor", conf, "delete", "nogroup")
	c.same("fdfs_monitor", conf, "set_trunk_server")
	if !trunk {
		// With trunk files on, the answer depends on the group's state at
		// the moment (ENOSPC, then a new trunk server, ...), not on the
		// program: compared only where it is EOPNOTSUPP.
		c.same("fdfs_monitor", conf, "set_trunk_server", "group1")
	}
	for _, args := range [][]string{{}, {"-A"}, {"-N"}, {"-d"}, {"-AT"}} {
		c.sameMasked("fdfs_storage_stat", append([]string{"-c", conf}, args...)...)
	}
	for _, args := range [][]string{{}, {"-L"}, {"-F"}, {"-d"}} {
		c.sameMasked("fdfs_tracker_stat", append([]string{"-c", conf}, args...)...)
	}
	for _, args := range [][]string{{}, {"-A"}, {"-N"}, {"-D"}} {
		c.sameMasked("fdfs_volumn_stat", append([]string{"-c", conf}, args...)...)
	}
}

// A read of a file may go to the replica, which a new file, a change or a
// delete may not have reached yet (replication is asynchronous with either
// daemon): the comparisons of reads run both programs again while they
// differ, up to replicaRetries times, replicaPause apart.
const (
	replicaRetries = 20
	replicaPause   = 500 * time.Millisecond
)

// readsFile reports whether tool only reads a stored file.
func readsFile(tool string) bool { return tool == "fdfs_file_info" || tool == "fdfs_download_file" }

// comparer runs each command line with both programs.
type comparer struct {
	e *env
}

var (
	anyFileID = regexp.MustCompile(`group\d+/M[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-Za-z_-]{27}[0-9A-Za-z_.-]*`)
	logLine   = regexp.MustCompile(`(?m)^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] [A-Z]+ - .*\n?`)
)

// seen is what a script sees of a run, with the file IDs' random part
// replaced (kept: group, store path, extension).
func seen(r result, ids bool) string {
	out := r.stdout
	if ids {
		out = anyFileID.ReplaceAllStringFunc(out, func(id string) string {
			ext := ""
			if i := strings.LastIndexByte(id[len("group1/M00/00/00/")+27:], '.'); i >= 0 {
				ext = id[len("group1/M00/00/00/")+27+i:]
			}
			return id[:strings.IndexByte(id, '/')+4] + "/<id>" + ext
		})
	}
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + out + "stderr (without log lines):\n" + logLine.ReplaceAllString(r.stderr, "")
}

// same runs both and requires the same exit status and output.
func (c *comparer) same(tool string, args ...string) {
	c.e.t.Helper()
	up := c.e.runProgram(upstream, tool, args...)
	our := c.e.runProgram(ours, tool, args...)
	for i := 0; i < replicaRetries && readsFile(tool) && seen(up, false) != seen(our, false); i++ {
		time.Sleep(replicaPause)
		up, our = c.e.runProgram(upstream, tool, args...), c.e.runProgram(ours, tool, args...)
	}
	if seen(up, false) != seen(our, false) {
		c.e.t.Errorf("%s %s: outputs differ\n--- upstream:\n%s\n--- ours:\n%s", tool, strings.Join(args, " "), seen(up, false), seen(our, false))
	}
}

// sameIDs is same for a program that prints a new file ID; it returns
// upstream's ID and ours.
func (c *comparer) sameIDs(tool string, args ...string) [2]string {
	c.e.t.Helper()
	up := c.e.runProgram(upstream, tool, args...)
	our := c.e.runProgram(ours, tool, args...)
	if seen(up, true) != seen(our, true) || up.code != 0 {
		c.e.t.Fatalf("%s %s: outputs differ or failed\n--- upstream:\n%s\n--- ours:\n%s", tool, strings.Join(args, " "), seen(up, true), seen(our, true))
	}
	return [2]string{strings.TrimSpace(up.stdout), strings.TrimSpace(our.stdout)}
}

// sameEach runs upstream's program with upArgs and ours with ourArgs (each
// on its own file) and compares as sameIDs does.
func (c *comparer) sameEach(tool string, upArgs, ourArgs []string) {
	c.e.t.Helper()
	up := c.e.runProgram(upstream, tool, upArgs...)
	our := c.e.runProgram(ours, tool, ourArgs...)
	if seen(up, true) != seen(our, true) {
		c.e.t.Errorf("%s: outputs differ\n--- upstream:\n%s\n--- ours:\n%s", tool, seen(up, true), seen(our, true))
	}
}

// sameDownload downloads id with both (to the default name, or to a file
// with a range) and compares the outputs and the files written.
func (c *comparer) sameDownload(id string, rng ...string) {
	e := c.e
	e.t.Helper()
	got, res := c.downloadBoth(id, rng)
	differ := func() bool { return seen(res[0], false) != seen(res[1], false) || !bytes.Equal(got[0], got[1]) }
	for i := 0; i < replicaRetries && differ(); i++ {
		time.Sleep(replicaPause)
		got, res = c.downloadBoth(id, rng)
	}
	if differ() {
		e.t.Errorf("download %s %v: differ (files of %d and %d bytes)\n--- upstream:\n%s\n--- ours:\n%s",
			id, rng, len(got[0]), len(got[1]), seen(res[0], false), seen(res[1], false))
	}
}

// downloadBoth runs both programs' download of id and returns what each
// wrote and printed.
func (c *comparer) downloadBoth(id string, rng []string) (got [2][]byte, res [2]result) {
	e := c.e
	for i, im := range []impl{upstream, ours} {
		local := id[strings.LastIndexByte(id, '/')+1:]
		args := []string{e.clientConf, id}
		if len(rng) > 0 {
			local = e.tmpName("range")
			args = append(args, append([]string{local}, rng...)...)
		}
		path := filepath.Join(e.work, filepath.Base(local))
		if filepath.IsAbs(local) {
			path = local
		}
		os.Remove(path)
		res[i] = e.runProgram(im, "fdfs_download_file", args...)
		got[i], _ = os.ReadFile(path)
		os.Remove(path)
	}
	return got, res
}

// volatile are the values of fdfs_monitor and the stat programs that
// move between two runs (counters, clocks, free space): each expression's
// first group is kept, the rest masked.
var volatile = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^(\t\t(?:total|success|stotal)_\w+ = |\t\tconnection\.\w+ = |\t\tlast_\w+ = |\t\tup time = |\t*disk (?:free|available) space *= ).*$`),
	regexp.MustCompile(`(connections \{)[^}]*`),
	regexp.MustCompile(`(up_time: |last_heartbeat_time: )\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`),
	regexp.MustCompile(`(free: |avail: |util: |space: |ratio: )[^,}]*`),
}

// masked replaces what each expression matches but its first group with
// "<v>".
func masked(s string, res []*regexp.Regexp) string {
	for _, re := range res {
		s = re.ReplaceAllString(s, "${1}<v>")
	}
	return s
}

// sameMasked is same with the volatile values masked; the two runs are
// repeated (up to 5 times) while they differ, as a heartbeat may land
// between them.
func (c *comparer) sameMasked(tool string, args ...string) {
	c.e.t.Helper()
	mask := func(r result) string { return masked(seen(r, false), volatile) }
	var up, our string
	for range 5 {
		up = mask(c.e.runProgram(upstream, tool, args...))
		our = mask(c.e.runProgram(ours, tool, args...))
		if up == our {
			return
		}
		time.Sleep(time.Second)
	}
	c.e.t.Errorf("%s %s: outputs differ\n--- upstream:\n%s\n--- ours:\n%s", tool, strings.Join(args, " "), up, our)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testProgramMasks hide what differs between two runs of fdfs_test or
// fdfs_test1 by construction: the banner (upstream's copyright notice,
// our own line), the random part of new names, their time, and which
// storage the tracker chose.
var testProgramMasks = []*regexp.Regexp{
	regexp.MustCompile(`(?s)(This is FastDFS client test program v[\d.]+\n\n)(?:Copyright.*?for more detail\.\n\n|\(the fdfs binary[^\n]*\n\n)`),
	regexp.MustCompile(`(file timestamp=)[0-9 :-]+`),
	regexp.MustCompile(`(M[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-F]{2}/)[0-9A-Za-z_-]{27}(?:[0-9A-Za-z_-]{16})?[0-9]*`), // with a trunk location, and the extension area's random digits
	regexp.MustCompile(`(ip_addr=|source ip address: |http://|storage=|\t)[0-9.]+`),
	regexp.MustCompile(`(file save to )[0-9A-Za-z_-]{27}(?:[0-9A-Za-z_-]{16})?[0-9]*`),
}

// sameTestProgram runs upstream's fdfs_test or fdfs_test1 with upArgs and
// ours with ourArgs and compares their output with testProgramMasks; it
// returns the file IDs of the example URLs each printed.
func (c *comparer) sameTestProgram(tool string, upArgs, ourArgs []string) (up, our []string) {
	c.e.t.Helper()
	mask := func(r result) string { return masked(seen(r, false), testProgramMasks) }
	ur := c.e.runProgram(upstream, tool, upArgs...)
	or := c.e.runProgram(ours, tool, ourArgs...)
	// Reads of the two programs' files: see replicaRetries.
	read := len(upArgs) > 1 && slices.Contains([]string{"query_servers", "download", "getmeta"}, upArgs[1])
	for i := 0; i < replicaRetries && read && mask(ur) != mask(or); i++ {
		time.Sleep(replicaPause)
		ur, or = c.e.runProgram(upstream, tool, upArgs...), c.e.runProgram(ours, tool, ourArgs...)
	}
	if mask(ur) != mask(or) {
		c.e.t.Errorf("%s %s: outputs differ\n--- upstream:\n%s\n--- ours:\n%s", tool, strings.Join(upArgs, " "), mask(ur), mask(or))
	}
	urls := regexp.MustCompile(`example file url: http://[^/]+/(\S+?)(?:\?|\n)`)
	for _, m := range urls.FindAllStringSubmatch(ur.stdout, -1) {
		up = append(up, m[1])
	}
	for _, m := range urls.FindAllStringSubmatch(or.stdout, -1) {
		our = append(our, m[1])
	}
	return up, our
}

// sameTestPrograms: fdfs_test and fdfs_test1, the programs install guides
// check a cluster with, through every operation.
func sameTestPrograms(c *comparer, text string) {
	conf := c.e.clientConf
	for _, tool := range []string{"fdfs_test", "fdfs_test1"} {
		c.sameTestProgram(tool, []string{}, []string{})
		c.sameTestProgram(tool, []string{conf}, []string{conf})
		c.sameTestProgram(tool, []string{conf, "upload"}, []string{conf, "upload"})
		c.sameTestProgram(tool, []string{conf, "nonsense"}, []string{conf, "nonsense"})
		c.sameTestProgram(tool, []string{conf, "upload", filepath.Join(c.e.work, "nofile")}, []string{conf, "upload", filepath.Join(c.e.work, "nofile")})
		var up, our []string
		for _, mode := range []string{"FILE", "BUFF", "CALLBACK"} {
			u, o := c.sameTestProgram(tool, []string{conf, "upload", text, mode}, []string{conf, "upload", text, mode})
			up, our = append(up, u...), append(our, o...)
		}
		if len(up) != 6 || len(our) != 6 {
			c.e.t.Fatalf("%s upload: example URLs %q and %q, want 6 each", tool, up, our)
		}
		file := func(id string) []string {
			if tool == "fdfs_test1" {
				return []string{id}
			}
			group, name, _ := strings.Cut(id, "/")
			return []string{group, name}
		}
		each := func(op string, upID, ourID string, extra ...string) {
			c.sameTestProgram(tool, append(append([]string{conf, op}, file(upID)...), extra...),
				append(append([]string{conf, op}, file(ourID)...), extra...))
		}
		for _, op := range []string{"getmeta", "query_servers"} {
			each(op, up[0], our[0])
		}
		each("setmeta", up[0], our[0], "M", "a=1,b=2,noeq,width=320")
		each("setmeta", up[0], our[0])
		each("getmeta", up[1], our[1])
		each("setmeta", up[1], our[1], "X", "a=1")
		each("download", up[0], our[0])
		each("download", up[2], our[2], "CALLBACK")
		for i := range up {
			each("delete", up[i], our[i])
		}
		each("delete", up[0], our[0])
		each("getmeta", up[0], our[0])
		each("download", up[0], our[0])
	}
}

// sameAppenderPrograms: fdfs_appender_test and fdfs_appender_test1
// (upload an appender file, truncate, append, modify), in each mode.
func sameAppenderPrograms(c *comparer, text string) {
	conf := c.e.clientConf
	for _, tool := range []string{"fdfs_appender_test", "fdfs_appender_test1"} {
		c.sameTestProgram(tool, []string{}, []string{})
		c.sameTestProgram(tool, []string{conf}, []string{conf})
		nofile := filepath.Join(c.e.work, "nofile")
		c.sameTestProgram(tool, []string{conf, nofile}, []string{conf, nofile})
		for _, mode := range []string{"FILE", "BUFF", "CALLBACK", "OTHER"} {
			c.sameTestProgram(tool, []string{conf, text, mode}, []string{conf, text, mode})
		}
	}
}
