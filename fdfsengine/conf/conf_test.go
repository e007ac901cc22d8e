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
	data := `# comment
  key1 =  value one  
key2=v2
tracker_server = a:1
	tracker_server=b:2
#@function SHELL_FUNCTION
no equals sign here
 = orphan value
empty =
url = http://x/?a=b
[section]
inner = 1
`
	f, err := ParseFile([]byte(data), "")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"key1": "value one", "key2": "v2", "tracker_server": "b:2", "empty": "", "url": "http://x/?a=b", "section.inner": "1"} {
		if got, ok := f.Lookup(key); !ok || got != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if got := f.All("tracker_server"); !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("All = %q", got)
	}
	if _, ok := f.Lookup("missing"); ok || f.Get("missing") != "" || len(f.All("missing")) != 0 {
		t.Error("missing key found")
	}
	if got := f.Keys(); !reflect.DeepEqual(got, []string{"key1", "key2", "tracker_server", "empty", "url", "section.inner"}) {
		t.Errorf("Keys = %q", got)
	}
}

func TestIncludes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.conf":       "a = 1\n#include sub/inc.conf\nc = 3\n",
		"sub/inc.conf":    "b = 2\n#include deeper.conf\n",
		"sub/deeper.conf": "d = 4\na = 5\n",
		"loop.conf":       "#include loop.conf\n",
		"missing.conf":    "#include nope.conf\n",
		"abs.conf":        "", // filled below
		"noname.conf":     "#include\n",
		"comment.conf":    "#included = 1\n#includes nope.conf\nx = 1\n",
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
	f, err = LoadFile(filepath.Join(dir, "comment.conf"))
	if err != nil || f.Get("x") != "1" || len(f.Keys()) != 1 {
		t.Errorf("comment lines: %v %q", err, f.Keys())
	}
	for _, name := range []string{"loop.conf", "missing.conf", "noname.conf"} {
		_, err := LoadFile(filepath.Join(dir, name))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	if _, err := LoadFile(filepath.Join(dir, "absent.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
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
		{"20g", 20 << 30, true}, {"1TB", 1 << 40, true}, {" 64 KB ", 64 << 10, true}, {"10B", 10, true},
		{"", 0, false}, {"KB", 0, false}, {"-1", 0, false}, {"1.5MB", 0, false}, {"12XB", 0, false},
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
		{"1G", Reserved{Bytes: 1 << 30}, "1024MB"},
		{"512MB", Reserved{Bytes: 512 << 20}, "512MB"},
	} {
		got, err := ParseReserved(tc.in)
		if err != nil || got != tc.r || got.String() != tc.str {
			t.Errorf("ParseReserved(%q) = %+v (%s), %v", tc.in, got, got.String(), err)
		}
	}
	for _, bad := range []string{"", "%", "abc%", "101%", "-1%", "x"} {
		if _, err := ParseReserved(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ParseReserved(%q) err = %v", bad, err)
		}
	}
}

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
	check("MaxBuffSize", tr.MaxBuffSize, 128*KB)
	check("StoreLookup", tr.StoreLookup, 2)
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
	check("HTTPCheckAliveURI", tr.HTTPCheckAliveURI, "/status.html")
	check("CompressErrorLogDaysBefore", tr.CompressErrorLogDaysBefore, 7)
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
	tr, err := ParseTracker([]byte("base_path = /tmp/x\n"), "/etc/fdfs")
	if err != nil {
		t.Fatal(err)
	}
	want := Tracker{
		Port: 22122, BasePath: "/tmp/x", ConnectTimeout: 30 * time.Second, NetworkTimeout: 30 * time.Second,
		MaxConnections: 256, AcceptThreads: 1, WorkThreads: 4, MinBuffSize: 8 * KB, MaxBuffSize: 128 * KB,
		ReservedStorageSpace: Reserved{Bytes: GB}, LogLevel: "info", AllowHosts: []string{"*"},
		SyncLogBuffInterval: 10 * time.Second, CheckActiveInterval: 100 * time.Second, ThreadStackSize: 64 * KB,
		StorageIPChangedAutoAdjust: true, StorageSyncFileMaxDelay: 86400 * time.Second,
		StorageSyncFileMaxTime: 300 * time.Second, SlotMinSize: 256, SlotMaxSize: 8 * MB, TrunkFileSize: 64 * MB,
		TrunkCreateFileTimeBase: "02:00", TrunkCreateFileInterval: 86400 * time.Second,
		TrunkCompressBinlogTimeBase: "03:00", StorageIDsFilename: "/etc/fdfs/storage_ids.conf",
		IDTypeInFilename: "ip", TrustStorageServerID: true, ErrorLogRotateTime: "00:00",
		CompressErrorLogDaysBefore: 1, ConnectionPoolMaxIdleTime: 3600 * time.Second, AddressFamily: "auto",
		ResponseIPAddrSize: "auto", HTTPServerPort: 8080, HTTPCheckAliveInterval: 30 * time.Second,
		HTTPCheckAliveType: "tcp", HTTPCheckAliveURI: "/",
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
	}{
		{"port = 0", func(tr *Tracker) bool { return tr.Port == 0 }},
		{"connect_timeout = 0\nnetwork_timeout = -5", func(tr *Tracker) bool {
			return tr.ConnectTimeout == 30*time.Second && tr.NetworkTimeout == 30*time.Second
		}},
		{"store_lookup = 1\nstore_group = group7", func(tr *Tracker) bool { return tr.StoreGroup == "group7" }},
		{"use_trunk_file = true", func(tr *Tracker) bool { return tr.StoreServer == StoreServerFirstByIP }},
		{"use_storage_id = yes\nid_type_in_filename = ID", func(tr *Tracker) bool { return tr.IDTypeInFilename == "id" }},
		{"use_storage_id = on", func(tr *Tracker) bool { return tr.IDTypeInFilename == "ip" }},
		{"storage_ids_filename = /abs/ids.conf", func(tr *Tracker) bool { return tr.StorageIDsFilename == "/abs/ids.conf" }},
		{"reserved_storage_space = 2G", func(tr *Tracker) bool { return tr.ReservedStorageSpace == Reserved{Bytes: 2 * GB} }},
		{"response_ip_addr_size = ipv6", func(tr *Tracker) bool { return tr.ResponseIPAddrSize == "IPv6" }},
		{"min_buff_size = 1KB\nmax_buff_size = 2KB", func(tr *Tracker) bool { return tr.MinBuffSize == 8*KB && tr.MaxBuffSize == 8*KB }},
		{"slot_max_size = 1GB", func(tr *Tracker) bool { return tr.SlotMaxSize == 32*MB }},
		{"trunk_alloc_alignment_size = 512", func(tr *Tracker) bool { return tr.SlotMinSize == 512 }},
		{"allow_hosts = 10.0.0.0/8\nallow_hosts = host[01-08].x", func(tr *Tracker) bool {
			return reflect.DeepEqual(tr.AllowHosts, []string{"10.0.0.0/8", "host[01-08].x"})
		}},
		{"http.check_alive_uri = status", func(tr *Tracker) bool { return tr.HTTPCheckAliveURI == "/status" }},
		{"unknown_key = whatever", func(tr *Tracker) bool { return tr.Raw.Get("unknown_key") == "whatever" }},
		{"trunk_create_file_time_base = 2:5", func(tr *Tracker) bool { return tr.TrunkCreateFileTimeBase == "02:05" }},
	} {
		tr, err := ParseTracker([]byte("base_path=/b\n"+tc.conf+"\n"), "/etc/fdfs")
		if err != nil || !tc.check(tr) {
			t.Errorf("%q: %v / %+v", tc.conf, err, tr)
		}
	}
}

func TestConfErrors(t *testing.T) {
	for _, tc := range []struct {
		kind, conf, key string
	}{
		{"tracker", "port = 22122", "base_path"},
		{"tracker", "base_path = /b\nport = 70000", "port"},
		{"tracker", "base_path = /b\nport = -1", "port"},
		{"tracker", "base_path = /b\nport = abc", "port"},
		{"tracker", "base_path = /b\nstore_lookup = 3", "store_lookup"},
		{"tracker", "base_path = /b\nstore_lookup = 1", "store_group"},
		{"tracker", "base_path = /b\nstore_lookup = 1\nstore_group = bad-name", "store_group"},
		{"tracker", "base_path = /b\nstore_path = 1", "store_path"},
		{"tracker", "base_path = /b\nreserved_storage_space = 100%", "reserved_storage_space"},
		{"tracker", "base_path = /b\nreserved_storage_space = 0%", "reserved_storage_space"},
		{"tracker", "base_path = /b\nreserved_storage_space = lots", "reserved_storage_space"},
		{"tracker", "base_path = /b\nuse_trunk_file = maybe", "use_trunk_file"},
		{"tracker", "base_path = /b\nslot_min_size = 0", "slot_min_size"},
		{"tracker", "base_path = /b\nslot_min_size = 4KB\nslot_max_size = 4KB", "slot_max_size"},
		{"tracker", "base_path = /b\ntrunk_create_file_time_base = 25:00", "trunk_create_file_time_base"},
		{"tracker", "base_path = /b\nresponse_ip_addr_size = 7", "response_ip_addr_size"},
		{"tracker", "base_path = /b\nuse_storage_id = true\nid_type_in_filename = name", "id_type_in_filename"},
		{"storage", "group_name = group1", "base_path"},
		{"storage", "base_path = /b", "tracker_server"},
		{"storage", "base_path = /b\nstore_path_count = 0", "store_path_count"},
		{"storage", "base_path = /b\nstore_path_count = 257", "store_path_count"},
		{"storage", "base_path = /b\nstore_path_count = 2", "store_path1"},
		{"storage", "base_path = /b\nsubdir_count_per_path = 0", "subdir_count_per_path"},
		{"storage", "base_path = /b\nsubdir_count_per_path = 257", "subdir_count_per_path"},
		{"storage", "base_path = /b\ngroup_name = group_1", "group_name"},
		{"storage", "base_path = /b\ngroup_name = abcdefghijklmnopq", "group_name"},
		{"storage", "base_path = /b\ntracker_server = 1.2.3.4", "tracker_server"},
		{"storage", "base_path = /b\ntracker_server = 1.2.3.4:0", "tracker_server"},
		{"storage", "base_path = /b\ntracker_server = ::1:22122", "tracker_server"},
		{"storage", "base_path = /b\ntracker_server = a,b,c:1", "tracker_server"},
		{"storage", "base_path = /b\nport = 65536", "port"},
		{"storage", "base_path = /b\nsync_start_time = noon", "sync_start_time"},
		{"storage", "base_path = /b\nfile_distribute_path_mode = 2", "file_distribute_path_mode"},
		{"storage", "base_path = /b\ncheck_file_duplicate = 1", "key_namespace"},
		{"storage", "base_path = /b\nhttp.anti_steal.check_token = true", "http.anti_steal.secret_key"},
		{"storage", "base_path = /b\nbuff_size = 1PB", "buff_size"},
		{"client", "base_path = /b", "tracker_server"},
		{"client", "tracker_server = h:1\nconnect_first_by = random", "connect_first_by"},
		{"client", "tracker_server = h:1\nhttp.tracker_server_port = 1e3", "http.tracker_server_port"},
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
		if !errors.Is(err, protocol.ErrInvalid) || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s %q: err = %v; want EINVAL naming %s and the file", tc.kind, tc.conf, err, tc.key)
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
	check("DiskRecoveryThreads", s.DiskRecoveryThreads, 3)
	check("StorePathCount", s.StorePathCount, 2)
	check("StorePaths", s.StorePaths, []string{"/var/fdfs/disk0", "/var/fdfs/disk1"})
	check("StorePathReadonly", s.StorePathReadonly, []bool{false, true})
	check("SubdirCountPerPath", s.SubdirCountPerPath, 256)
	check("TrackerServers", s.TrackerServers, []string{"192.168.209.121:22122", "192.168.209.122,10.0.0.122:22122"})
	check("AllowHosts", s.AllowHosts, []string{"10.0.1.[1-15,20]", "192.168.5.64/26"})
	check("SyncBinlogBuffInterval", s.SyncBinlogBuffInterval, time.Second)
	check("KeyNamespace", s.KeyNamespace, "FastDFS")
	check("CompressAccessLogDaysBefore", s.CompressAccessLogDaysBefore, 7)
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
	s, err := ParseStorage([]byte("base_path = /data/fdfs/\ntracker_server = 127.0.0.2:22122\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Storage{
		ClientBind: true, Port: 23000, AddressFamily: "auto", ConnectTimeout: 30 * time.Second,
		NetworkTimeout: 30 * time.Second, HeartBeatInterval: 30 * time.Second, StatReportInterval: 300 * time.Second,
		BasePath: "/data/fdfs", MaxConnections: 256, BuffSize: 64 * KB, AcceptThreads: 1, WorkThreads: 4,
		DiskRWSeparated: true, DiskReaderThreads: 1, DiskWriterThreads: 1, SyncWaitMsec: 200 * time.Millisecond,
		SyncStartTime: "00:00", SyncEndTime: "23:59", WriteMarkFileFreq: 500, SyncMinThreads: 1,
		DiskRecoveryThreads: 1, StorePathCount: 1, StorePaths: []string{"/data/fdfs"}, StorePathReadonly: []bool{false},
		SubdirCountPerPath: 256, TrackerServers: []string{"127.0.0.2:22122"}, LogLevel: "info", AllowHosts: []string{"*"},
		FileDistributeRotateCount: 100, SyncLogBuffInterval: 10 * time.Second, SyncBinlogBuffInterval: 60 * time.Second,
		SyncStatFileInterval: 300 * time.Second, ThreadStackSize: 512 * KB, UploadPriority: 10, FileSignatureMethod: "hash",
		AccessLogRotateTime: "00:00", CompressAccessLogDaysBefore: 1, ErrorLogRotateTime: "00:00",
		CompressErrorLogDaysBefore: 1, ConnectionPoolMaxIdleTime: 3600 * time.Second, CompressBinlogTime: "01:30",
		CheckStorePathMark: true, HTTPServerPort: 8888, HTTPDefaultContentType: "application/octet-stream",
		HTTPAntiStealTokenTTL: 600 * time.Second, HTTPMultiRangeEnabled: true, ResponseMode: "proxy",
	}
	s.Raw = nil
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *s, want)
	}
	// No tracker_server, no group (id mode) and IPv6 tracker are accepted.
	s, err = ParseStorage([]byte("base_path=/b\ntracker_server=[::1]:22122\ntracker_server=[fe80::1,::2]:1\n"), "")
	if err != nil || len(s.TrackerServers) != 2 || s.GroupName != "" {
		t.Errorf("ipv6 trackers: %v %+v", err, s)
	}
	addrs, _ := TrackerAddrs(s.TrackerServers)
	if !reflect.DeepEqual(addrs, []string{"[::1]:22122", "[fe80::1]:1", "[::2]:1"}) {
		t.Errorf("TrackerAddrs = %q", addrs)
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
		StorageIDsFilename: filepath.Join("testdata", "storage_ids.conf"), HTTPTrackerServerPort: 80,
	}
	c.Raw = nil
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("client:\n got %+v\nwant %+v", *c, want)
	}
	c, err = ParseClient([]byte("tracker_server=127.0.0.2:22122\n"), "/etc/fdfs")
	if err != nil || c.ConnectTimeout != 30*time.Second || c.NetworkTimeout != 30*time.Second ||
		c.StorageIDsFilename != "/etc/fdfs/storage_ids.conf" || c.ConnectFirstBy != "tracker" {
		t.Errorf("client defaults: %v %+v", err, c)
	}
}
