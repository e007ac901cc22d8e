package conf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseFileSyntax(t *testing.T) {
	data := "# comment\n" +
		"  key1 =  value one  \n" +
		"key2=v2\r\n" +
		"tracker_server = a:1\n" +
		"\ttracker_server=b:2\n" +
		"no equals sign here\n" +
		" = orphan value\n" +
		"empty =\n" +
		"url = http://x/?a=b\n" +
		"[section]\n" +
		"inner = 1\n" +
		"key1 = in section\n" +
		"[ ]\n" +
		"back = global\n" +
		"[error-log] # not a section line (no closing bracket at the end)\n" +
		"after = still global\n" +
		"[other]\n" +
		"[section]\n" +
		"inner = 2\n"
	f, err := ParseFile([]byte(data), "")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"key1": "value one", "key2": "v2", "tracker_server": "b:2", "empty": "",
		"url": "http://x/?a=b", "back": "global", "after": "still global"} {
		if got, ok := f.Lookup(key); !ok || got != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if got, ok := f.LookupIn("section", "inner"); !ok || got != "2" {
		t.Errorf("LookupIn(section, inner) = %q, %v (a repeated section merges)", got, ok)
	}
	if got, _ := f.LookupIn("section", "key1"); got != "in section" {
		t.Errorf("section key1 = %q", got)
	}
	if _, ok := f.Lookup("inner"); ok {
		t.Error("a section key is visible in the global part")
	}
	if got := f.All("tracker_server"); !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("All = %q", got)
	}
	if _, ok := f.Lookup("missing"); ok || f.Get("missing") != "" || len(f.All("missing")) != 0 {
		t.Error("missing key found")
	}
	if got := f.Keys(); !reflect.DeepEqual(got, []string{"key1", "key2", "tracker_server", "empty", "url", "back", "after"}) {
		t.Errorf("Keys = %q", got)
	}
	if got := f.SectionKeys("section"); !reflect.DeepEqual(got, []string{"inner", "key1"}) {
		t.Errorf("SectionKeys = %q", got)
	}
	if got := f.Sections(); !reflect.DeepEqual(got, []string{"section", "other"}) {
		t.Errorf("Sections = %q", got)
	}
	if e := f.entry("section", "inner"); e == nil || e.Line != 19 || e.Section != "section" {
		t.Errorf("entry = %+v", e)
	}
}

func TestLongNamesAndValues(t *testing.T) {
	long := strings.Repeat("v", 300)
	f, err := ParseFile([]byte(strings.Repeat("k", 70)+" = 1\nkey = "+long+"\nnul = a\x00b = 2\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Lookup(strings.Repeat("k", 63)); !ok {
		t.Error("a 70-byte name is not truncated to 63")
	}
	if got := f.Get("key"); got != long[:254] { // the 255 bytes after '=' include the blank
		t.Errorf("value not truncated to 255 bytes: %d", len(got))
	}
	if got, ok := f.Lookup("nul"); !ok || got != "a" {
		t.Errorf("NUL: %q %v", got, ok)
	}
	if len(f.Warnings) != 3 {
		t.Errorf("warnings = %q", f.Warnings)
	}
}

func TestIncludes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.conf":         "a = 1\n#include sub/inc.conf\nc = 3\n",
		"sub/inc.conf":      "b = 2\n#include sub/deeper.conf\n",
		"sub/deeper.conf":   "d = 4\na = 5\n",
		"nested.conf":       "#include sub/relative.conf\n",
		"sub/relative.conf": "#include deeper.conf\n", // resolved against the top file's dir, as upstream
		"loop.conf":         "#include loop.conf\n",
		"missing.conf":      "#include nope.conf\n",
		"noname.conf":       "#include\nx = 1\n", // no blank after "include": a comment
		"comment.conf":      "#included = 1\n#includes nope.conf\nx = 1\n",
		"upper.conf":        "#INCLUDE\tsub/deeper.conf\n#include file://sub/inc2.conf\n",
		"sub/inc2.conf":     "e = 5\n",
		"url.conf":          "#include http://example.com/x.conf\n",
		"section.conf":      "[error-log]\nk = 1\n#include sub/inc2.conf\nafter = 1\n",
	})
	f, err := LoadFile(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "5", "b": "2", "c": "3", "d": "4"} {
		if got := f.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := f.All("a"); !reflect.DeepEqual(got, []string{"1", "5"}) {
		t.Errorf("All(a) = %q", got)
	}
	// ParseFile resolves includes against the given dir.
	f, err = ParseFile([]byte("#include sub/inc.conf\n"), dir)
	if err != nil || f.Get("d") != "4" {
		t.Errorf("ParseFile include: %v, d=%q", err, f.Get("d"))
	}
	// Absolute include.
	abs := filepath.Join(dir, "sub", "deeper.conf")
	f, err = ParseFile([]byte("#include "+abs+"\n"), "/nonexistent")
	if err != nil || f.Get("d") != "4" {
		t.Errorf("absolute include: %v", err)
	}
	for _, name := range []string{"comment.conf", "noname.conf"} {
		f, err = LoadFile(filepath.Join(dir, name))
		if err != nil || f.Get("x") != "1" || len(f.Keys()) != 1 {
			t.Errorf("%s: %v %q", name, err, f.Keys())
		}
	}
	f, err = LoadFile(filepath.Join(dir, "upper.conf"))
	if err != nil || f.Get("d") != "4" || f.Get("e") != "5" {
		t.Errorf("#INCLUDE / file://: %v", err)
	}
	// After an include the includer is back in the global part.
	f, err = LoadFile(filepath.Join(dir, "section.conf"))
	if err != nil || f.Get("e") != "5" || f.Get("after") != "1" || f.Get("k") != "" {
		t.Errorf("section reset: %v %+v", err, f.Entries)
	}
	for _, name := range []string{"loop.conf", "missing.conf", "relative.conf", "url.conf"} {
		top := name
		if name == "relative.conf" {
			top = "nested.conf"
		}
		_, err := LoadFile(filepath.Join(dir, top))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	if _, err := LoadFile(filepath.Join(dir, "absent.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	// A file with no size to stat is read up to the bound, not until
	// memory runs out: /dev/zero would never end.
	if _, err := ParseFile([]byte("#include /dev/zero\n"), dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("#include /dev/zero: %v, want larger than the bound", err)
	}
	if _, err := LoadFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadFile(/dev/zero): %v, want larger than the bound", err)
	}
}

func TestDirectives(t *testing.T) {
	host, _ := os.Hostname()
	data := `#@set env = prod
#@set name = store-%{env}
#@if %{env} in [test, prod]
a = yes
#@else
a = no
#@endif
#@if %{LOCAL_HOST} in [` + host + `]
h = mine
#@endif
#@if %{nope} in [x]
n = 1
#@else
n = 2
#@endif
#@if %{LOCAL_IP} in [1.2.3.4]
ip = odd
#@endif
#@for i from 1 to 3
store_path{$i} = /d{$i}
  #@endfor
#@for j from 0 to 4 step 2
even = {$j}
#@endfor
#@for k from x to 3
kept = 1
#@endfor
#@function REPLACE_VARS
label = %{name}/%{missing}
#@function SHELL_EXEC
cmd = echo hi
#@function REPLACE_VARS

orphan = %{env}
#@set shell = $(hostname)
#@function REPLACE_VARS
sh = [%{shell}]
`
	f, err := ParseFile([]byte(data), "")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "yes", "h": "mine", "n": "2", "store_path1": "/d1", "store_path3": "/d3",
		"kept": "1", "label": "store-prod/%{missing}", "cmd": "echo hi", "orphan": "%{env}", "sh": "[]"} {
		if got := f.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if _, ok := f.Lookup("ip"); ok {
		t.Error("#@if LOCAL_IP matched 1.2.3.4")
	}
	if got := f.All("even"); !reflect.DeepEqual(got, []string{"0", "2", "4"}) {
		t.Errorf("even = %q", got)
	}
	if e := f.entry("", "store_path2"); e == nil || e.Line != 20 {
		t.Errorf("a #@for line keeps its template's number: %+v", e)
	}
	if len(f.Warnings) < 5 { // nope, for k, missing, SHELL_EXEC, orphan annotation, shell
		t.Errorf("warnings = %q", f.Warnings)
	}
	// LOCAL_IP_GET yields this host's addresses (possibly none: empty).
	f, err = ParseFile([]byte("#@function LOCAL_IP_GET\nbind_addr = inner[0]\n#@function LOCAL_IP_GET\nouter = outer[99]\n"), "")
	if err != nil || len(f.All("bind_addr")) != 1 || f.Get("outer") != "" {
		t.Errorf("LOCAL_IP_GET: %v %+v", err, f.Entries)
	}
	// A line without a name is dropped with its #@function, not run.
	if f, err = ParseFile([]byte("#@function SHELL_EXEC\n= echo hi\n"), ""); err != nil || len(f.Warnings) != 0 || len(f.Entries) != 0 {
		t.Errorf("nameless annotated line: %v %q %+v", err, f.Warnings, f.Entries)
	}
	// A #@function on the last line is reported at that line.
	for _, data := range []string{"x = 1\n#@function REPLACE_VARS\n", "x = 1\n#@function REPLACE_VARS"} {
		f, err = ParseFile([]byte(data), "")
		if err != nil || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], ":2: #@function REPLACE_VARS must be followed") {
			t.Errorf("%q: %v %q", data, err, f.Warnings)
		}
	}
	// Each block expanded copies the file: past a bound on the copies in
	// all, the blocks left are ignored (read once as they are), so that
	// many blocks cannot make the parse quadratic.
	many := strings.Repeat("#@for i from 0 to 0\nx{$i} = 1\n#@endfor\n", 20000)
	f, err = ParseFile([]byte(many), "")
	if err != nil || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "in all") || f.Get("x0") != "1" || f.Get("x{$i}") != "1" {
		t.Errorf("20,000 #@for blocks: %v %q", err, f.Warnings)
	}
	if _, err := ParseFile([]byte("#@add_annotation FOO /lib/foo.so\n"), ""); !isConfError(err) {
		t.Errorf("#@add_annotation: %v", err)
	}
}

func TestValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"123", 123, true}, {"0", 0, true}, {"256KB", 256 << 10, true}, {"256k", 256 << 10, true},
		{"1MB", 1 << 20, true}, {"1m", 1 << 20, true}, {"2GB", 2 << 30, true}, {"2G", 2 << 30, true},
		{"20g", 20 << 30, true}, {"1TB", 1 << 40, true}, {" 64 KB ", 64 << 10, true}, {"1 kb", 1 << 10, true},
		{"2gb", 2 << 30, true}, {"+5", 5, true}, {"64KB\t", 64 << 10, true},
		{"10B", 0, false}, {"1K B", 0, false}, {"", 0, false}, {"KB", 0, false}, {"-1", 0, false},
		{"1.5MB", 0, false}, {"12XB", 0, false}, {"1KBB", 0, false},
		{"99999999999999999999", 0, false}, {"9999999999G", 0, false},
	} {
		got, err := ParseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ParseBytes(%q) error not EINVAL: %v", tc.in, err)
		}
	}
	for in, want := range map[string]bool{"true": true, "YES": true, "on": true, "1": true, "false": false, "No": false, "off": false, "0": false} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "2", "maybe"} {
		if _, err := ParseBool(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ParseBool(%q) err = %v", bad, err)
		}
	}
	for _, tc := range []struct {
		in  string
		r   Reserved
		str string
	}{
		{"10%", Reserved{IsPercent: true, Percent: 10}, "10.00%"},
		{"20.5%", Reserved{IsPercent: true, Percent: 20.5}, "20.50%"},
		{"99.99%", Reserved{IsPercent: true, Percent: 99.99}, "99.99%"},
		{"1G", Reserved{Bytes: 1 << 30}, "1024MB"},
		{"512MB", Reserved{Bytes: 512 << 20}, "512MB"},
		{"1500000", Reserved{Bytes: 1500000}, "1MB"},
	} {
		got, err := ParseReserved(tc.in)
		if err != nil || got != tc.r || got.String() != tc.str {
			t.Errorf("ParseReserved(%q) = %+v (%s), %v", tc.in, got, got.String(), err)
		}
	}
	for _, bad := range []string{"", "%", "abc%", "101%", "100%", "0%", "-1%", "20 %", "x", "10B"} {
		if _, err := ParseReserved(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ParseReserved(%q) err = %v", bad, err)
		}
	}
	for in, want := range map[string][3]int{"2:5": {2, 5, 0}, "23:59:30x": {23, 59, 30}, " 01:30": {1, 30, 0}, "0:0": {0, 0, 0}} {
		h, m, s, ok := scanTime(in)
		if !ok || [3]int{h, m, s} != want {
			t.Errorf("scanTime(%q) = %d %d %d %v", in, h, m, s, ok)
		}
	}
	for _, bad := range []string{"", "2 :5", "24:00", "12:60", "noon", "12", "1:2:60"} {
		if _, _, _, ok := scanTime(bad); ok {
			t.Errorf("scanTime(%q) ok", bad)
		}
	}
}

// The hand-written samples in testdata/ carry keys of older versions too
// (rotate_error_log, http.server_port, ...): they must keep loading.
func TestLoadTrackerSample(t *testing.T) {
	tr, err := LoadTracker("testdata/tracker.conf")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata")
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("Port", tr.Port, 22122)
	check("BasePath", tr.BasePath, "/var/fdfs/tracker")
	check("ConnectTimeout", tr.ConnectTimeout, 5*time.Second)
	check("NetworkTimeout", tr.NetworkTimeout, 60*time.Second)
	check("MaxConnections", tr.MaxConnections, 1024)
	check("MinBuffSize", tr.MinBuffSize, 8*KB)
	check("MaxBuffSize", tr.MaxBuffSize, 256*KB) // raised to buff_size's default
	check("MaxPkgSize", tr.MaxPkgSize, 256*KB)
	check("StoreLookup", tr.StoreLookup, StoreLookupLoadBalance)
	check("StoreGroup", tr.StoreGroup, "") // only read for store_lookup=1
	check("Reserved", tr.ReservedStorageSpace.String(), "20.00%")
	check("AllowHosts", tr.AllowHosts, []string{"*"})
	check("CheckActiveInterval", tr.CheckActiveInterval, 120*time.Second)
	check("ThreadStackSize", tr.ThreadStackSize, 256*KB)
	check("SlotMaxSize", tr.SlotMaxSize, MB)
	check("TrunkAllocAlignmentSize", tr.TrunkAllocAlignmentSize, int64(256))
	check("TrunkFreeSpaceMerge", tr.TrunkFreeSpaceMerge, true)
	check("TrunkCreateFileSpaceThreshold", tr.TrunkCreateFileSpaceThreshold, 20*GB)
	check("TrunkCompressBinlogInterval", tr.TrunkCompressBinlogInterval, 86400*time.Second)
	check("TrunkBinlogMaxBackups", tr.TrunkBinlogMaxBackups, 7)
	check("StorageIDsFilename", tr.StorageIDsFilename, filepath.Join("testdata", "storage_ids.conf"))
	check("IDTypeInFilename", tr.IDTypeInFilename, "ip") // use_storage_id=false
	check("UseConnectionPool", tr.UseConnectionPool, true)
	check("ErrorLog", tr.ErrorLog, LogConfig{SyncLogBuffInterval: time.Second, RotateEveryday: true, RotateTime: "00:00",
		CompressDaysBefore: 1, KeepDays: 0, DeleteOldTime: "01:30"})
	// Every key of the sample is known to the Raw view too.
	if len(tr.Raw.Keys()) < 60 {
		t.Errorf("only %d keys parsed", len(tr.Raw.Keys()))
	}
	tr2, err := LoadTracker(filepath.Join(abs, "tracker.conf"))
	if err != nil || tr2.StorageIDsFilename != filepath.Join(abs, "storage_ids.conf") {
		t.Errorf("absolute load: %v %q", err, tr2.StorageIDsFilename)
	}
}

func TestTrackerDefaults(t *testing.T) {
	tr, err := ParseTracker([]byte("base_path = /tmp/x/\n"), "/etc/fdfs")
	if err != nil {
		t.Fatal(err)
	}
	want := Tracker{
		Port: 22122, OuterPort: 22122, BasePath: "/tmp/x", ConnectTimeout: 10 * time.Second, NetworkTimeout: 60 * time.Second,
		MaxConnections: 256, AcceptThreads: 1, WorkThreads: 4, MinBuffSize: 256 * KB, MaxBuffSize: 256 * KB, MaxPkgSize: 256 * KB,
		ReservedStorageSpace: Reserved{Bytes: GB}, LogLevel: "info", AllowHosts: []string{"*"},
		CheckActiveInterval: 100 * time.Second, ThreadStackSize: 256 * KB,
		StorageIPChangedAutoAdjust: true, StorageSyncFileMaxDelay: 86400 * time.Second,
		StorageSyncFileMaxTime: 300 * time.Second, SlotMinSize: 256, SlotMaxSize: 8 * MB, TrunkFileSize: 64 * MB,
		TrunkCreateFileTimeBase: "02:00", TrunkCreateFileInterval: 86400 * time.Second,
		TrunkCompressBinlogTimeBase: "03:00", StorageIDsFilename: "/etc/fdfs/storage_ids.conf",
		IDTypeInFilename: "ip", TrustStorageServerID: true, ConnectionPoolMaxIdleTime: 3600 * time.Second,
		AddressFamily: "auto", ResponseIPAddrSize: "auto", TCPQuickAck: true, UseSendZC: true,
		ErrorLog: LogConfig{SyncLogBuffInterval: time.Second, RotateEveryday: true, RotateTime: "00:00",
			CompressDaysBefore: 1, KeepDays: 15, DeleteOldTime: "01:30"},
	}
	tr.Raw = nil
	if !reflect.DeepEqual(*tr, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *tr, want)
	}
	if tr.ReservedStorageSpace.String() != "1024MB" {
		t.Errorf("reserved default renders %q", tr.ReservedStorageSpace.String())
	}
}

func TestTrackerValues(t *testing.T) {
	for _, tc := range []struct {
		conf  string
		check func(*Tracker) bool
		warns int
	}{
		{"port = 0", func(tr *Tracker) bool { return tr.Port == 0 }, 0},
		{"port = -3", func(tr *Tracker) bool { return tr.Port == 22122 }, 0},
		{"port =", func(tr *Tracker) bool { return tr.Port == 22122 }, 0},
		{"port = 22123 # comment", func(tr *Tracker) bool { return tr.Port == 22123 }, 1},
		{"inner_port = 22200\nport = 1", func(tr *Tracker) bool { return tr.Port == 22200 && tr.OuterPort == 22122 }, 1},
		{"connect_timeout = 0\nnetwork_timeout = -5", func(tr *Tracker) bool {
			return tr.ConnectTimeout == 10*time.Second && tr.NetworkTimeout == 60*time.Second
		}, 0},
		{"connect_timeout = 5s", func(tr *Tracker) bool { return tr.ConnectTimeout == 5*time.Second }, 1},
		{"store_lookup = 1\nstore_group = group7", func(tr *Tracker) bool { return tr.StoreGroup == "group7" }, 0},
		{"store_lookup = 1\nstore_group = abcdefghijklmnopq", func(tr *Tracker) bool { return tr.StoreGroup == "abcdefghijklmnop" }, 1},
		{"store_lookup =", func(tr *Tracker) bool { return tr.StoreLookup == 0 }, 0},
		{"store_server = 5\ndownload_server = 3\nstore_path = 1", func(tr *Tracker) bool {
			return tr.StoreServer == 0 && tr.DownloadServer == 0 && tr.StorePath == 0
		}, 3},
		{"use_trunk_file = true", func(tr *Tracker) bool { return tr.StoreServer == StoreServerFirstByIP }, 0},
		{"use_trunk_file = ", func(tr *Tracker) bool { return !tr.UseTrunkFile }, 0},
		{"use_storage_id = yes\nstorage_ids_filename = ids.conf\nid_type_in_filename = ID", func(tr *Tracker) bool { return tr.IDTypeInFilename == "id" }, 0},
		{"use_storage_id = on\nstorage_ids_filename = ids.conf\nid_type_in_filename = name", func(tr *Tracker) bool { return tr.IDTypeInFilename == "ip" }, 1},
		{"use_storage_id = on\nstorage_ids_filename = ids.conf\ntrust_storage_server_id = 0", func(tr *Tracker) bool {
			return tr.StorageIDsFilename == "/etc/fdfs/ids.conf" && !tr.TrustStorageServerID
		}, 0},
		{"storage_ids_filename = /abs/ids.conf", func(tr *Tracker) bool { return tr.StorageIDsFilename == "/abs/ids.conf" }, 0},
		{"reserved_storage_space = 2G", func(tr *Tracker) bool { return tr.ReservedStorageSpace == Reserved{Bytes: 2 * GB} }, 0},
		{"response_ip_addr_size = ipv6", func(tr *Tracker) bool { return tr.ResponseIPAddrSize == "IPv6" }, 0},
		{"response_ip_addr_size = IPv4", func(tr *Tracker) bool { return tr.ResponseIPAddrSize == "IPv6" }, 1},
		{"response_ip_addr_size = AUTO", func(tr *Tracker) bool { return tr.ResponseIPAddrSize == "auto" }, 0},
		{"min_buff_size = 1KB\nmax_buff_size = 4KB", func(tr *Tracker) bool {
			return tr.MinBuffSize == 4*KB && tr.MaxBuffSize == 256*KB && tr.MaxPkgSize == 256*KB
		}, 2},
		{"min_buff_size = 1MB\nmax_buff_size = 512KB", func(tr *Tracker) bool {
			return tr.MinBuffSize == MB && tr.MaxBuffSize == MB && tr.MaxPkgSize == 512*KB
		}, 1},
		{"buff_size = 16KB\nmin_buff_size = 8KB\nmax_buff_size = 128KB", func(tr *Tracker) bool {
			return tr.MinBuffSize == 8*KB && tr.MaxBuffSize == 128*KB && tr.MaxPkgSize == 128*KB
		}, 0},
		{"thread_stack_size = 1KB", func(tr *Tracker) bool { return tr.ThreadStackSize == 64*KB }, 1},
		{"slot_min_size = 1MB\nslot_max_size = 8MB\ntrunk_file_size = 1MB\ntrunk_alloc_alignment_size = 2MB", func(tr *Tracker) bool {
			return tr.SlotMinSize == 64*KB && tr.SlotMaxSize == 2*MB && tr.TrunkFileSize == 4*MB && tr.TrunkAllocAlignmentSize == 2
		}, 4},
		{"slot_max_size = 1GB", func(tr *Tracker) bool { return tr.SlotMaxSize == 32*MB }, 1},
		{"trunk_alloc_alignment_size = 512", func(tr *Tracker) bool { return tr.SlotMinSize == 512 }, 1},
		{"allow_hosts = 10.0.0.0/8\nallow_hosts = host[01-08].x", func(tr *Tracker) bool {
			return reflect.DeepEqual(tr.AllowHosts, []string{"10.0.0.0/8", "host[01-08].x"})
		}, 0},
		{"allow_hosts = 10.0.0.1\nallow_hosts = *", func(tr *Tracker) bool { return reflect.DeepEqual(tr.AllowHosts, []string{"*"}) }, 0},
		{"unknown_key = whatever", func(tr *Tracker) bool { return tr.Raw.Get("unknown_key") == "whatever" }, 0},
		{"trunk_create_file_time_base = 2:5", func(tr *Tracker) bool { return tr.TrunkCreateFileTimeBase == "02:05" }, 0},
		{"log_level = WARNING", func(tr *Tracker) bool { return tr.LogLevel == "warn" }, 0},
		{"log_level = LOG_ERR", func(tr *Tracker) bool { return tr.LogLevel == "error" }, 0},
		{"log_level = loud", func(tr *Tracker) bool { return tr.LogLevel == "info" }, 1},
		{"bind_addr = 192.168.2.100,2409:8a20:42d:2f40:587a:4c47:72c0:ad8e\nuse_storage_id = true\nstorage_ids_filename = ids.conf\nid_type_in_filename = id", func(tr *Tracker) bool {
			return tr.BindAddr == "192.168.2.100" && len(tr.BindAddrs) == 2
		}, 1},
		{"bind_addr = [::1]\naddress_family = ipv6\nuse_storage_id = true\nstorage_ids_filename = ids.conf\nid_type_in_filename = id", func(tr *Tracker) bool {
			return tr.BindAddr == "::1" && tr.AddressFamily == "IPv6"
		}, 0},
		{"[error-log]\nlog_file_keep_days = 3\nsync_log_buff_interval = 0", func(tr *Tracker) bool {
			return tr.ErrorLog.KeepDays == 3 && tr.ErrorLog.SyncLogBuffInterval == time.Second
		}, 0},
		{"log_file_rotate_on_size = 100MB\n[error-log]\nlog_file_rotate_time = 3:04", func(tr *Tracker) bool {
			return tr.ErrorLog.RotateOnSize == 100*MB && tr.ErrorLog.RotateTime == "03:04"
		}, 0},
		{"use_connection_pool = false\nconnection_pool_max_idle_time = 0", func(tr *Tracker) bool {
			return tr.ConnectionPoolMaxIdleTime == 3600*time.Second
		}, 0},
	} {
		tr, err := ParseTracker([]byte("base_path=/b\n"+tc.conf+"\n"), "/etc/fdfs")
		if err != nil || !tc.check(tr) {
			t.Errorf("%q: %v / %+v", tc.conf, err, tr)
			continue
		}
		if len(tr.Raw.Warnings) != tc.warns {
			t.Errorf("%q: warnings %q, want %d", tc.conf, tr.Raw.Warnings, tc.warns)
		}
	}
}

func TestConfErrors(t *testing.T) {
	for _, tc := range []struct {
		kind, conf, key, forms string
	}{
		{"tracker", "port = 22122", "base_path", "directory"},
		{"tracker", "base_path =", "base_path", "directory"},
		{"tracker", "base_path = /b\nport = 70000", "port", "1..65535"},
		{"tracker", "base_path = /b\nport = abc", "port", "1..65535"},
		{"tracker", "base_path = /b\nconnect_timeout = soon", "connect_timeout", "integer"},
		{"tracker", "base_path = /b\nnetwork_timeout = 99999999999", "network_timeout", "integer"},
		{"tracker", "base_path = /b\naccept_threads = 0", "accept_threads", "> 0"},
		{"tracker", "base_path = /b\nwork_threads = -1", "work_threads", "> 0"},
		{"tracker", "base_path = /b\naddress_family = ipv5", "address_family", "IPv4, IPv6 or both"},
		{"tracker", "base_path = /b\nbind_addr = ::zz", "bind_addr", "IPv6 address"},
		{"tracker", "base_path = /b\naddress_family = both", "use_storage_id", "true"},
		{"tracker", "base_path = /b\naddress_family = IPv6\nuse_storage_id = true", "id_type_in_filename", "id"},
		{"tracker", "base_path = /b\nstore_lookup = 3", "store_lookup", "2 (load balance)"},
		{"tracker", "base_path = /b\nstore_lookup = 1", "store_group", "group name"},
		{"tracker", "base_path = /b\nstore_lookup = 1\nstore_group =", "store_group", "group name"},
		{"tracker", "base_path = /b\nstore_lookup = 1\nstore_group = bad-name", "store_group", "letters and digits"},
		{"tracker", "base_path = /b\nreserved_storage_space = 100%", "reserved_storage_space", "percentage"},
		{"tracker", "base_path = /b\nreserved_storage_space = 0%", "reserved_storage_space", "percentage"},
		{"tracker", "base_path = /b\nreserved_storage_space = 20 %", "reserved_storage_space", "percentage"},
		{"tracker", "base_path = /b\nreserved_storage_space =", "reserved_storage_space", "percentage"},
		{"tracker", "base_path = /b\nreserved_storage_space = lots", "reserved_storage_space", "percentage"},
		{"tracker", "base_path = /b\nuse_trunk_file = maybe", "use_trunk_file", "yes, on, 1"},
		{"tracker", "base_path = /b\nslot_min_size = 0", "slot_min_size", "> 0"},
		{"tracker", "base_path = /b\nslot_min_size = 10B", "slot_min_size", "KB, MB"},
		{"tracker", "base_path = /b\nslot_min_size = 4KB\nslot_max_size = 4KB", "slot_max_size", "larger than slot_min_size"},
		{"tracker", "base_path = /b\ntrunk_file_size = 1.5GB", "trunk_file_size", "KB, MB"},
		{"tracker", "base_path = /b\ntrunk_create_file_time_base = 25:00", "trunk_create_file_time_base", "HH:MM"},
		{"tracker", "base_path = /b\ntrunk_compress_binlog_time_base =", "trunk_compress_binlog_time_base", "HH:MM"},
		{"tracker", "base_path = /b\nuse_storage_id = true\nstorage_ids_filename =", "storage_ids_filename", "file name"},
		{"tracker", "base_path = /b\nuse_connection_pool = true\nconnection_pool_max_idle_time = 0", "connection_pool_max_idle_time", "> 0"},
		{"tracker", "base_path = /b\nallow_hosts = 10.0.0.[1-3", "allow_hosts", "CIDR"},
		{"tracker", "base_path = /b\nrun_by_user = no-such-user-fdfs", "run_by_user", "existing name"},
		{"tracker", "base_path = /b\n[error-log]\nlog_file_keep_days = many", "[error-log] log_file_keep_days", "integer"},
		{"tracker", "base_path = /b\nlog_file_rotate_time = 7", "log_file_rotate_time", "HH:MM"},
		{"storage", "group_name = group1", "base_path", "directory"},
		{"storage", "base_path = /b", "tracker_server", "HOST[:PORT]"},
		{"storage", "base_path = /b\ntracker_server =", "tracker_server", "HOST[:PORT]"},
		{"storage", "base_path = /b\ntracker_server = 1.2.3.4:0", "tracker_server", "HOST[:PORT]"},
		{"storage", "base_path = /b\ntracker_server = ::1:22122", "tracker_server", "IPV6"},
		{"storage", "base_path = /b\ntracker_server = a,b,c:1", "tracker_server", "HOST1,HOST2"},
		{"storage", "base_path = /b\ntracker_server = 192.168.0.1,192.168.0.2:22122", "tracker_server", "inner"},
		{"storage", "base_path = /b\ntracker_server = 127.0.0.1:22122", "tracker_server", "HOST[:PORT]"},
		{"storage", "base_path = /b\ntracker_server = [::1]:22122", "tracker_server", "HOST[:PORT]"},
		{"storage", "base_path = /b\ntracker_server = h:1\nstore_path_count = 0", "store_path_count", "1 to 256"},
		{"storage", "base_path = /b\ntracker_server = h:1\nstore_path_count = 257", "store_path_count", "1 to 256"},
		{"storage", "base_path = /b\ntracker_server = h:1\nstore_path_count = 2", "store_path1", "directory"},
		{"storage", "base_path = /b\ntracker_server = h:1\nstore_path0 =", "store_path0", "directory"},
		{"storage", "base_path = /b\ntracker_server = h:1\nsubdir_count_per_path = 0", "subdir_count_per_path", "1 to 256"},
		{"storage", "base_path = /b\ntracker_server = h:1\nscrub_bytes_per_second = lots", "scrub_bytes_per_second", "byte size"},
		{"storage", "base_path = /b\ntracker_server = h:1\nscrub_bytes_per_second = -1", "scrub_bytes_per_second", "byte size"},
		{"storage", "base_path = /b\ntracker_server = h:1\nsubdir_count_per_path = 257", "subdir_count_per_path", "1 to 256"},
		{"storage", "base_path = /b\ntracker_server = h:1\ngroup_name = group_1", "group_name", "letters and digits"},
		{"storage", "base_path = /b\ntracker_server = h:1\ngroup_name =", "group_name", "letters and digits"},
		{"storage", "base_path = /b\ntracker_server = h:1\nport = 65536", "port", "1..65535"},
		{"storage", "base_path = /b\ntracker_server = h:1\nsync_start_time = noon", "sync_start_time", "HH:MM"},
		{"storage", "base_path = /b\ntracker_server = h:1\nsync_end_time =", "sync_end_time", "HH:MM"},
		{"storage", "base_path = /b\ntracker_server = h:1\ncheck_file_duplicate = 1", "key_namespace", "namespace"},
		{"storage", "base_path = /b\ntracker_server = h:1\nhttp.anti_steal.check_token = true", "http.anti_steal.secret_key", "secret"},
		{"storage", "base_path = /b\ntracker_server = h:1\nbuff_size = 1PB", "buff_size", "KB, MB"},
		{"storage", "base_path = /b\ntracker_server = h:1\nbuff_size = 64KB", "buff_size", "65546 bytes"},
		{"storage", "base_path = /b\ntracker_server = h:1\nthread_stack_size = 256KB", "thread_stack_size", "320KB"},
		{"storage", "base_path = /b\ntracker_server = h:1\ndisk_reader_threads = 0", "disk_reader_threads", "> 0"},
		{"storage", "base_path = /b\ntracker_server = h:1\ndisk_writer_threads = -1", "disk_writer_threads", ">= 0"},
		{"storage", "base_path = /b\ntracker_server = h:1\ndisk_rw_separated = no\ndisk_reader_threads = 0\ndisk_writer_threads = 0", "disk_reader_threads", "> 0"},
		{"storage", "base_path = /b\ntracker_server = h:1\ndisk_recovery_threads = 0", "disk_recovery_threads", "> 0"},
		{"storage", "base_path = /b\ntracker_server = h:1\nfsync_after_written_bytes = 10B", "fsync_after_written_bytes", "KB, MB"},
		{"storage", "base_path = /b\ntracker_server = h:1\n[access-log]\nenabled = perhaps", "[access-log] enabled", "yes, on, 1"},
		{"storage", "base_path = /b\ntracker_server = h:1\n[access-log]\nenabled = true\nlog_file_delete_old_time = x", "[access-log] log_file_delete_old_time", "HH:MM"},
		{"client", "base_path = /b", "tracker_server", "HOST[:PORT]"},
		{"client", "tracker_server = h:1\nconnect_timeout = x", "connect_timeout", "integer"},
		{"client", "tracker_server = h:1\nuse_storage_id = true\nstorage_ids_filename =", "storage_ids_filename", "file name"},
		{"client", "tracker_server = h:1\nhttp.anti_steal.check_token = yes", "http.anti_steal.secret_key", "secret"},
	} {
		dir := writeFiles(t, map[string]string{"x.conf": tc.conf + "\n"})
		path := filepath.Join(dir, "x.conf")
		var err error
		switch tc.kind {
		case "tracker":
			_, err = LoadTracker(path)
		case "storage":
			_, err = LoadStorage(path)
		case "client":
			_, err = LoadClient(path)
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(err.Error(), ": "+tc.key+": ") ||
			!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.forms) {
			t.Errorf("%s %q: err = %v; want a config error naming the file, %s and %q", tc.kind, tc.conf, err, tc.key, tc.forms)
		}
		// A key given on a line is named with that line.
		if err != nil && strings.Contains(tc.conf, tc.key+" =") && !strings.Contains(err.Error(), path+":") {
			t.Errorf("%s %q: err = %v; want file:line", tc.kind, tc.conf, err)
		}
	}
}

func TestLoadStorageSample(t *testing.T) {
	s, err := LoadStorage("testdata/storage.conf")
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("GroupName", s.GroupName, "group1")
	check("Port", s.Port, 23000)
	check("ClientBind", s.ClientBind, true)
	check("ConnectTimeout", s.ConnectTimeout, 5*time.Second)
	check("StatReportInterval", s.StatReportInterval, 60*time.Second)
	check("BuffSize", s.BuffSize, 256*KB)
	check("SyncWaitMsec", s.SyncWaitMsec, 50*time.Millisecond)
	check("SyncInterval", s.SyncInterval, time.Duration(0))
	check("SyncEndTime", s.SyncEndTime, "23:59")
	check("SyncMaxThreads", s.SyncMaxThreads, 4) // 0 = auto = 2 × 2 store paths
	check("DiskRecoveryThreads", s.DiskRecoveryThreads, 3)
	check("StorePathCount", s.StorePathCount, 2)
	check("StorePaths", s.StorePaths, []string{"/var/fdfs/disk0", "/var/fdfs/disk1"})
	check("StorePathReadonly", s.StorePathReadonly, []bool{false, true})
	check("SubdirCountPerPath", s.SubdirCountPerPath, 256)
	check("TrackerServers", s.TrackerServers, []string{"192.168.209.121:22122", "192.168.209.122,10.0.0.122:22122"})
	check("AllowHosts", s.AllowHosts, []string{"10.0.1.[1-15,20]", "192.168.5.64/26"})
	check("SyncBinlogBuffInterval", s.SyncBinlogBuffInterval, time.Second)
	check("KeyNamespace", s.KeyNamespace, "") // only read with check_file_duplicate
	check("ErrorLog.KeepDays", s.ErrorLog.KeepDays, 0)
	check("AccessLog.Enabled", s.AccessLog.Enabled, false)
	check("UseConnectionPool", s.UseConnectionPool, true)
	check("CompressBinlog", s.CompressBinlog, true)
	check("HTTPServerPort", s.HTTPServerPort, 8888)
	// From the included http.conf.
	check("HTTPAntiStealTokenTTL", s.HTTPAntiStealTokenTTL, 900*time.Second)
	check("HTTPAntiStealSecretKey", s.HTTPAntiStealSecretKey, "FastDFS1234567890")
	check("HTTPAntiStealTokenCheckFail", s.HTTPAntiStealTokenCheckFail, "/var/fdfs/anti-steal.jpg")
	check("HTTPMimeTypesFilename", s.HTTPMimeTypesFilename, filepath.Join("testdata", "mime.types"))
	check("HTTPMultiRangeEnabled", s.HTTPMultiRangeEnabled, true)
	check("ServerID", s.ServerID, "")
	addrs, err := TrackerAddrs(s.TrackerServers)
	check("TrackerAddrs", addrs, []string{"192.168.209.121:22122", "192.168.209.122:22122", "10.0.0.122:22122"})
	if err != nil {
		t.Error(err)
	}
}

func TestStorageDefaults(t *testing.T) {
	s, err := ParseStorage([]byte("base_path = /data/fdfs/\ntracker_server = 127.0.0.2\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Storage{
		ClientBind: true, Port: 23000, OuterPort: 23000, AddressFamily: "auto", ConnectTimeout: 10 * time.Second,
		NetworkTimeout: 30 * time.Second, HeartBeatInterval: 30 * time.Second, StatReportInterval: 300 * time.Second,
		BasePath: "/data/fdfs", MaxConnections: 256, BuffSize: 256 * KB, MinBuffSize: 256 * KB, MaxBuffSize: 256 * KB,
		AcceptThreads: 1, WorkThreads: 4, DiskRWSeparated: true, DiskReaderThreads: 1, DiskWriterThreads: 1,
		SyncWaitMsec: 100 * time.Millisecond, SyncStartTime: "00:00", SyncEndTime: "23:59", WriteMarkFileFreq: 500,
		SyncMinThreads: 1, SyncMaxThreads: 2, DiskRecoveryThreads: 1, StorePathCount: 1, StorePaths: []string{"/data/fdfs"},
		StorePathReadonly: []bool{false}, SubdirCountPerPath: 256, TrackerServers: []string{"127.0.0.2:22122"},
		LogLevel: "info", AllowHosts: []string{"*"}, FileDistributeRotateCount: 100,
		SyncBinlogBuffInterval: 60 * time.Second, SyncStatFileInterval: 60 * time.Second, ThreadStackSize: 256 * KB,
		UploadPriority: 10, FileSignatureMethod: "hash", ConnectionPoolMaxIdleTime: 3600 * time.Second,
		CompressBinlogTime: "01:30", CheckStorePathMark: true, TCPQuickAck: true, UseSendZC: true,
		ErrorLog: LogConfig{SyncLogBuffInterval: time.Second, RotateEveryday: true, RotateTime: "00:00",
			CompressDaysBefore: 1, KeepDays: 15, DeleteOldTime: "01:30"},
		AccessLog:      AccessLog{TimePrecision: "ms"},
		HTTPServerPort: 8888, HTTPDefaultContentType: "application/octet-stream",
		HTTPAntiStealTokenTTL: 600 * time.Second, HTTPMultiRangeEnabled: true, ResponseMode: "proxy",
		ScrubPassInterval: 86400 * time.Second, RefillNewDiskAfter: time.Minute,
	}
	s.Raw = nil
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *s, want)
	}
	// No group (id mode) and IPv6 trackers are accepted.
	s, err = ParseStorage([]byte("base_path=/b\ntracker_server=[2001:db8::1]:22122\ntracker_server=[fe80::2,2001:db8::2]\n"), "")
	if err != nil || len(s.TrackerServers) != 2 || s.GroupName != "" {
		t.Fatalf("ipv6 trackers: %v %+v", err, s)
	}
	addrs, _ := TrackerAddrs(s.TrackerServers)
	if !reflect.DeepEqual(addrs, []string{"[2001:db8::1]:22122", "[fe80::2]:22122", "[2001:db8::2]:22122"}) {
		t.Errorf("TrackerAddrs = %q", addrs)
	}
}

func TestStorageValues(t *testing.T) {
	for _, tc := range []struct {
		conf  string
		check func(*Storage) bool
		warns int
	}{
		{"sync_max_threads = auto", func(s *Storage) bool { return s.SyncMaxThreads == 2 }, 0},
		{"sync_max_threads = AUTO\nstore_path_count = 3\nstore_path1 = /p1\nstore_path2 = /p2", func(s *Storage) bool { return s.SyncMaxThreads == 6 }, 0},
		{"sync_max_threads = 0", func(s *Storage) bool { return s.SyncMaxThreads == 2 }, 0},
		{"sync_max_threads = 5", func(s *Storage) bool { return s.SyncMaxThreads == 5 }, 0},
		{"sync_max_threads = 5x\nsync_min_threads = 0", func(s *Storage) bool { return s.SyncMinThreads == 1 && s.SyncMaxThreads == 5 }, 2},
		{"sync_max_threads = -2\nsync_min_threads = 3", func(s *Storage) bool { return s.SyncMaxThreads == 6 }, 2},
		{"sync_max_threads =", func(s *Storage) bool { return s.SyncMaxThreads == 2 }, 1},
		{"sync_max_threads = lots\nsync_min_threads = 3", func(s *Storage) bool { return s.SyncMaxThreads == 6 }, 1},
		{"sync_max_threads = 1000\nsync_min_threads = 1000", func(s *Storage) bool {
			return s.SyncMinThreads == 256 && s.SyncMaxThreads == 256
		}, 2},
		{"sync_max_threads = 2\nsync_min_threads = 4", func(s *Storage) bool { return s.SyncMaxThreads == 4 }, 1},
		{"sync_start_time = 2:5\nsync_end_time = 23:59:30x", func(s *Storage) bool {
			return s.SyncStartTime == "02:05" && s.SyncEndTime == "23:59:30"
		}, 0},
		{"sync_wait_msec = 0\nsync_interval = -5", func(s *Storage) bool {
			return s.SyncWaitMsec == 100*time.Millisecond && s.SyncInterval == 0
		}, 0},
		{"disk_rw_separated = no\ndisk_reader_threads = 0", func(s *Storage) bool { return s.DiskReaderThreads == 0 }, 0},
		{"check_store_path_mark =\nclient_bind = TRUE", func(s *Storage) bool { return !s.CheckStorePathMark && s.ClientBind }, 0},
		{"port = 0", func(s *Storage) bool { return s.Port == 0 }, 0},
		{"port = -1", func(s *Storage) bool { return s.Port == 23000 }, 0},
		{"inner_port = 23001", func(s *Storage) bool { return s.Port == 23000 }, 0}, // storage_func_init re-reads "port"
		{"inner_port = 23001\nport = 23002", func(s *Storage) bool { return s.Port == 23002 && s.OuterPort == 23000 }, 1},
		{"tracker_server = 10.0.0.5\ntracker_server = 10.0.0.5:22122", func(s *Storage) bool {
			return reflect.DeepEqual(s.TrackerServers, []string{"127.0.0.2:22122", "10.0.0.5:22122"})
		}, 1},
		{"file_distribute_path_mode = 7\nfile_distribute_rotate_count = 0\nupload_priority = -5", func(s *Storage) bool {
			return s.FileDistributePathMode == 7 && s.FileDistributeRotateCount == 100 && s.UploadPriority == -5
		}, 0},
		{"fsync_after_written_bytes = 1 kb", func(s *Storage) bool { return s.FsyncAfterWrittenBytes == KB }, 0},
		{"fsync_after_written_bytes =", func(s *Storage) bool { return s.FsyncAfterWrittenBytes == 0 }, 0},
		{"buff_size = 64KB\nmin_buff_size = 128KB\nmax_buff_size = 256KB", func(s *Storage) bool {
			return s.BuffSize == 256*KB && s.MinBuffSize == 128*KB && s.MaxBuffSize == 256*KB
		}, 0},
		{"check_file_duplicate = yes\nkey_namespace = FastDFS\nfile_signature_method = MD5\nkeep_alive = 1", func(s *Storage) bool {
			return s.FileSignatureMethod == "md5" && s.KeyNamespace == "FastDFS" && s.KeepAlive
		}, 0},
		{"file_signature_method = md5\nkeep_alive = 1", func(s *Storage) bool { return s.FileSignatureMethod == "hash" && !s.KeepAlive }, 0},
		{"[access-log]\nenabled = true\ntime_precision = microsecond\nlog_file_keep_days = 2", func(s *Storage) bool {
			return s.AccessLog.Enabled && s.AccessLog.TimePrecision == "us" && s.AccessLog.KeepDays == 2 && s.ErrorLog.KeepDays == 15
		}, 0},
		{"log_file_keep_days = 9\n[access-log]\nenabled = on\ntime_precision = ns", func(s *Storage) bool {
			return s.AccessLog.TimePrecision == "ms" && s.AccessLog.KeepDays == 9 && s.ErrorLog.KeepDays == 9
		}, 1},
		{"enabled = true", func(s *Storage) bool { return !s.AccessLog.Enabled }, 0}, // only read in [access-log]
		{"response_mode = Redirect", func(s *Storage) bool { return s.ResponseMode == "proxy" }, 1},
		{"scrub_bytes_per_second = 8MB\nscrub_pass_interval = 3600", func(s *Storage) bool {
			return s.ScrubBytesPerSecond == 8*MB && s.ScrubPassInterval == time.Hour
		}, 0},
		{"scrub_pass_interval = 0", func(s *Storage) bool { return s.ScrubPassInterval == 24*time.Hour }, 0},
		{"refill_new_disk_after = 0", func(s *Storage) bool { return s.RefillNewDiskAfter == 0 }, 0},
		{"refill_new_disk_after = 600", func(s *Storage) bool { return s.RefillNewDiskAfter == 10*time.Minute }, 0},
		{"response_mode = redirect\nurl_have_group_name = true", func(s *Storage) bool {
			return s.ResponseMode == "redirect" && s.URLHaveGroupName
		}, 0},
		{"group_name = abcdefghijklmnopq", func(s *Storage) bool { return s.GroupName == "abcdefghijklmnop" }, 1},
		{"bind_addr = 10.1.1.1\ninner_bind_addr = 10.1.1.2", func(s *Storage) bool { return s.BindAddr == "10.1.1.2" }, 0},
		{"thread_stack_size = 1MB", func(s *Storage) bool { return s.ThreadStackSize == MB }, 0},
	} {
		s, err := ParseStorage([]byte("base_path=/b\ntracker_server=127.0.0.2\n"+tc.conf+"\n"), "/etc/fdfs")
		if err != nil || !tc.check(s) {
			t.Errorf("%q: %v / %+v", tc.conf, err, s)
			continue
		}
		if len(s.Raw.Warnings) != tc.warns {
			t.Errorf("%q: warnings %q, want %d", tc.conf, s.Raw.Warnings, tc.warns)
		}
	}
}

func TestLoadClientSample(t *testing.T) {
	c, err := LoadClient("testdata/client.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := Client{
		ConnectTimeout: 5 * time.Second, NetworkTimeout: 60 * time.Second, BasePath: "/var/fdfs/client",
		TrackerServers: []string{"192.168.0.196:22122", "192.168.0.197:22122"}, LogLevel: "info",
		ConnectFirstBy: "tracker", ConnectionPoolMaxIdleTime: 3600 * time.Second,
		StorageIDsFilename: filepath.Join("testdata", "storage_ids.conf"),
	}
	c.Raw = nil
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("client:\n got %+v\nwant %+v", *c, want)
	}
	c, err = ParseClient([]byte("tracker_server=127.0.0.1\nconnect_first_by = LAST\n"), "/etc/fdfs")
	if err != nil || c.ConnectTimeout != 10*time.Second || c.NetworkTimeout != 30*time.Second || c.BasePath != "/tmp" ||
		c.StorageIDsFilename != "/etc/fdfs/storage_ids.conf" || c.ConnectFirstBy != "last-connected" ||
		!reflect.DeepEqual(c.TrackerServers, []string{"127.0.0.1:22122"}) {
		t.Errorf("client defaults: %v %+v", err, c)
	}
	c, err = ParseClient([]byte("tracker_server=h:1\nconnect_first_by = random\nload_fdfs_parameters_from_tracker = true\nuse_storage_id = true\n"), "/etc/fdfs")
	if err != nil || c.ConnectFirstBy != "tracker" || c.UseStorageID || len(c.Raw.Warnings) != 1 {
		t.Errorf("client: %v %+v", err, c)
	}
}
