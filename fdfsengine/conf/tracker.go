package conf

import "path/filepath"

// Upstream defaults shared by several files.
const (
	DefaultTrackerPort = 22122
	DefaultStoragePort = 23000
	// defaultTimeout is DEFAULT_CONNECT_TIMEOUT / DEFAULT_NETWORK_TIMEOUT (s).
	defaultTimeout = 30
	// defaultReservedBytes is FDFS_DEF_STORAGE_RESERVED_MB: the code default
	// when reserved_storage_space is absent (the sample file says 20%).
	defaultReservedBytes = 1024 * MB
	// trackerMaxPackageSize is TRACKER_MAX_PACKAGE_SIZE, the floor of
	// min_buff_size.
	trackerMaxPackageSize = 8 * KB
)

// Defaults for the store/download selection keys.
const (
	StoreLookupRoundRobin  = 0
	StoreLookupSpecGroup   = 1
	StoreLookupLoadBalance = 2

	StoreServerRoundRobin = 0
	StoreServerFirstByIP  = 1
	StoreServerFirstByPri = 2

	StorePathRoundRobin  = 0
	StorePathLoadBalance = 2

	DownloadServerRoundRobin  = 0
	DownloadServerSourceFirst = 1
)

func trackerFromFile(f *File) (*Tracker, error) {
	r := &reader{f: f}
	dir := confDir(f)
	t := &Tracker{Raw: f}
	t.Disabled = r.boolean("disabled", false)
	t.BindAddr = r.str("bind_addr", "")
	t.Port = r.port("port", DefaultTrackerPort)
	t.BasePath = r.basePath()
	t.ConnectTimeout = r.posSeconds("connect_timeout", defaultTimeout)
	t.NetworkTimeout = r.posSeconds("network_timeout", defaultTimeout)
	t.MaxConnections = r.positive("max_connections", 256)
	t.AcceptThreads = r.positive("accept_threads", 1)
	t.WorkThreads = r.positive("work_threads", 4)
	t.MinBuffSize = max(r.bytes("min_buff_size", trackerMaxPackageSize), trackerMaxPackageSize)
	t.MaxBuffSize = max(r.bytes("max_buff_size", 16*trackerMaxPackageSize), t.MinBuffSize)

	t.StoreLookup = r.intRange("store_lookup", StoreLookupRoundRobin, 0, 2)
	if t.StoreLookup == StoreLookupSpecGroup {
		t.StoreGroup = r.str("store_group", "")
		if !validGroupName(t.StoreGroup) {
			r.fail("store_group", "%q is not a valid group name (required when store_lookup=1)", t.StoreGroup)
		}
	}
	t.StoreServer = r.intRange("store_server", StoreServerRoundRobin, 0, 2)
	t.StorePath = r.integer("store_path", StorePathRoundRobin)
	if t.StorePath != StorePathRoundRobin && t.StorePath != StorePathLoadBalance {
		r.fail("store_path", "%d is not 0 or 2", t.StorePath)
	}
	t.DownloadServer = r.intRange("download_server", DownloadServerRoundRobin, 0, 1)
	t.ReservedStorageSpace = Reserved{Bytes: defaultReservedBytes}
	if v, ok := r.value("reserved_storage_space"); ok {
		rs, err := ParseReserved(v)
		if err != nil || (rs.IsPercent && (rs.Percent <= 0 || rs.Percent >= 100)) {
			r.fail("reserved_storage_space", "%q is not a size or a percentage in (0%%, 100%%)", v)
		} else {
			t.ReservedStorageSpace = rs
		}
	}
	t.LogLevel = r.str("log_level", "info")
	t.RunByGroup = r.str("run_by_group", "")
	t.RunByUser = r.str("run_by_user", "")
	t.AllowHosts = r.allowHosts()
	t.SyncLogBuffInterval = r.posSeconds("sync_log_buff_interval", 10)
	t.CheckActiveInterval = r.posSeconds("check_active_interval", 100)
	t.ThreadStackSize = r.bytes("thread_stack_size", 64*KB)

	t.StorageIPChangedAutoAdjust = r.boolean("storage_ip_changed_auto_adjust", true)
	t.StorageSyncFileMaxDelay = r.posSeconds("storage_sync_file_max_delay", 86400)
	t.StorageSyncFileMaxTime = r.posSeconds("storage_sync_file_max_time", 300)

	t.UseTrunkFile = r.boolean("use_trunk_file", false)
	t.SlotMinSize = r.bytes("slot_min_size", 256)
	if t.SlotMinSize <= 0 {
		r.fail("slot_min_size", "must be > 0")
	}
	t.SlotMinSize = min(t.SlotMinSize, 64*KB)
	t.TrunkFileSize = max(r.bytes("trunk_file_size", 64*MB), 4*MB)
	// Code default is trunk_file_size/8; larger values are capped at half.
	t.SlotMaxSize = min(r.bytes("slot_max_size", t.TrunkFileSize/8), t.TrunkFileSize/2)
	if t.SlotMaxSize <= t.SlotMinSize {
		r.fail("slot_max_size", "%d must be > slot_min_size %d", t.SlotMaxSize, t.SlotMinSize)
	}
	t.TrunkAllocAlignmentSize = r.bytes("trunk_alloc_alignment_size", 0)
	t.SlotMinSize = max(t.SlotMinSize, t.TrunkAllocAlignmentSize)
	t.TrunkFreeSpaceMerge = r.boolean("trunk_free_space_merge", false)
	t.DeleteUnusedTrunkFiles = r.boolean("delete_unused_trunk_files", false)
	t.TrunkCreateFileAdvance = r.boolean("trunk_create_file_advance", false)
	t.TrunkCreateFileTimeBase = r.hhmm("trunk_create_file_time_base", "02:00")
	t.TrunkCreateFileInterval = r.seconds("trunk_create_file_interval", 86400)
	t.TrunkCreateFileSpaceThreshold = r.bytes("trunk_create_file_space_threshold", 0)
	t.TrunkInitCheckOccupying = r.boolean("trunk_init_check_occupying", false)
	t.TrunkInitReloadFromBinlog = r.boolean("trunk_init_reload_from_binlog", false)
	t.TrunkCompressBinlogMinInterval = r.seconds("trunk_compress_binlog_min_interval", 0)
	t.TrunkCompressBinlogInterval = r.seconds("trunk_compress_binlog_interval", 0)
	t.TrunkCompressBinlogTimeBase = r.hhmm("trunk_compress_binlog_time_base", "03:00")
	t.TrunkBinlogMaxBackups = r.integer("trunk_binlog_max_backups", 0)
	// Trunk allocation needs a stable storage choice.
	if t.UseTrunkFile && t.StoreServer == StoreServerRoundRobin {
		t.StoreServer = StoreServerFirstByIP
	}

	t.UseStorageID = r.boolean("use_storage_id", false)
	t.StorageIDsFilename = relPath(dir, r.str("storage_ids_filename", "storage_ids.conf"))
	if t.UseStorageID && t.StorageIDsFilename == "" {
		r.fail("storage_ids_filename", "empty while use_storage_id is true")
	}
	t.IDTypeInFilename = "ip"
	if t.UseStorageID {
		t.IDTypeInFilename = r.oneOf("id_type_in_filename", "ip", "ip", "id")
	}
	t.TrustStorageServerID = r.boolean("trust_storage_server_id", true)
	t.StoreSlaveFileUseLink = r.boolean("store_slave_file_use_link", false)
	t.RotateErrorLog = r.boolean("rotate_error_log", false)
	t.ErrorLogRotateTime = r.hhmm("error_log_rotate_time", "00:00")
	t.CompressOldErrorLog = r.boolean("compress_old_error_log", false)
	t.CompressErrorLogDaysBefore = r.integer("compress_error_log_days_before", 1)
	t.RotateErrorLogSize = r.bytes("rotate_error_log_size", 0)
	t.LogFileKeepDays = r.integer("log_file_keep_days", 0)
	t.UseConnectionPool = r.boolean("use_connection_pool", false)
	t.ConnectionPoolMaxIdleTime = r.posSeconds("connection_pool_max_idle_time", 3600)
	t.AddressFamily = r.oneOf("address_family", "auto", "auto", "IPv4", "IPv6", "both")
	t.ResponseIPAddrSize = r.oneOf("response_ip_addr_size", "auto", "auto", "IPv4", "IPv6")
	t.HTTPServerPort = r.port("http.server_port", 8080)
	t.HTTPCheckAliveInterval = r.seconds("http.check_alive_interval", 30)
	t.HTTPCheckAliveType = r.oneOf("http.check_alive_type", "tcp", "tcp", "http")
	t.HTTPCheckAliveURI = r.str("http.check_alive_uri", "/")
	if len(t.HTTPCheckAliveURI) == 0 || t.HTTPCheckAliveURI[0] != '/' {
		t.HTTPCheckAliveURI = "/" + t.HTTPCheckAliveURI
	}
	if r.err != nil {
		return nil, r.err
	}
	return t, nil
}

// confDir is the directory relative paths in f are resolved against: the
// directory of the file it was loaded from, else the dir given to ParseFile.
func confDir(f *File) string {
	if f.Path != "" {
		return filepath.Dir(f.Path)
	}
	return f.dir
}
