package conf

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func isConfError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

// Error names the file, the line when there is one, the key and the
// accepted forms, and is no wire status.
func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{File: "storage.conf", Key: "base_path", Problem: "not set", Accepted: "an absolute directory"},
			"storage.conf: base_path: not set (accepted: an absolute directory)"},
		{&Error{File: "/etc/fdfs/tracker.conf", Line: 12, Key: "store_lookup", Problem: "3 is not a store_lookup", Accepted: "0, 1 or 2"},
			"/etc/fdfs/tracker.conf:12: store_lookup: 3 is not a store_lookup (accepted: 0, 1 or 2)"},
		{&Error{Key: "port", Problem: "-1 is out of range", Accepted: "0..65535"},
			"<config>: port: -1 is out of range (accepted: 0..65535)"},
		{&Error{File: "storage_ids.conf", Line: 2, Problem: "duplicate storage id 1 (line 1)"},
			"storage_ids.conf:2: duplicate storage id 1 (line 1)"},
		{&Error{File: "a.conf", Line: 3, Key: "#include b.conf", Problem: "cannot be read", Err: fs.ErrNotExist},
			"a.conf:3: #include b.conf: cannot be read: file does not exist"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if protocol.StatusOf(tc.err) == protocol.EINVAL {
			t.Errorf("%q maps to a wire status", tc.want)
		}
	}
}

// Loading reports *Error with the file, the line of the key (none when
// the key is absent), the key and the accepted forms.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, kind, conf string
		line             int
		key, problem     string
	}{
		{"base_path absent", "storage", "tracker_server = h:1\n", 0, "base_path", "not set"},
		{"base_path empty", "tracker", "port = 1\nbase_path =\n", 2, "base_path", "empty"},
		{"store_lookup", "tracker", "base_path = /b\nstore_lookup = 3\n", 2, "store_lookup", "3 is not a store_lookup"},
		{"store_group", "tracker", "base_path = /b\nstore_lookup = 1\n", 0, "store_group", "missing"},
		{"boolean", "storage", "base_path = /b\ntracker_server = h:1\n\ndisabled = maybe\n", 4, "disabled", `"maybe" is not a boolean`},
		{"negative delay", "storage", "base_path = /b\ntracker_server = h:1\nrefill_new_disk_after = -5\n", 3, "refill_new_disk_after", "-5 is negative"},
		{"include", "tracker", "#include http://x/y.conf\n", 1, "#include http://x/y.conf", "including a URL is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"x.conf": tc.conf})
			path := filepath.Join(dir, "x.conf")
			var err error
			if tc.kind == "tracker" {
				_, err = LoadTracker(path)
			} else {
				_, err = LoadStorage(path)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if ce.File != path || ce.Line != tc.line || ce.Key != tc.key || !strings.HasPrefix(ce.Problem, tc.problem) {
				t.Errorf("err = %+v, want %s line %d key %s problem %q", ce, path, tc.line, tc.key, tc.problem)
			}
			if tc.key != "" && !strings.HasPrefix(tc.key, "#") && ce.Accepted == "" {
				t.Errorf("%v: no accepted forms", err)
			}
		})
	}
}

// KeyError names the line of a key the file sets, the file alone when it
// does not, and "<config>" for a config built in code.
func TestKeyError(t *testing.T) {
	f, err := ParseFile([]byte("a = 1\nport = 70000\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "storage.conf"
	for _, tc := range []struct {
		f    *File
		key  string
		want string
	}{
		{f, "port", "storage.conf:2: port: 70000 is out of range (accepted: 0..65535)"},
		{f, "base_path", "storage.conf: base_path: 70000 is out of range (accepted: 0..65535)"},
		{nil, "port", "<config>: port: 70000 is out of range (accepted: 0..65535)"},
	} {
		if got := KeyError(tc.f, tc.key, "70000 is out of range", "0..65535").Error(); got != tc.want {
			t.Errorf("KeyError(%s) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// The placement settings keep upstream's numbers and have names.
func TestPlacementModes(t *testing.T) {
	tr, err := ParseTracker([]byte("base_path = /b\nstore_lookup = 0\nstore_server = 2\nstore_path = 2\ndownload_server = 1\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.StoreLookup != StoreLookupRoundRobin || tr.StoreServer != StoreServerFirstByPri ||
		tr.StorePath != StorePathLoadBalance || tr.DownloadServer != DownloadServerSourceFirst {
		t.Errorf("modes %d %d %d %d", tr.StoreLookup, tr.StoreServer, tr.StorePath, tr.DownloadServer)
	}
	for _, tc := range []struct {
		v    interface{ String() string }
		want string
	}{
		{StoreLookupSpecGroup, "specified group"}, {StoreLookupLoadBalance, "load balance"},
		{StoreServerFirstByIP, "first by ip"}, {StorePathRoundRobin, "round robin"},
		{StorePathMode(1), "unknown (1)"}, {DownloadServerSourceFirst, "source first"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", tc.v, got, tc.want)
		}
	}
	// A value outside the allowed ones is corrected with a warning naming
	// the numbers, as before.
	tr, err = ParseTracker([]byte("base_path = /b\nstore_path = 1\n"), "")
	if err != nil || tr.StorePath != StorePathRoundRobin || len(tr.Raw.Warnings) != 1 ||
		!strings.Contains(tr.Raw.Warnings[0], "1 is not one of [0 2]: set to 0") {
		t.Errorf("store_path = 1: %v %v %v", err, tr.StorePath, tr.Raw.Warnings)
	}
}
