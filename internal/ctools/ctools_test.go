package ctools

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"syscall"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestBytesHuman(t *testing.T) {
	for _, tc := range []struct {
		mb   int64
		want string
	}{
		{0, "0  B"}, {1, "1.0 MB"}, {9, "9.0 MB"}, {10, "10 MB"}, {1023, "1023 MB"},
		{1024, "1.0 GB"}, {1536, "1.5 GB"}, {10*1024 - 1, "10 GB"}, {37*1024 + 511, "37 GB"},
		{37*1024 + 512, "38 GB"}, {1 << 20, "1.0 TB"}, {3 << 30, "3.0 PB"},
	} {
		if got := mbHuman(tc.mb); got != tc.want {
			t.Errorf("mbHuman(%d) = %q, want %q", tc.mb, got, tc.want)
		}
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0  B"}, {1023, "1023  B"}, {1024, "1.0 KB"}, {1075, "1.0 KB"}, {1076, "1.1 KB"}, {10239, "10 KB"}} {
		if got := bytesHuman(tc.n); got != tc.want {
			t.Errorf("bytesHuman(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestSecondsHuman(t *testing.T) {
	for _, tc := range []struct {
		s    int64
		want string
	}{
		{-5, "0 second"}, {0, "0 second"}, {1, "1 second"}, {59, "59 seconds"}, {60, "1 minute"},
		{61, "1 minute 1 second"}, {3600, "1 hour"}, {7322, "2 hours 2 minutes 2 seconds"},
		{90061, "1 day 1 hour 1 minute 1 second"}, {172800, "2 days"}, {86401, "1 day 1 second"},
	} {
		if got := secondsHuman(tc.s); got != tc.want {
			t.Errorf("secondsHuman(%d) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestExtName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"a.txt", "txt"}, {"/tmp/x/photo.tar.gz", "tar.gz"}, {"a.b.c.jpeg", "c.jpeg"}, {"ab.jpeg", "jpeg"},
		{"x.toolong", ""}, {"noext", ""}, {"dir.d/file", ""}, {".bashrc", "bashrc"}, {"a.", ""},
		{"v1.2.tar.xz", "tar.xz"}, {"a.longer.gz", "gz"},
	} {
		if got := extName(tc.name); got != tc.want {
			t.Errorf("extName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAtoi(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int64
	}{{"12", 12}, {"12abc", 12}, {"abc", 0}, {"", 0}, {" -3", -3}, {"+7", 7}, {"-", 0}, {"99999999999999999999", 1<<63 - 1}} {
		if got := atoi(tc.s); got != tc.want {
			t.Errorf("atoi(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestStrerror(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{2, "No such file or directory"}, {22, "Invalid argument"}, {111, "Connection refused"},
		{28, "No space left on device"}, {95, "Operation not supported"}, {0, "Success"}, {-1, "Unknown error -1"}, {300, "Unknown error 300"},
	} {
		if got := strerror(tc.n); got != tc.want {
			t.Errorf("strerror(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{protocol.ErrNotFound, 2},
		{fmt.Errorf("op: %w", protocol.ErrExists), 17},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), 111},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}, 2},
		{errors.New("anything else"), 5},
	} {
		if got := code(tc.err); got != tc.want {
			t.Errorf("code(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&conf.Error{File: "c.conf", Key: "tracker_server", Problem: "missing"}, 2},
		{&conf.Error{File: "c.conf", Line: 3, Key: "network_timeout", Problem: "not a number"}, 22},
		{&conf.Error{File: "c.conf", Err: &fs.PathError{Op: "stat", Path: "c.conf", Err: syscall.EACCES}}, 13},
		{&fs.PathError{Op: "stat", Path: "c.conf", Err: syscall.ENOENT}, 2},
	} {
		if got := confCode(tc.err); got != tc.want {
			t.Errorf("confCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestGetopt(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		opts     string // letters, with =value for arguments
		rest     []string
		ok       bool
		errorOut string
	}{
		{[]string{"conf", "id"}, "", []string{"conf", "id"}, true, ""},
		{[]string{"-n", "conf", "-s", "id"}, "n s", []string{"conf", "id"}, true, ""},
		{[]string{"-ns", "conf", "id"}, "n s", []string{"conf", "id"}, true, ""},
		{[]string{"-c", "x.conf", "-A"}, "c=x.conf A", nil, true, ""},
		{[]string{"-cx.conf", "-Ad"}, "c=x.conf A d", nil, true, ""},
		{[]string{"-A", "--", "-N"}, "A", []string{"-N"}, true, ""},
		{[]string{"-", "conf"}, "", []string{"-", "conf"}, true, ""},
		{[]string{"-x"}, "", nil, false, "prog: invalid option -- 'x'\n"},
		{[]string{"-A", "-c"}, "A", nil, false, "prog: option requires an argument -- 'c'\n"},
	} {
		var stderr bytes.Buffer
		e := &env{argv: append([]string{"prog"}, tc.args...), errw: &stderr}
		opts, rest, ok := e.getopt("nsc:ANd")
		var got []string
		for _, o := range opts {
			s := string(o.c)
			if o.val != "" {
				s += "=" + o.val
			}
			got = append(got, s)
		}
		want := []string(nil)
		if tc.opts != "" {
			want = splitSpaces(tc.opts)
		}
		if !slices.Equal(got, want) || !slices.Equal(rest, tc.rest) || ok != tc.ok || stderr.String() != tc.errorOut {
			t.Errorf("getopt(%q) = %q, %q, %v, stderr %q; want %q, %q, %v, %q",
				tc.args, got, rest, ok, stderr.String(), want, tc.rest, tc.ok, tc.errorOut)
		}
	}
}

func splitSpaces(s string) []string {
	var out []string
	for _, f := range bytes.Fields([]byte(s)) {
		out = append(out, string(f))
	}
	return out
}

func TestCString(t *testing.T) {
	long := string(bytes.Repeat([]byte("a"), 200))
	if got := cString(long, fileIDSize); len(got) != fileIDSize-1 {
		t.Errorf("cString of 200 bytes kept %d, want %d", len(got), fileIDSize-1)
	}
	if got := cString("group1/x", fileIDSize); got != "group1/x" {
		t.Errorf("cString changed a short string: %q", got)
	}
}

func TestRunUnknownName(t *testing.T) {
	var out, errw bytes.Buffer
	if rc := Run(t.Context(), []string{"/usr/bin/fdfs_nothing"}, &out, &errw); rc != 1 || out.Len() != 0 || errw.Len() == 0 {
		t.Errorf("Run of an unknown name: %d, %q, %q", rc, out.String(), errw.String())
	}
	if !Is("/usr/local/bin/fdfs_upload_file") || Is("fdfs") || Is("fdfs_trackerd") {
		t.Error("Is: wrong answer")
	}
}

func TestCaptions(t *testing.T) {
	for st, want := range map[byte]string{protocol.StatusActive: "ACTIVE", protocol.StatusWaitSync: "WAIT_SYNC",
		protocol.StatusNone: "UNKNOWN", 42: "UNKNOWN"} {
		if got := statusCaption(st); got != want {
			t.Errorf("statusCaption(%d) = %q, want %q", st, got, want)
		}
	}
	for m, want := range map[byte]string{0: "none (disabled)", protocol.RWRead: "readonly", protocol.RWWrite: "writeonly",
		protocol.RWRead | protocol.RWWrite: "both (normal)", 1: "unknown"} {
		if got := rwCaption(m); got != want {
			t.Errorf("rwCaption(%d) = %q, want %q", m, got, want)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	for _, tc := range []struct {
		in, host, port string
		ok             bool
	}{
		{"10.0.0.1:23000", "10.0.0.1", "23000", true},
		{"10.0.0.1", "10.0.0.1", "", false},
		{"storage.example:23001", "storage.example", "23001", true},
		{"[::1]:23000", "::1", "23000", true},
		{"[fe80::1]", "fe80::1", "", false},
		{"fe80::1", "fe80::1", "", false},
		{"10.0.0.1:", "10.0.0.1", "", true},
	} {
		host, port, ok := splitHostPort(tc.in)
		if host != tc.host || port != tc.port || ok != tc.ok {
			t.Errorf("splitHostPort(%q) = %q, %q, %v; want %q, %q, %v", tc.in, host, port, ok, tc.host, tc.port, tc.ok)
		}
	}
}
