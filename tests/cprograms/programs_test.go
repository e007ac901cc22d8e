package cprograms

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/ctools"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// run is one program run.
type run struct {
	stdout, stderr string
	code           int
}

// program runs the named program in process, as the fdfs binary does
// when called by that name.
func program(t *testing.T, name string, args ...string) run {
	t.Helper()
	var out, errw bytes.Buffer
	code := ctools.Run(t.Context(), append([]string{name}, args...), &out, &errw)
	return run{out.String(), errw.String(), code}
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// expect fails the test unless the run exited with code and its stdout
// matches the regular expression (anchored at both ends).
func (r run) expect(t *testing.T, what string, code int, stdout string) {
	t.Helper()
	if r.code != code || !regexp.MustCompile(`^(?s:`+stdout+`)$`).MatchString(r.stdout) {
		t.Fatalf("%s: want exit %d and stdout matching %q, got\n%s", what, code, stdout, r)
	}
}

const idRe = `group1/M00/[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-Za-z_-]{27}[0-9A-Za-z_-]*`

func TestFilePrograms(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	conf := c.ClientConfPath
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := []byte("hello, programs\n")
	blob := make([]byte, 300_000)
	rand.NewChaCha8([32]byte{1}).Read(blob)
	textFile, blobFile := write("hello.txt", text), write("photo.tar.gz", blob)

	r := program(t, "fdfs_upload_file", conf, textFile)
	r.expect(t, "upload", 0, idRe+`\.txt\n`)
	textID := strings.TrimSpace(r.stdout)
	r = program(t, "fdfs_upload_file", conf, blobFile, c.Storages[1].Addr(), "0")
	r.expect(t, "upload to a given storage", 0, idRe+`\.tar\.gz\n`)
	blobID := strings.TrimSpace(r.stdout)

	// Downloads: whole, ranged, to the ID's base name in the working
	// directory, and of a missing file (reported on stdout, exit 0).
	out := filepath.Join(dir, "out")
	program(t, "fdfs_download_file", conf, blobID, out).expect(t, "download", 0, "")
	sameFile(t, out, blob)
	program(t, "fdfs_download_file", conf, blobID, out, "1000", "5000").expect(t, "ranged download", 0, "")
	sameFile(t, out, blob[1000:6000])
	t.Chdir(dir)
	program(t, "fdfs_download_file", conf, textID).expect(t, "download to the base name", 0, "")
	sameFile(t, filepath.Join(dir, filepath.Base(textID)), text)
	missing := "group1/M00/00/00/" + strings.Repeat("A", 27) + ".txt"
	program(t, "fdfs_download_file", conf, missing, filepath.Join(dir, "nothing")).
		expect(t, "download of a missing file", 0, "download file fail, error no: 2, error info: No such file or directory\n")
	if _, err := os.Stat(filepath.Join(dir, "nothing")); err == nil {
		t.Fatal("a failed download left a local file")
	}
	downloadThroughLinksAndPipes(t, conf, dir, blobID, blob)

	// File info decoded from a normal file's name.
	ip, _, _ := net.SplitHostPort(c.Storages[1].Addr())
	r = program(t, "fdfs_file_info", conf, blobID)
	r.expect(t, "file info", 0, fmt.Sprintf("GET FROM SERVER: false\n\nfile type: normal\nsource storage id: 0\n"+
		"source ip address: %s\nfile create timestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\nfile size: %d\n"+
		"file crc32: %d \\(0x%08x\\)\n\n", regexp.QuoteMeta(ip), len(blob), int32(crc32.ChecksumIEEE(blob)), crc32.ChecksumIEEE(blob)))
	program(t, "fdfs_crc32", blobFile).expect(t, "crc32", 0, fmt.Sprintf("%x\n", crc32.ChecksumIEEE(blob)))

	// An appender: upload, append, info from the storage, regenerate.
	r = program(t, "fdfs_upload_appender", conf, textFile)
	r.expect(t, "upload appender", 0, idRe+`\.txt\n`)
	appID := strings.TrimSpace(r.stdout)
	program(t, "fdfs_append_file", conf, appID, blobFile).expect(t, "append", 0, "")
	all := append(append([]byte(nil), text...), blob...)
	program(t, "fdfs_file_info", "-n", conf, appID).expect(t, "appender info without CRC32", 0,
		fmt.Sprintf("GET FROM SERVER: true\n\nfile type: appender\nsource storage id: 0\nsource ip address: [0-9.]+\n"+
			"file create timestamp: [0-9 :-]+\nfile size: %d\n\n", len(all)))
	program(t, "fdfs_file_info", conf, appID).expect(t, "appender info", 0,
		fmt.Sprintf(".*file size: %d\nfile crc32: %d \\(0x%08x\\)\n\n", len(all), int32(crc32.ChecksumIEEE(all)), crc32.ChecksumIEEE(all)))
	program(t, "fdfs_append_file", conf, textID, textFile).
		expect(t, "append to a normal file", 22, "append file fail, error no: 22, error info: Invalid argument\n")
	r = program(t, "fdfs_regenerate_filename", conf, appID)
	r.expect(t, "regenerate", 0, idRe+`\.txt\n`)
	newID := strings.TrimSpace(r.stdout)
	program(t, "fdfs_download_file", conf, newID, out).expect(t, "download regenerated", 0, "")
	sameFile(t, out, all)
	r = program(t, "fdfs_file_info", conf, appID)
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "query file info fail, error no: 2, error info: No such file or directory\n") {
		t.Fatalf("info of the regenerated appender's old name:\n%s", r)
	}

	// Deletes.
	program(t, "fdfs_delete_file", conf, textID).expect(t, "delete", 0, "")
	program(t, "fdfs_delete_file", conf, textID).
		expect(t, "delete again", 2, "delete file fail, error no: 2, error info: No such file or directory\n")
}

// downloadThroughLinksAndPipes: a download to a symbolic link writes its
// target, and one to a pipe (as `fdfs_download_file CONF ID /dev/stdout |
// ...` does) streams into it, as upstream's open(O_TRUNC) of the path.
func downloadThroughLinksAndPipes(t *testing.T, conf, dir, id string, want []byte) {
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	program(t, "fdfs_download_file", conf, id, link).expect(t, "download through a link", 0, "")
	sameFile(t, target, want)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the target's mode became %v", fi.Mode())
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until the program opens the pipe
		got <- b
	}()
	program(t, "fdfs_download_file", conf, id, fifo).expect(t, "download into a pipe", 0, "")
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Fatalf("the pipe carried %d bytes, want %d", len(b), len(want))
		}
	case <-time.After(time.Minute): // a bound, not a speed check: the reader waits for an open that never came
		t.Fatal("the download did not write into the pipe (it was replaced by a file?)")
	}
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes (%v), want %d", path, len(got), err, len(want))
	}
}

// TestFailures: what a script sees when the programs cannot work.
func TestFailures(t *testing.T) {
	dir := t.TempDir()
	conf := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A port nobody listens on: the listener is closed before use.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	deadConf := conf("dead.conf", "base_path = /tmp\nconnect_timeout = 2\ntracker_server = "+dead+"\n")
	noTracker := conf("none.conf", "base_path = /tmp\n")
	badValue := conf("bad.conf", "tracker_server = "+dead+"\nnetwork_timeout = soon\n")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // regular expression
	}{
		{"usage", []string{"fdfs_upload_file"}, 1, `Usage: fdfs_upload_file <config_file> <local_filename> \[storage_ip:port\] \[store_path_index\]\n`},
		{"usage on stderr", []string{"fdfs_file_info", "only-one"}, 1, ``},
		{"monitor usage", []string{"fdfs_monitor", "-h"}, 0, `\nUsage:\n  fdfs_monitor <client_cfg_file> .*`},
		{"missing conf", []string{"fdfs_upload_file", filepath.Join(dir, "nothing.conf"), "x"}, 2, ``},
		{"no tracker_server", []string{"fdfs_delete_file", noTracker, "group1/x"}, 2, ``},
		{"bad value", []string{"fdfs_upload_file", badValue, "x"}, 22, ``},
		{"tracker down", []string{"fdfs_upload_file", deadConf, "x"}, 115, ``},
		{"tracker down, download", []string{"fdfs_download_file", deadConf, "group1/x"}, 115, ``},
		{"tracker down, monitor", []string{"fdfs_monitor", deadConf}, 115, `tracker server count=1, current server index=0\n`},
		{"tracker down, stat", []string{"fdfs_storage_stat", "-c", deadConf}, 115, ``},
		{"monitor -h unknown tracker", []string{"fdfs_monitor", deadConf, "-h", "10.1.1.1:22122"}, 2, `tracker server: 10.1.1.1:22122 not exists!\n`},
		{"crc32 of a missing file", []string{"fdfs_crc32", filepath.Join(dir, "nofile")}, 2, `file: fdfs_crc32.c, line: 43, open file .*nofile fail, errno: 2, error info: No such file or directory\n`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			program(t, tc.args[0], tc.args[1:]...).expect(t, tc.name, tc.code, tc.stdout)
		})
	}
}

// TestClusterPrograms: fdfs_monitor and the stat programs on a running
// cluster, and fdfs_monitor's operations.
func TestClusterPrograms(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	conf := c.ClientConfPath
	ips := make([]string, len(c.Storages))
	for i, s := range c.Storages {
		ips[i] = regexp.QuoteMeta(s.Addr())
	}
	hosts := `(` + strings.Join(ips, "|") + `)`
	r := program(t, "fdfs_monitor", conf)
	r.expect(t, "monitor", 0, `tracker server count=1, current server index=0\n\ntracker server is `+regexp.QuoteMeta(c.TrackerAddr())+
		`\n\ngroup count: 1\n\nGroup 1:\ngroup name = group1\n.*storage server count = 2\n.*`)
	for _, want := range []string{`(?m)^\t\thost = ` + hosts + `  ACTIVE$`, `(?m)^\t\tread write mode = both \(normal\)$`,
		`(?m)^\t\tstotal_download_bytes = \d+$`, `(?m)^disk total space     = +[0-9.]+ [KMGTP]B$`} {
		if n := len(regexp.MustCompile(want).FindAllString(r.stdout, -1)); n == 0 {
			t.Errorf("monitor output has no line matching %q:\n%s", want, r.stdout)
		}
	}
	program(t, "fdfs_monitor", conf, "list", "nogroup").expect(t, "monitor of an unknown group", 0, `tracker server count=1.*\n\n`)
	program(t, "fdfs_monitor", conf, "delete", "group1", "10.9.9.9").expect(t, "delete an unknown storage", 0,
		`.*delete storage server group1::10.9.9.9 fail, error no: 2, error info: No such file or directory\n`)
	program(t, "fdfs_monitor", conf, "delete", "group1", c.Storages[0].IP).expect(t, "delete an active storage", 0,
		`.*delete storage server group1::[0-9.]+ fail, error no: 16, error info: Device or resource busy\n`)
	program(t, "fdfs_monitor", conf, "set_trunk_server", "group1").expect(t, "set a trunk server, trunk files off", 0,
		`.*set trunk server group1:: fail, error no: 95, error info: Operation not supported\n`)
	program(t, "fdfs_monitor", conf, "nonsense").expect(t, "unknown operation", 0, `.*Invalid command nonsense\n\n\nUsage:.*`)

	program(t, "fdfs_storage_stat", "-c", conf, "-A").expect(t, "active storages", 0,
		`\n`+hosts+` ACTIVE, connections \{alloc: \d+, current: \d+, max: \d+\}\n`+hosts+` ACTIVE, connections .*\n\nstorage server count: 2\n\n`)
	program(t, "fdfs_storage_stat", "-c", conf, "-N").expect(t, "storages not active", 0, ``)
	program(t, "fdfs_tracker_stat", "-c", conf, "-d").expect(t, "trackers", 0,
		`\n`+regexp.QuoteMeta(c.TrackerAddr())+`, is_leader: 1, is_active: 1, connections \{.*\}\n  version: .*, up_time: [0-9 :-]+\n\n\ntracker server count: 1\n\n`)
	program(t, "fdfs_volumn_stat", "-c", conf).expect(t, "volumes", 0,
		`\ngroup1 disk_available: 1, disk space \{total: .*, free: .*, reserved: .*, avail: .*, util: \d+\.\d\d%\}\n\nstorage volumn / group count: 1\n\n`)
}

// TestTestPrograms: fdfs_test and fdfs_test1, the programs FastDFS's
// install guides check a cluster with, through each operation.
func TestTestPrograms(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	conf := c.ClientConfPath
	dir := t.TempDir()
	t.Chdir(dir)
	local := filepath.Join(dir, "photo.jpg")
	content := []byte("not really a photo\n")
	if err := os.WriteFile(local, content, 0o644); err != nil {
		t.Fatal(err)
	}
	crc := crc32.ChecksumIEEE(content)
	r := program(t, "fdfs_test", conf, "upload", local)
	r.expect(t, "fdfs_test upload", 0, `This is FastDFS client test program v6\.16\.1\n.*`+
		`tracker_query_storage_store_list_without_group: \n\tserver 1\. group_name=, ip_addr=[0-9.]+, port=\d+\n.*`+
		`storage_upload_by_filename\ngroup_name=group1, remote_filename=(M00/[0-9A-F/]{6}[\w-]{27}\d*)\.jpg\n`+
		`source ip address: [0-9.]+\nfile timestamp=[0-9 :-]+\nfile size=19\n`+fmt.Sprintf("file crc32=%d\n", crc)+
		`example file url: http://[0-9.]+/group1/M00/\S+\.jpg\nstorage_upload_slave_by_filename\n`+
		`group_name=group1, remote_filename=M00/\S+_big\.jpg\n.*example file url: http://[0-9.]+/group1/M00/\S+_big\.jpg\n`)
	name := regexp.MustCompile(`remote_filename=(\S+)`).FindStringSubmatch(r.stdout)[1]

	program(t, "fdfs_test", conf, "getmeta", "group1", name).expect(t, "getmeta", 0,
		`.*get meta data success, meta count=4\next_name=jpg\nfile_size=115120\nheight=80\nwidth=160\n`)
	program(t, "fdfs_test", conf, "setmeta", "group1", name, "O", "a=1,skipped,b=2").expect(t, "setmeta", 0, `.*set meta data success\n`)
	program(t, "fdfs_test1", conf, "getmeta", "group1/"+name).expect(t, "getmeta by ID", 0,
		`.*storage=[0-9.]+:\d+\nget meta data success, meta count=2\na=1\nb=2\n`)
	program(t, "fdfs_test", conf, "setmeta", "group1", name, "X", "a=1").expect(t, "setmeta with a bad flag", 0,
		`.*setmeta fail, error no: 22, error info: Invalid argument\n`)
	program(t, "fdfs_test1", conf, "download", "group1/"+name).expect(t, "download", 0,
		`.*download file success, file size=19, file save to `+regexp.QuoteMeta(filepath.Base(name))+`\n`)
	sameFile(t, filepath.Join(dir, filepath.Base(name)), content)
	program(t, "fdfs_test1", conf, "query_servers", "group1/"+name).expect(t, "query_servers", 0, `.*server list \([12]\):\n\t[0-9.]+:\d+\n.*`)
	program(t, "fdfs_test", conf, "delete", "group1", name).expect(t, "delete", 0, `.*delete file success\n`)
	program(t, "fdfs_test", conf, "delete", "group1", name).expect(t, "delete again", 0,
		`.*delete file fail, error no: 2, error info: No such file or directory\n`)

	r = program(t, "fdfs_test1", conf, "upload", local, "CALLBACK")
	r.expect(t, "fdfs_test1 upload", 0, `.*tracker_query_storage_store_list_with_group: \n\tserver 1\. group_name=group1, .*`+
		`storage_upload_by_callback\nsource ip address: .*storage_upload_slave_by_callback\n.*_small\.jpg\n`)
	program(t, "fdfs_test", conf, "nonsense").expect(t, "unknown operation", 22, `.*invalid operation: nonsense\n`)
	program(t, "fdfs_test1", conf, "getmeta").expect(t, "missing file ID", 22, `.*Usage: fdfs_test1 <config_file> getmeta <file_id>\n`)
}

// TestAppenderTestPrograms: fdfs_appender_test and fdfs_appender_test1,
// upstream's check of appender files (upload, truncate, append, modify),
// in each upload mode; the file must end with the bytes each step wrote.
func TestAppenderTestPrograms(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	conf := c.ClientConfPath
	dir := t.TempDir()
	local := filepath.Join(dir, "video.log")
	content := []byte("0123456789abcdefghij\n") // 21 bytes: half is 10
	if err := os.WriteFile(local, content, 0o644); err != nil {
		t.Fatal(err)
	}
	info := `source ip address: [0-9.]+\nfile timestamp=[0-9 :-]+\nfile size=%d\n`
	for _, tc := range []struct {
		tool, mode, label, label1 string
		truncated                 int
	}{
		{"fdfs_appender_test", "", "filename", "", 10},
		{"fdfs_appender_test", "BUFF", "filebuff", "", 10},
		{"fdfs_appender_test1", "CALLBACK", "callback", "1", 0},
		{"fdfs_appender_test1", "FILE", "filename", "", 0},
	} {
		args := []string{conf, local}
		if tc.mode != "" {
			args = append(args, tc.mode)
		}
		r := program(t, tc.tool, args...)
		named := `group_name=group1, remote_filename=(M00/\S+\.log)\n`
		upload := tc.label
		if tc.tool == "fdfs_appender_test1" {
			named, upload = `fild_id=(group1/M00/\S+\.log)\n`, tc.label+"1"
		}
		n := len(content)
		r.expect(t, tc.tool+" "+tc.mode, 0, `This is FastDFS client test program v6\.16\.1\n.*`+
			`group_name=group1, ip_addr=[0-9.]+, port=\d+\nstorage_upload_appender_by_`+upload+`\n`+named+
			fmt.Sprintf(info, n)+`file crc32=\d+\nfile url: http://[0-9.]+/group1/M00/\S+\.log\n`+
			fmt.Sprintf(info, tc.truncated)+`file crc32=\d+\nfile url: .*\n`+
			`storage_append_by_`+tc.label+tc.label1+`\nappend file successfully\.\n`+fmt.Sprintf(info, tc.truncated+n)+
			`storage_modify_by_`+tc.label+tc.label1+`\nmodify file successfully\.\n`+fmt.Sprintf(info, tc.truncated+2*n))
		if r.stderr != "" {
			t.Errorf("%s %s: stderr %q", tc.tool, tc.mode, r.stderr)
		}
		m := regexp.MustCompile(`(?:remote_filename|fild_id)=(\S+)`).FindStringSubmatch(r.stdout)
		if m == nil {
			continue
		}
		id := m[1]
		if tc.tool == "fdfs_appender_test" {
			id = "group1/" + id
		}
		out := filepath.Join(dir, "got")
		program(t, "fdfs_download_file", conf, id, out).expect(t, "download", 0, "")
		sameFile(t, out, slices.Concat(content[:tc.truncated], content, content))
	}
	program(t, "fdfs_appender_test", conf).expect(t, "usage", 1,
		`.*Usage: fdfs_appender_test <config_file> <local_filename> \[FILE \| BUFF \| CALLBACK\]\n`)
	program(t, "fdfs_appender_test1", conf, filepath.Join(dir, "nofile")).expect(t, "no local file", 2,
		`.*storage_upload_appender_by_filename1\nupload file fail, error no: 2, error info: No such file or directory\n`)
}
