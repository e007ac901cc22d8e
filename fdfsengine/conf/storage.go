package conf

import (
	"fmt"
	"path/filepath"
	"time"
)

// Storage limits from upstream.
const (
	MaxStorePaths      = 256
	DefaultSubdirCount = 256
	MaxSubdirCount     = 256
)

func storageFromFile(f *File) (*Storage, error) {
	r := &reader{f: f}
	s := &Storage{Raw: f}
	s.Disabled = r.boolean("disabled", false)
	// group_name may be omitted in id mode: the storage then asks the
	// tracker (STORAGE_GET_GROUP_NAME).
	s.GroupName = r.str("group_name", "")
	if s.GroupName != "" && !validGroupName(s.GroupName) {
		r.fail("group_name", "%q is not 1..16 of [A-Za-z0-9]", s.GroupName)
	}
	s.BindAddr = r.str("bind_addr", "")
	s.ClientBind = r.boolean("client_bind", true)
	s.Port = r.port("port", DefaultStoragePort)
	s.AddressFamily = r.oneOf("address_family", "auto", "auto", "IPv4", "IPv6", "both")
	s.ServerID = r.str("server_id", "")
	s.ConnectTimeout = r.posSeconds("connect_timeout", defaultTimeout)
	s.NetworkTimeout = r.posSeconds("network_timeout", defaultTimeout)
	s.HeartBeatInterval = r.posSeconds("heart_beat_interval", 30)
	s.StatReportInterval = r.posSeconds("stat_report_interval", 300)
	s.BasePath = r.basePath()
	s.MaxConnections = r.positive("max_connections", 256)
	s.BuffSize = r.bytes("buff_size", 64*KB)
	if s.BuffSize <= 0 {
		s.BuffSize = 64 * KB
	}
	s.AcceptThreads = r.positive("accept_threads", 1)
	s.WorkThreads = r.positive("work_threads", 4)
	s.DiskRWSeparated = r.boolean("disk_rw_separated", true)
	s.DiskReaderThreads = r.integer("disk_reader_threads", 1)
	s.DiskWriterThreads = r.integer("disk_writer_threads", 1)
	if s.DiskReaderThreads < 0 || s.DiskWriterThreads < 0 {
		r.fail("disk_reader_threads", "thread counts must be >= 0")
	}
	s.SyncWaitMsec = time.Duration(r.positive("sync_wait_msec", 200)) * time.Millisecond
	s.SyncInterval = time.Duration(max(r.integer("sync_interval", 0), 0)) * time.Millisecond
	s.SyncStartTime = r.hhmm("sync_start_time", "00:00")
	s.SyncEndTime = r.hhmm("sync_end_time", "23:59")
	s.WriteMarkFileFreq = r.positive("write_mark_file_freq", 500)
	s.SyncMinThreads = r.positive("sync_min_threads", 1)
	s.SyncMaxThreads = max(r.integer("sync_max_threads", 0), 0)
	s.DiskRecoveryThreads = r.positive("disk_recovery_threads", 1)

	s.StorePathCount = r.intRange("store_path_count", 1, 1, MaxStorePaths)
	s.StorePaths = make([]string, s.StorePathCount)
	s.StorePathReadonly = make([]bool, s.StorePathCount)
	for i := range s.StorePathCount {
		key := fmt.Sprintf("store_path%d", i)
		p, ok := r.value(key)
		switch {
		case ok:
			s.StorePaths[i] = filepath.Clean(p)
		case i == 0:
			s.StorePaths[i] = s.BasePath
		default:
			r.fail(key, "missing (store_path_count is %d)", s.StorePathCount)
		}
		s.StorePathReadonly[i] = r.boolean(key+"_readonly", false)
	}
	s.SubdirCountPerPath = r.intRange("subdir_count_per_path", DefaultSubdirCount, 1, MaxSubdirCount)
	s.TrackerServers = r.trackerServers()

	s.LogLevel = r.str("log_level", "info")
	s.RunByGroup = r.str("run_by_group", "")
	s.RunByUser = r.str("run_by_user", "")
	s.AllowHosts = r.allowHosts()
	s.FileDistributePathMode = r.intRange("file_distribute_path_mode", 0, 0, 1)
	s.FileDistributeRotateCount = r.positive("file_distribute_rotate_count", 100)
	s.FsyncAfterWrittenBytes = max(r.bytes("fsync_after_written_bytes", 0), 0)
	s.SyncLogBuffInterval = r.posSeconds("sync_log_buff_interval", 10)
	s.SyncBinlogBuffInterval = r.posSeconds("sync_binlog_buff_interval", 60)
	s.SyncStatFileInterval = r.posSeconds("sync_stat_file_interval", 300)
	s.ThreadStackSize = r.bytes("thread_stack_size", 512*KB)
	s.UploadPriority = r.integer("upload_priority", 10)
	s.IfAliasPrefix = r.str("if_alias_prefix", "")
	s.CheckFileDuplicate = r.boolean("check_file_duplicate", false)
	s.FileSignatureMethod = r.oneOf("file_signature_method", "hash", "hash", "md5")
	s.KeyNamespace = r.str("key_namespace", "")
	if s.CheckFileDuplicate && s.KeyNamespace == "" {
		r.fail("key_namespace", "required when check_file_duplicate is true")
	}
	s.KeepAlive = r.boolean("keep_alive", false)
	s.UseAccessLog = r.boolean("use_access_log", false)
	s.RotateAccessLog = r.boolean("rotate_access_log", false)
	s.AccessLogRotateTime = r.hhmm("access_log_rotate_time", "00:00")
	s.CompressOldAccessLog = r.boolean("compress_old_access_log", false)
	s.CompressAccessLogDaysBefore = r.integer("compress_access_log_days_before", 1)
	s.RotateErrorLog = r.boolean("rotate_error_log", false)
	s.ErrorLogRotateTime = r.hhmm("error_log_rotate_time", "00:00")
	s.CompressOldErrorLog = r.boolean("compress_old_error_log", false)
	s.CompressErrorLogDaysBefore = r.integer("compress_error_log_days_before", 1)
	s.RotateAccessLogSize = r.bytes("rotate_access_log_size", 0)
	s.RotateErrorLogSize = r.bytes("rotate_error_log_size", 0)
	s.LogFileKeepDays = r.integer("log_file_keep_days", 0)
	s.FileSyncSkipInvalidRecord = r.boolean("file_sync_skip_invalid_record", false)
	s.UseConnectionPool = r.boolean("use_connection_pool", false)
	s.ConnectionPoolMaxIdleTime = r.posSeconds("connection_pool_max_idle_time", 3600)
	s.CompressBinlog = r.boolean("compress_binlog", false)
	s.CompressBinlogTime = r.hhmm("compress_binlog_time", "01:30")
	s.CheckStorePathMark = r.boolean("check_store_path_mark", true)

	s.HTTPDomainName = r.str("http.domain_name", "")
	s.HTTPServerPort = r.port("http.server_port", 8888)
	s.HTTPDefaultContentType = r.str("http.default_content_type", "application/octet-stream")
	s.HTTPMimeTypesFilename = relPath(confDir(f), r.str("http.mime_types_filename", ""))
	s.HTTPAntiStealCheckToken = r.boolean("http.anti_steal.check_token", false)
	s.HTTPAntiStealTokenTTL = r.posSeconds("http.anti_steal.token_ttl", 600)
	s.HTTPAntiStealSecretKey = r.str("http.anti_steal.secret_key", "")
	if len(s.HTTPAntiStealSecretKey) > 128 {
		r.fail("http.anti_steal.secret_key", "longer than 128 bytes")
	}
	if s.HTTPAntiStealCheckToken && s.HTTPAntiStealSecretKey == "" {
		r.fail("http.anti_steal.secret_key", "required when http.anti_steal.check_token is true")
	}
	s.HTTPAntiStealTokenCheckFail = r.str("http.anti_steal.token_check_fail", "")
	s.HTTPMultiRangeEnabled = r.boolean("http.multi_range.enabled", true)
	s.URLHaveGroupName = r.boolean("url_have_group_name", false)
	s.ResponseMode = r.oneOf("response_mode", "proxy", "proxy", "redirect")
	if r.err == nil && len(s.TrackerServers) == 0 {
		// Upstream storaged refuses to start without a tracker to report to.
		r.fail("tracker_server", "missing (at least one is required)")
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}
