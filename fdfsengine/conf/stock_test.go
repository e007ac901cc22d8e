package conf

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// testdata/stock holds the conf files exactly as FastDFS V6.16.1 ships them
// (conf/ of the fastdfs tree) and mod_fastdfs.conf as fastdfs-nginx-module
// ships it (the 1.23 tarball in fastdfs' docker/ directory). They are data:
// TestStockFilesUnchanged keeps them byte-identical.
var stockSHA256 = map[string]string{
	"tracker.conf":     "1c6ad1c024f5754791e68b51c8faf8375e7fb94075fc61ca1a1915229db05cdd",
	"storage.conf":     "5494e51f04f0a5954f5bfd7605b7d732c351480bb7c75e95aa591e3a09b2d6fe",
	"client.conf":      "74f1fe069c138eb3fe23a0a0e8f2af151ed71a49219418a35387f66a810376af",
	"http.conf":        "8a5e8620e0f19db6612c7ec3d5d2649cb3270fbe45744882bf8fbbd23cc1adb0",
	"mime.types":       "019fd07ee1f36f50d9577a933f43bad698ac30b9a415542c413809549a255590",
	"storage_ids.conf": "b47752d3b270f9a089d85633e82f56c6ff1c640c6966b7cb665d47e5e4c1e585",
	"mod_fastdfs.conf": "a804784f3515263a36ce7108242c1a714d32a2dccff84b5e2bc786ccb3d213c1",
}

func TestStockFilesUnchanged(t *testing.T) {
	entries, err := os.ReadDir("testdata/stock")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(stockSHA256) {
		t.Errorf("testdata/stock has %d files, want %d", len(entries), len(stockSHA256))
	}
	for name, want := range stockSHA256 {
		data, err := os.ReadFile(filepath.Join("testdata/stock", name))
		if err != nil {
			t.Error(err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, want upstream's %s", name, got, want)
		}
	}
}

// stockKey is one key of a stock file: got is our effective value, want
// upstream's. The tracker and storage values are those fdfs_trackerd and
// fdfs_storaged 6.16.1 print at start ("FastDFS v6.16.1, ... base_path=...,
// max_connections=1024, ...") when started from these files with only
// base_path, store_path0, bind_addr and tracker_server edited; the others
// follow the upstream code named in each loader. use says whether our
// daemons act on the key: "" = honoured, else why it is accepted and
// ignored (mirrored in docs/compatibility.md).
type stockKey struct {
	key  string // "key", "[section] key" or "[section]" for the section itself
	got  any
	want any
	use  string
}

const (
	ignLogBuf  = "ignored: log lines are written as they come"
	bgLog      = "" // honoured by the daemons in the background (internal/logfile); in the foreground they log to stderr
	ignThreads = "ignored: goroutines, not thread pools"
	ignNet     = "ignored: plain sockets, one listener per server"
	ignReport  = "sent to storages in the parameter reply; the trunk server applies them (storagenode/trunk)"
)

// checkStock compares rows and checks that they cover every key and section
// of f, and nothing else.
func checkStock(t *testing.T, f *File, rows []stockKey) {
	t.Helper()
	want := map[string]bool{}
	for _, k := range f.Keys() {
		want[k] = true
	}
	for _, s := range f.Sections() {
		want["["+s+"]"] = true
		for _, k := range f.SectionKeys(s) {
			want["["+s+"] "+k] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.key] {
			t.Errorf("%s: listed twice", r.key)
		}
		seen[r.key] = true
		if !want[r.key] {
			t.Errorf("%s: not a key of the stock file", r.key)
		}
		if !reflect.DeepEqual(r.got, r.want) {
			t.Errorf("%s = %#v, want upstream's %#v", r.key, r.got, r.want)
		}
	}
	var missing []string
	for k := range want {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("%s: key of the stock file not checked", k)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings on a stock file: %q", f.Warnings)
	}
}

func TestStockTracker(t *testing.T) {
	c, err := LoadTracker("testdata/stock/tracker.conf")
	if err != nil {
		t.Fatal(err)
	}
	checkStock(t, c.Raw, []stockKey{
		{"disabled", c.Disabled, false, ""},
		{"bind_addr", c.BindAddr, "", ""},
		{"port", c.Port, 22122, ""},
		{"address_family", c.AddressFamily, "auto", ignNet},
		{"response_ip_addr_size", c.ResponseIPAddrSize, "auto", ""}, // IPv4 (16) without storage ids
		{"connect_timeout", c.ConnectTimeout, 5 * time.Second, ""},
		{"network_timeout", c.NetworkTimeout, 60 * time.Second, ""},
		{"use_io_uring", c.UseIOURing, false, ignNet},
		{"use_send_zc", c.UseSendZC, true, ignNet},
		{"base_path", c.BasePath, "/opt/fastdfs", ""},
		{"max_connections", c.MaxConnections, 1024, ""},
		{"accept_threads", c.AcceptThreads, 1, ignThreads},
		{"work_threads", c.WorkThreads, 4, ""}, // bounds the event loops (internal/evloop)
		// max_pkg_size=256 KB, min_buff_size=8 KB, max_buff_size=256 KB:
		// max_buff_size is raised to buff_size's default.
		{"min_buff_size", [2]int64{c.MinBuffSize, c.MaxPkgSize}, [2]int64{8 * KB, 256 * KB}, "ignored (a buffer per request, up to max_buff_size)"},
		{"max_buff_size", c.MaxBuffSize, 256 * KB, ""},
		{"store_lookup", c.StoreLookup, StoreLookupLoadBalance, ""},
		{"store_group", c.StoreGroup, "", ""}, // only read with store_lookup = 1
		{"store_server", c.StoreServer, StoreServerRoundRobin, ""},
		{"store_path", c.StorePath, StorePathRoundRobin, ""},
		{"download_server", c.DownloadServer, DownloadServerRoundRobin, ""},
		{"reserved_storage_space", c.ReservedStorageSpace.String(), "20.00%", ""},
		{"log_level", c.LogLevel, "info", ""},
		{"run_by_group", c.RunByGroup, "", ""},
		{"run_by_user", c.RunByUser, "", ""},
		{"allow_hosts", c.AllowHosts, []string{"*"}, ""}, // allow_ip_count=-1
		{"check_active_interval", c.CheckActiveInterval, 120 * time.Second, ""},
		{"thread_stack_size", c.ThreadStackSize, 256 * KB, ignThreads},
		{"storage_ip_changed_auto_adjust", c.StorageIPChangedAutoAdjust, true, ""},
		{"storage_sync_file_max_delay", c.StorageSyncFileMaxDelay, 86400 * time.Second, ""},
		{"storage_sync_file_max_time", c.StorageSyncFileMaxTime, 300 * time.Second, ""},
		{"use_trunk_file", c.UseTrunkFile, false, ignReport},
		{"slot_min_size", c.SlotMinSize, int64(256), ignReport},
		{"slot_max_size", c.SlotMaxSize, MB, ignReport},
		{"trunk_alloc_alignment_size", c.TrunkAllocAlignmentSize, int64(256), ignReport},
		{"trunk_free_space_merge", c.TrunkFreeSpaceMerge, true, ignReport},
		{"delete_unused_trunk_files", c.DeleteUnusedTrunkFiles, false, ignReport},
		{"trunk_file_size", c.TrunkFileSize, 64 * MB, ignReport},
		{"trunk_create_file_advance", c.TrunkCreateFileAdvance, false, ignReport},
		{"trunk_create_file_time_base", c.TrunkCreateFileTimeBase, "02:00", ignReport},
		{"trunk_create_file_interval", c.TrunkCreateFileInterval, 86400 * time.Second, ignReport},
		{"trunk_create_file_space_threshold", c.TrunkCreateFileSpaceThreshold, 20 * GB, ignReport},
		{"trunk_init_check_occupying", c.TrunkInitCheckOccupying, false, ignReport},
		{"trunk_init_reload_from_binlog", c.TrunkInitReloadFromBinlog, false, ignReport},
		{"trunk_compress_binlog_min_interval", c.TrunkCompressBinlogMinInterval, 86400 * time.Second, ignReport},
		{"trunk_compress_binlog_interval", c.TrunkCompressBinlogInterval, 86400 * time.Second, ignReport},
		{"trunk_compress_binlog_time_base", c.TrunkCompressBinlogTimeBase, "03:00", ignReport},
		{"trunk_binlog_max_backups", c.TrunkBinlogMaxBackups, 7, ignReport},
		{"use_storage_id", c.UseStorageID, false, ""},
		// Not read when use_storage_id is false (the name is resolved for
		// callers anyway).
		{"storage_ids_filename", c.StorageIDsFilename, "testdata/stock/storage_ids.conf", ""},
		{"id_type_in_filename", c.IDTypeInFilename, "ip", ""}, // "id" in the file, ip without storage ids
		{"trust_storage_server_id", c.TrustStorageServerID, true, ""},
		{"store_slave_file_use_link", c.StoreSlaveFileUseLink, false, ""},
		{"use_connection_pool", c.UseConnectionPool, true, "ignored: trackers keep no outgoing pool"},
		{"connection_pool_max_idle_time", c.ConnectionPoolMaxIdleTime, 3600 * time.Second, "ignored: trackers keep no outgoing pool"},
		// error-log: {sync_log_buff_interval=1, rotate_everyday=1,
		// rotate_time=00:00, rotate_on_size=0, compress_old=0,
		// compress_days_before=7, keep_days=15, delete_old_time=01:30}
		{"sync_log_buff_interval", c.ErrorLog.SyncLogBuffInterval, time.Second, ignLogBuf},
		{"log_file_rotate_everyday", c.ErrorLog.RotateEveryday, true, bgLog},
		{"log_file_rotate_time", c.ErrorLog.RotateTime, "00:00", bgLog},
		{"log_file_compress_old", c.ErrorLog.CompressOld, false, bgLog},
		{"log_file_compress_days_before", c.ErrorLog.CompressDaysBefore, 7, bgLog},
		{"log_file_rotate_on_size", c.ErrorLog.RotateOnSize, int64(0), bgLog},
		{"log_file_keep_days", c.ErrorLog.KeepDays, 15, bgLog},
		{"log_file_delete_old_time", c.ErrorLog.DeleteOldTime, "01:30", bgLog},
		{"[error-log]", c.ErrorLog, LogConfig{SyncLogBuffInterval: time.Second, RotateEveryday: true, RotateTime: "00:00",
			CompressDaysBefore: 7, KeepDays: 15, DeleteOldTime: "01:30"}, bgLog},
	})
	// Not in the file: upstream's code defaults.
	if !c.TCPQuickAck || c.OuterPort != 22122 || c.MaxPkgSize != 256*KB {
		t.Errorf("defaults: tcp_quick_ack %v outer_port %d max_pkg_size %d", c.TCPQuickAck, c.OuterPort, c.MaxPkgSize)
	}
}

func TestStockStorage(t *testing.T) {
	c, err := LoadStorage("testdata/stock/storage.conf")
	if err != nil {
		t.Fatal(err)
	}
	checkStock(t, c.Raw, []stockKey{
		{"disabled", c.Disabled, false, ""},
		{"group_name", c.GroupName, "group1", ""},
		{"bind_addr", c.BindAddr, "", ""},
		{"client_bind", c.ClientBind, true, ""},
		{"port", c.Port, 23000, ""},
		{"address_family", c.AddressFamily, "auto", ignNet},
		{"connect_timeout", c.ConnectTimeout, 5 * time.Second, ""},
		{"network_timeout", c.NetworkTimeout, 60 * time.Second, ""},
		{"use_io_uring", c.UseIOURing, false, ignNet},
		{"use_send_zc", c.UseSendZC, true, ignNet},
		{"heart_beat_interval", c.HeartBeatInterval, 30 * time.Second, ""},
		{"stat_report_interval", c.StatReportInterval, 60 * time.Second, ""},
		{"base_path", c.BasePath, "/opt/fastdfs", ""},
		{"max_connections", c.MaxConnections, 1024, ""},
		{"buff_size", [3]int64{c.BuffSize, c.MinBuffSize, c.MaxBuffSize}, [3]int64{256 * KB, 256 * KB, 256 * KB}, ""},
		{"accept_threads", c.AcceptThreads, 1, ignThreads},
		{"work_threads", c.WorkThreads, 4, ""}, // bounds the event loops (internal/evloop)
		{"disk_rw_separated", c.DiskRWSeparated, true, ignThreads},
		{"disk_reader_threads", c.DiskReaderThreads, 2, ignThreads},
		{"disk_writer_threads", c.DiskWriterThreads, 1, ignThreads},
		{"sync_min_threads", c.SyncMinThreads, 1, "ignored: one sync worker per peer"},
		// sync_max_threads = auto: twice store_path_count.
		{"sync_max_threads", c.SyncMaxThreads, 2, "ignored: one sync worker per peer"},
		{"sync_wait_msec", c.SyncWaitMsec, 10 * time.Millisecond, ""},
		{"sync_interval", c.SyncInterval, time.Duration(0), ""},
		{"sync_start_time", c.SyncStartTime, "00:00", ""},
		{"sync_end_time", c.SyncEndTime, "23:59", ""},
		{"write_mark_file_freq", c.WriteMarkFileFreq, 500, ""},
		{"disk_recovery_threads", c.DiskRecoveryThreads, 4, ignThreads},
		{"store_path_count", c.StorePathCount, 1, ""},
		{"store_path0", c.StorePaths, []string{"/opt/fastdfs"}, ""},
		{"subdir_count_per_path", c.SubdirCountPerPath, 256, ""},
		{"tracker_server", c.TrackerServers, []string{"192.168.209.121:22122", "192.168.209.122:22122"}, ""},
		{"log_level", c.LogLevel, "info", ""},
		{"run_by_group", c.RunByGroup, "", ""},
		{"run_by_user", c.RunByUser, "", ""},
		{"allow_hosts", c.AllowHosts, []string{"*"}, ""},
		{"file_distribute_path_mode", c.FileDistributePathMode, 0, ""},
		{"file_distribute_rotate_count", c.FileDistributeRotateCount, 100, ""},
		{"fsync_after_written_bytes", c.FsyncAfterWrittenBytes, int64(0), ""},
		{"sync_binlog_buff_interval", c.SyncBinlogBuffInterval, time.Second, "ignored"},
		{"sync_stat_file_interval", c.SyncStatFileInterval, 60 * time.Second, ""},
		{"thread_stack_size", c.ThreadStackSize, 512 * KB, ignThreads},
		{"upload_priority", c.UploadPriority, 10, ""},
		{"if_alias_prefix", c.IfAliasPrefix, "", "ignored: local addresses come from bind_addr and the tracker"},
		{"check_file_duplicate", c.CheckFileDuplicate, false, "ignored: FastDHT deduplication is not implemented"},
		// Only read when check_file_duplicate is true: FDHT key_namespace=,
		// FDHT keep_alive=0.
		{"file_signature_method", c.FileSignatureMethod, "hash", "ignored: FastDHT deduplication is not implemented"},
		{"key_namespace", c.KeyNamespace, "", "ignored: FastDHT deduplication is not implemented"},
		{"keep_alive", c.KeepAlive, false, "ignored: FastDHT deduplication is not implemented"},
		{"file_sync_skip_invalid_record", c.FileSyncSkipInvalidRecord, false, "ignored: records a peer refuses for good are skipped"},
		{"use_connection_pool", c.UseConnectionPool, true, "ignored: storages keep their own peer connections"},
		{"connection_pool_max_idle_time", c.ConnectionPoolMaxIdleTime, 3600 * time.Second, "ignored: storages keep their own peer connections"},
		{"compress_binlog", c.CompressBinlog, true, ""},
		{"compress_binlog_time", c.CompressBinlogTime, "01:30", ""},
		{"check_store_path_mark", c.CheckStorePathMark, true, ""},
		{"sync_log_buff_interval", c.ErrorLog.SyncLogBuffInterval, time.Second, ignLogBuf},
		{"log_file_rotate_everyday", c.ErrorLog.RotateEveryday, true, bgLog},
		{"log_file_rotate_time", c.ErrorLog.RotateTime, "00:00", bgLog},
		{"log_file_compress_old", c.ErrorLog.CompressOld, false, bgLog},
		{"log_file_compress_days_before", c.ErrorLog.CompressDaysBefore, 7, bgLog},
		{"log_file_rotate_on_size", c.ErrorLog.RotateOnSize, int64(0), bgLog},
		{"log_file_keep_days", c.ErrorLog.KeepDays, 15, bgLog},
		{"log_file_delete_old_time", c.ErrorLog.DeleteOldTime, "01:30", bgLog},
		{"[error-log]", c.ErrorLog, LogConfig{SyncLogBuffInterval: time.Second, RotateEveryday: true, RotateTime: "00:00",
			CompressDaysBefore: 7, KeepDays: 15, DeleteOldTime: "01:30"}, bgLog},
		// access-log: {enabled=0}; time_precision is only read when enabled.
		{"[access-log]", c.AccessLog.LogConfig, LogConfig{}, ""},
		{"[access-log] enabled", c.AccessLog.Enabled, false, ""},
		{"[access-log] time_precision", c.AccessLog.TimePrecision, "ms", ""},
	})
	// Not in the file: upstream's code defaults.
	if c.ServerID != "" || c.StorePathReadonly[0] || c.HTTPServerPort != 8888 || c.Raw.Get("http.server_port") != "" {
		t.Errorf("defaults: server_id %q readonly %v http.server_port %d", c.ServerID, c.StorePathReadonly, c.HTTPServerPort)
	}
}

func TestStockClient(t *testing.T) {
	c, err := LoadClient("testdata/stock/client.conf")
	if err != nil {
		t.Fatal(err)
	}
	const ignClient = "ignored by the fdfs client: it needs no log, ids or ip preference"
	checkStock(t, c.Raw, []stockKey{
		{"connect_timeout", c.ConnectTimeout, 5 * time.Second, ""},
		{"network_timeout", c.NetworkTimeout, 60 * time.Second, ""},
		{"base_path", c.BasePath, "/opt/fastdfs", ignClient},
		{"tracker_server", c.TrackerServers, []string{"192.168.0.196:22122", "192.168.0.197:22122"}, ""},
		{"log_level", c.LogLevel, "info", ignClient},
		{"connect_first_by", c.ConnectFirstBy, "tracker", ignClient},
		{"use_connection_pool", c.UseConnectionPool, false, ""},
		{"connection_pool_max_idle_time", c.ConnectionPoolMaxIdleTime, 3600 * time.Second, ""},
		{"load_fdfs_parameters_from_tracker", c.LoadFDFSParametersFromTracker, false, ignClient},
		{"use_storage_id", c.UseStorageID, false, ignClient},
		{"storage_ids_filename", c.StorageIDsFilename, "testdata/stock/storage_ids.conf", ignClient},
	})
	if c.HTTPAntiStealCheckToken || c.HTTPAntiStealSecretKey != "" {
		t.Errorf("anti-steal defaults: %+v", c)
	}
}

// http.conf is read by fastdfs-nginx-module (through mod_fastdfs.conf's
// #include) and, when storage.conf includes it, by our storage's own HTTP
// server.
func TestStockHTTP(t *testing.T) {
	h, err := LoadHTTP("testdata/stock/http.conf")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := LoadFile("testdata/stock/http.conf")
	checkStock(t, f, []stockKey{
		{"http.default_content_type", h.DefaultContentType, "application/octet-stream", ""},
		{"http.mime_types_filename", h.MimeTypesFilename, "testdata/stock/mime.types", ""},
		{"http.anti_steal.check_token", h.AntiStealCheckToken, false, ""},
		// The token settings are only read when check_token is true.
		{"http.anti_steal.token_ttl", h.TokenTTL, time.Duration(0), ""},
		{"http.anti_steal.secret_key", h.SecretKey, "", ""},
		{"http.anti_steal.token_check_fail", h.TokenCheckFail, "", ""},
		{"http.multi_range.enabled", h.MultiRangeEnabled, true, ""},
	})
	if h.Disabled || !h.NeedFindContentType || h.ServerPort != 80 {
		t.Errorf("defaults: %+v", h)
	}
	if _, err := os.Stat(h.MimeTypesFilename); err != nil {
		t.Error(err)
	}
	// With check_token on, the token settings are read and checked.
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/stock/http.conf")
	on := strings.Replace(string(data), "check_token = false", "check_token = true", 1)
	fail := filepath.Join(dir, "anti-steal.jpg")
	os.WriteFile(fail, []byte("jpg"), 0o644)
	os.WriteFile(filepath.Join(dir, "on.conf"), []byte(strings.Replace(on, "/home/yuqing/fastdfs/conf/anti-steal.jpg", fail, 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "missing.conf"), []byte(on), 0o644)
	h, err = LoadHTTP(filepath.Join(dir, "on.conf"))
	if err != nil || h.TokenTTL != 900*time.Second || h.SecretKey != "FastDFS1234567890" || h.TokenCheckFail != fail {
		t.Errorf("check_token on: %v %+v", err, h)
	}
	if _, err := LoadHTTP(filepath.Join(dir, "missing.conf")); err == nil || !strings.Contains(err.Error(), "http.anti_steal.token_check_fail") {
		t.Errorf("missing token_check_fail file: %v", err)
	}
	// Our storage reads the same keys when storage.conf includes http.conf.
	for _, name := range []string{"storage.conf", "http.conf", "mime.types"} {
		data, _ := os.ReadFile(filepath.Join("testdata/stock", name))
		if name == "storage.conf" {
			data = append(data, []byte("\n[]\nhttp.server_port = 8080\n#include http.conf\n")...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := LoadStorage(filepath.Join(dir, "storage.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if s.HTTPServerPort != 8080 || s.HTTPMimeTypesFilename != filepath.Join(dir, "mime.types") ||
		s.HTTPAntiStealTokenTTL != 900*time.Second || !s.HTTPMultiRangeEnabled || s.HTTPDefaultContentType != "application/octet-stream" {
		t.Errorf("storage with http.conf: %+v", s)
	}
}

func TestStockModFastDFS(t *testing.T) {
	m, err := LoadModFastDFS("testdata/stock/mod_fastdfs.conf")
	if err != nil {
		t.Fatal(err)
	}
	const modOnly = "parsed (ModFastDFS); no daemon here reads mod_fastdfs.conf"
	checkStock(t, m.Raw, []stockKey{
		{"connect_timeout", m.ConnectTimeout, 2 * time.Second, modOnly},
		{"network_timeout", m.NetworkTimeout, 30 * time.Second, modOnly},
		{"base_path", m.BasePath, "/tmp", modOnly},
		{"load_fdfs_parameters_from_tracker", m.LoadFDFSParametersFromTracker, true, modOnly},
		// Not read when the parameters come from the tracker.
		{"storage_sync_file_max_delay", m.StorageSyncFileMaxDelay, 86400 * time.Second, modOnly},
		{"use_storage_id", m.UseStorageID, false, modOnly},
		{"storage_ids_filename", m.StorageIDsFilename, "", modOnly},
		{"tracker_server", m.TrackerServers, []string{"tracker:22122"}, modOnly},
		{"storage_server_port", m.StorageServerPort, 23000, modOnly},
		{"group_name", m.GroupName, "group1", modOnly},
		{"url_have_group_name", m.URLHaveGroupName, false, modOnly},
		{"store_path_count", m.StorePathCount, 1, modOnly},
		{"store_path0", m.StorePaths, []string{"/home/yuqing/fastdfs"}, modOnly},
		{"log_level", m.LogLevel, "info", modOnly},
		{"log_filename", m.LogFilename, "", modOnly},
		{"response_mode", m.ResponseMode, "proxy", modOnly},
		{"if_alias_prefix", m.IfAliasPrefix, "", modOnly},
		{"flv_support", m.FLVSupport, true, modOnly},
		{"flv_extension", m.FLVExtension, "flv", modOnly},
		{"group_count", m.GroupCount, 0, modOnly},
		// From the #included http.conf; the token settings are not read
		// (check_token is false).
		{"http.default_content_type", m.HTTP.DefaultContentType, "application/octet-stream", modOnly},
		{"http.mime_types_filename", m.HTTP.MimeTypesFilename, "testdata/stock/mime.types", modOnly},
		{"http.anti_steal.check_token", m.HTTP.AntiStealCheckToken, false, modOnly},
		{"http.anti_steal.token_ttl", m.HTTP.TokenTTL, time.Duration(0), modOnly},
		{"http.anti_steal.secret_key", m.HTTP.SecretKey, "", modOnly},
		{"http.anti_steal.token_check_fail", m.HTTP.TokenCheckFail, "", modOnly},
		{"http.multi_range.enabled", m.HTTP.MultiRangeEnabled, true, modOnly},
	})
	// The commented-out [group1] / [group2] sections serve several groups.
	multi := []byte("base_path=/tmp\nurl_have_group_name = true\ngroup_count = 2\nhttp.mime_types_filename = mime.types\n" +
		"http.default_content_type = text/plain\n[group1]\ngroup_name=group1\nstorage_server_port=23000\nstore_path_count=2\n" +
		"store_path0=/home/yuqing/fastdfs\nstore_path1=/home/yuqing/fastdfs1\n[group2]\ngroup_name=group2\nstore_path_count=1\n" +
		"store_path0=/home/yuqing/fastdfs\n")
	m, err = ParseModFastDFS(multi, "/etc/fdfs")
	if err != nil || len(m.Groups) != 2 || m.Groups[0].StorePathCount != 2 || m.Groups[1].StorePaths[0] != "/home/yuqing/fastdfs" ||
		m.Groups[1].StorageServerPort != 23000 || m.HTTP.MimeTypesFilename != "/etc/fdfs/mime.types" {
		t.Errorf("multi-group: %v %+v", err, m)
	}
	for _, bad := range []string{
		"base_path=/tmp\ngroup_count = 1\n",                                // url_have_group_name must be true
		"base_path=/tmp\nurl_have_group_name=1\ngroup_count = 1\n",         // [group1] missing
		"base_path=/tmp\ngroup_name=\n",                                    // empty group
		"base_path=/tmp\ngroup_name=g\n",                                   // http.mime_types_filename required
		"base_path=/tmp\ngroup_name=g\nhttp.disabled=true\ngroup_count=-1", // negative count
	} {
		if _, err := ParseModFastDFS([]byte(bad), "/etc/fdfs"); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestStockStorageIDs(t *testing.T) {
	ids, err := LoadStorageIDs("testdata/stock/storage_ids.conf")
	if err != nil {
		t.Fatal(err)
	}
	// fdfs_trackerd 6.16.1 with use_storage_id = true and this file:
	// "storage_id/ip_count=3 / 3, response_ip_addr_size=IPv6 (46)".
	want := []StorageID{
		{ID: "100001", Group: "group1", IPs: []string{"192.168.0.196"}, RW: RWBoth},
		{ID: "100002", Group: "group1", IPs: []string{"192.168.0.197"}, RW: RWBoth},
		{ID: "100003", Group: "group1", IPs: []string{"2409:8a20:42d:2f40:587a:4c47:72c0:ad8e"}, Port: 23001, RW: RWNone},
	}
	if !reflect.DeepEqual(ids.List, want) {
		t.Errorf("List = %+v", ids.List)
	}
	for i, port := range []int{23000, 23000, 23001} {
		if got := ids.List[i].EffectivePort(); got != port {
			t.Errorf("%s: effective port %d, want %d", ids.List[i].ID, got, port)
		}
	}
	if !ids.HasIPv6() {
		t.Error("HasIPv6 = false (response_ip_addr_size=auto gives IPv6 with this file)")
	}
}
