package conf

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Storage limits from upstream.
const (
	MaxStorePaths      = 256 // file IDs name the store path in two hex digits
	DefaultSubdirCount = 256
	MaxSubdirCount     = 256
	// maxSyncThreads is FDFS_FILE_SYNC_MAX_THREADS.
	maxSyncThreads = 256
	// minStorageBuffSize is sizeof(TrackerHeader) + TRUNK_BINLOG_BUFFER_SIZE:
	// upstream refuses a smaller buff_size.
	minStorageBuffSize = 10 + 64*KB
	// minStorageThreadStack is FAST_WRITE_BUFF_SIZE + 64KB: upstream
	// refuses a smaller thread_stack_size.
	minStorageThreadStack = 256*KB + 64*KB
)

// storageFromFile follows storage_func_init (storage_func.c) and the
// libserverframe settings it loads first.
func storageFromFile(f *File) (*Storage, error) {
	r := &reader{f: f}
	s := &Storage{Raw: f}
	s.Disabled = r.at("disabled").boolean(false)
	s.BasePath = r.basePath()
	n := r.network(DefaultStoragePort)
	s.BindAddr, s.BindAddrs, s.OuterPort = n.bindAddr, n.bindAddrs, n.outerPort
	s.AddressFamily = n.addressFamily
	s.AcceptThreads, s.WorkThreads, s.MaxConnections = n.acceptThreads, n.workThreads, n.maxConnections
	s.BuffSize, s.MinBuffSize, s.MaxBuffSize = n.maxPkgSize, n.minBuffSize, n.maxBuffSize
	s.ThreadStackSize = n.threadStackSize
	s.TCPQuickAck, s.UseIOURing, s.UseSendZC = n.tcpQuickAck, n.useIOURing, n.useSendZC
	s.RunByGroup, s.RunByUser = n.runByGroup, n.runByUser
	s.ErrorLog = r.logConfig("error-log")

	sub := r.at("subdir_count_per_path")
	s.SubdirCountPerPath = sub.intValue(DefaultSubdirCount, "1 to 256")
	if s.SubdirCountPerPath <= 0 || s.SubdirCountPerPath > MaxSubdirCount {
		sub.fail("1 to 256", "%d is out of range", s.SubdirCountPerPath)
	}
	r.storePaths(s)
	s.LogLevel = r.at("log_level").logLevel()
	s.ConnectTimeout = r.at("connect_timeout").posSeconds(defaultConnectTimeout)
	s.NetworkTimeout = r.at("network_timeout").posSeconds(defaultNetworkTimeout)
	// storage_func_init reads "port" again, over inner_port.
	s.Port = n.port
	if r.at("inner_port").present() || r.at("outer_port").present() {
		s.Port = portValue(r.at("port"), DefaultStoragePort)
	}
	if s.OuterPort != s.Port {
		r.at("outer_port").warn("%d is not served separately: only port %d is", s.OuterPort, s.Port)
	}
	s.HeartBeatInterval = r.at("heart_beat_interval").posSeconds(30)
	s.StatReportInterval = r.at("stat_report_interval").posSeconds(300)
	s.ClientBind = r.at("client_bind").boolean(true)
	s.TrackerServers = r.trackerServers(true)

	if g := r.at("group_name"); g.present() {
		if g.value() == "" {
			g.fail("1 to 16 letters and digits, or no group_name line to ask the tracker (id mode)", "empty")
		} else {
			s.GroupName = groupName(g, g.value())
		}
	}

	minT := r.at("sync_min_threads")
	s.SyncMinThreads = int(minT.clamp(minT.integer(1, formInt), 1, maxSyncThreads))
	s.SyncMaxThreads = r.syncMaxThreads(s.SyncMinThreads, s.StorePathCount)

	s.SyncWaitMsec = time.Duration(r.at("sync_wait_msec").positive(100, formInt+" of milliseconds")) * time.Millisecond
	s.SyncInterval = time.Duration(max(r.at("sync_interval").intValue(0, formInt+" of milliseconds"), 0)) * time.Millisecond
	s.SyncStartTime = r.at("sync_start_time").timeOfDay(0, 0)
	s.SyncEndTime = r.at("sync_end_time").timeOfDay(23, 59)
	if s.MinBuffSize < minStorageBuffSize {
		r.at("buff_size").fail(fmt.Sprintf("a size of at least %d bytes, e.g. 256KB", minStorageBuffSize),
			"%d bytes is too small", s.MinBuffSize)
	}

	s.DiskRWSeparated = r.at("disk_rw_separated").boolean(true)
	rd, wr := r.at("disk_reader_threads"), r.at("disk_writer_threads")
	s.DiskReaderThreads = rd.intValue(1, formInt+" >= 0")
	s.DiskWriterThreads = wr.intValue(1, formInt+" >= 0")
	switch {
	case s.DiskReaderThreads < 0:
		rd.fail(formInt+" >= 0", "%d < 0", s.DiskReaderThreads)
	case s.DiskWriterThreads < 0:
		wr.fail(formInt+" >= 0", "%d < 0", s.DiskWriterThreads)
	case s.DiskRWSeparated && s.DiskReaderThreads == 0:
		rd.fail(formInt+" > 0 when disk_rw_separated is true", "0")
	case s.DiskRWSeparated && s.DiskWriterThreads == 0:
		wr.fail(formInt+" > 0 when disk_rw_separated is true", "0")
	case s.DiskReaderThreads+s.DiskWriterThreads == 0:
		rd.fail("disk_reader_threads + disk_writer_threads > 0", "both are 0")
	}
	rec := r.at("disk_recovery_threads")
	s.DiskRecoveryThreads = rec.intValue(1, formInt+" > 0")
	if s.DiskRecoveryThreads <= 0 {
		rec.fail(formInt+" > 0", "%d is not > 0", s.DiskRecoveryThreads)
	}
	s.AllowHosts = r.allowHosts()
	s.FileDistributePathMode = r.at("file_distribute_path_mode").intValue(0, "0 (round robin) or 1 (random)")
	s.FileDistributeRotateCount = r.at("file_distribute_rotate_count").positive(100, formInt)
	s.FsyncAfterWrittenBytes = r.at("fsync_after_written_bytes").bytes(0)
	s.SyncBinlogBuffInterval = r.at("sync_binlog_buff_interval").posSeconds(60)
	s.WriteMarkFileFreq = r.at("write_mark_file_freq").positive(500, formInt)
	s.SyncStatFileInterval = r.at("sync_stat_file_interval").posSeconds(60)
	if ts := r.at("thread_stack_size"); ts.present() && s.ThreadStackSize < minStorageThreadStack {
		// Upstream refuses the default (256KB) too; here only an explicit
		// value is checked, as Go needs no thread stacks.
		ts.fail(fmt.Sprintf("a size of at least %dKB, e.g. 512KB", minStorageThreadStack/KB), "%d bytes is too small", s.ThreadStackSize)
	}
	s.UploadPriority = r.at("upload_priority").intValue(10, formInt)
	s.IfAliasPrefix = r.at("if_alias_prefix").str("")

	s.CheckFileDuplicate = r.at("check_file_duplicate").boolean(false)
	s.FileSignatureMethod = "hash"
	if s.CheckFileDuplicate {
		m := r.at("file_signature_method")
		if strings.EqualFold(m.value(), "md5") {
			s.FileSignatureMethod = "md5"
		} else if m.present() && !strings.EqualFold(m.value(), "hash") {
			m.warn("%q is not md5: hash is used (accepted: hash, md5)", m.value())
		}
		ns := r.at("key_namespace")
		if ns.value() == "" {
			ns.fail("a namespace name", "missing or empty (required when check_file_duplicate is true)")
		}
		s.KeyNamespace = ns.value()
		s.KeepAlive = r.at("keep_alive").boolean(false)
	}

	s.AccessLog.Enabled = r.in("access-log", "enabled", false).boolean(false)
	s.AccessLog.TimePrecision = "ms"
	if s.AccessLog.Enabled {
		s.AccessLog.LogConfig = r.logConfig("access-log")
		tp := r.in("access-log", "time_precision", false)
		switch tp.value() {
		case "", "ms", "millisecond":
		case "us", "microsecond":
			s.AccessLog.TimePrecision = "us"
		default:
			tp.warn("unknown time precision %q: ms is used (accepted: ms, millisecond, us, microsecond)", tp.value())
		}
	}

	s.FileSyncSkipInvalidRecord = r.at("file_sync_skip_invalid_record").boolean(false)
	s.CompressBinlog = r.at("compress_binlog").boolean(false)
	s.CompressBinlogTime = r.at("compress_binlog_time").timeOfDay(1, 30)
	s.CheckStorePathMark = r.at("check_store_path_mark").boolean(true)
	s.UseConnectionPool, s.ConnectionPoolMaxIdleTime = r.connectionPool()
	s.ServerID = r.at("server_id").str("")

	r.storageHTTP(s)
	s.MetricsListen = r.metricsListen()
	s.ScrubBytesPerSecond = r.at("scrub_bytes_per_second").bytes(0)
	s.ScrubPassInterval = r.at("scrub_pass_interval").posSeconds(86400)
	refill, form := r.at("refill_new_disk_after"), formInt+" of seconds; 0 for never"
	if s.RefillNewDiskAfter = refill.seconds(60, form); s.RefillNewDiskAfter < 0 {
		refill.fail(form, "%s is negative", refill.value())
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// storePaths is storage_load_paths_from_conf_file: store_path_count paths,
// store_path0 defaulting to base_path, the others required.
func (r *reader) storePaths(s *Storage) {
	cnt := r.at("store_path_count")
	s.StorePathCount = cnt.intValue(1, "1 to 256")
	if s.StorePathCount <= 0 || s.StorePathCount > MaxStorePaths {
		cnt.fail("1 to 256", "%d is out of range", s.StorePathCount)
		s.StorePathCount = 1
	}
	s.StorePaths = make([]string, s.StorePathCount)
	s.StorePathReadonly = make([]bool, s.StorePathCount)
	for i := range s.StorePathCount {
		key := fmt.Sprintf("store_path%d", i)
		it := r.at(key)
		switch {
		case !it.present() && i == 0:
			s.StorePaths[i] = s.BasePath
		case !it.present():
			it.fail("a directory", "missing (store_path_count is %d)", s.StorePathCount)
		case it.value() == "":
			it.fail("a directory", "empty")
		default:
			s.StorePaths[i] = filepath.Clean(it.value())
		}
		s.StorePathReadonly[i] = r.at(key + "_readonly").boolean(false)
	}
}

// syncMaxThreads is sync_max_threads: "auto", 0 or absent mean twice the
// store path count; other non-numbers twice sync_min_threads (with a
// warning); at most 256; at least sync_min_threads.
func (r *reader) syncMaxThreads(minThreads, pathCount int) int {
	const form = `"auto", or an integer from 1 to 256`
	it := r.at("sync_max_threads")
	v := strings.TrimSpace(it.value())
	var n int
	switch {
	case !it.present() || v == "0" || strings.EqualFold(v, "auto"):
		n = 2 * pathCount
	default:
		num, digits, rest, overflow := scanInt(v)
		switch {
		case !digits:
			num = 0 // upstream's atoi
		case overflow:
			it.fail(form, "%q is out of range", v)
		case strings.TrimSpace(rest) != "":
			it.warn("%q: %q after the number is ignored (as upstream)", v, strings.TrimSpace(rest))
		}
		n = int(it.clamp(min(max(num, -1<<31), 1<<31-1), 0, maxSyncThreads))
		if n == 0 {
			// Upstream: only "0" and "auto" mean auto; other values that
			// read as 0 ("lots", "-2", "") mean twice sync_min_threads.
			it.warn("%q is invalid: set to twice sync_min_threads (%d) (accepted: %s)", v, 2*minThreads, form)
			n = 2 * minThreads
		}
	}
	n = min(n, maxSyncThreads)
	if n < minThreads {
		it.warn("sync_max_threads %d < sync_min_threads %d: set to sync_min_threads", n, minThreads)
		n = minThreads
	}
	return n
}

// storageHTTP reads the keys of the storage's own HTTP server (an
// extension), with the semantics of http.conf and mod_fastdfs.conf.
func (r *reader) storageHTTP(s *Storage) {
	s.HTTPDomainName = r.at("http.domain_name").str("")
	port := r.at("http.server_port")
	s.HTTPServerPort = port.intValue(8888, "a port number 1..65535")
	if s.HTTPServerPort < 0 || s.HTTPServerPort > 65535 {
		port.fail("a port number 1..65535", "%d is out of range", s.HTTPServerPort)
	}
	h := r.httpParams(confDir(r.f), false)
	s.HTTPDefaultContentType = h.DefaultContentType
	if s.HTTPDefaultContentType == "" {
		s.HTTPDefaultContentType = "application/octet-stream"
	}
	s.HTTPMimeTypesFilename = h.MimeTypesFilename
	s.HTTPAntiStealCheckToken = h.AntiStealCheckToken
	s.HTTPAntiStealTokenTTL = h.TokenTTL
	s.HTTPAntiStealSecretKey = h.SecretKey
	s.HTTPAntiStealTokenCheckFail = h.TokenCheckFail
	s.HTTPMultiRangeEnabled = h.MultiRangeEnabled
	s.URLHaveGroupName = r.at("url_have_group_name").boolean(false)
	s.ResponseMode = r.responseMode()
}
