package conf

import (
	"fmt"
	"strings"
)

// Upstream defaults shared by several files.
const (
	DefaultTrackerPort = 22122
	DefaultStoragePort = 23000
	// defaultConnectTimeout is DEFAULT_CONNECT_TIMEOUT and
	// SF_DEFAULT_CONNECT_TIMEOUT (s).
	defaultConnectTimeout = 10
	// defaultNetworkTimeout is DEFAULT_NETWORK_TIMEOUT (s): storage and
	// client; the tracker uses SF_DEFAULT_NETWORK_TIMEOUT.
	defaultNetworkTimeout   = 30
	sfDefaultNetworkTimeout = 60
	// defaultReservedBytes is FDFS_DEF_STORAGE_RESERVED_MB: the code default
	// when reserved_storage_space is absent (the sample file says 20%).
	defaultReservedBytes = 1024 * MB
)

// StoreLookupMode is store_lookup: how the tracker picks the group of an
// upload. The values are upstream's numbers, in the conf file as here.
type StoreLookupMode int

// The store_lookup values.
const (
	StoreLookupRoundRobin  StoreLookupMode = 0 // groups in turn
	StoreLookupSpecGroup   StoreLookupMode = 1 // always store_group
	StoreLookupLoadBalance StoreLookupMode = 2 // the group with the most free space
)

func (m StoreLookupMode) String() string {
	return modeName(int(m), "round robin", "specified group", "load balance")
}

// StoreServerMode is store_server: how the tracker picks the storage of an
// upload within the group.
type StoreServerMode int

// The store_server values.
const (
	StoreServerRoundRobin StoreServerMode = 0 // storages in turn
	StoreServerFirstByIP  StoreServerMode = 1 // the first by id (IP mode: by IP)
	StoreServerFirstByPri StoreServerMode = 2 // the first by upload_priority
)

func (m StoreServerMode) String() string {
	return modeName(int(m), "round robin", "first by ip", "first by priority")
}

// StorePathMode is store_path: how the storage picks the store path of an
// upload (the tracker sends it in its parameters; 1 is not a value).
type StorePathMode int

// The store_path values.
const (
	StorePathRoundRobin  StorePathMode = 0 // store paths in turn
	StorePathLoadBalance StorePathMode = 2 // the path with the most free space
)

func (m StorePathMode) String() string {
	return modeName(int(m), "round robin", "", "load balance")
}

// DownloadServerMode is download_server: which storage the tracker names
// for a download.
type DownloadServerMode int

// The download_server values.
const (
	DownloadServerRoundRobin  DownloadServerMode = 0 // the group's storages in turn
	DownloadServerSourceFirst DownloadServerMode = 1 // the storage the file was uploaded to
)

func (m DownloadServerMode) String() string {
	return modeName(int(m), "round robin", "source first")
}

// modeName names v from names by index, or prints the number of a value
// that has no name.
func modeName(v int, names ...string) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("unknown (%d)", v)
}

// trackerFromFile follows tracker_load_from_conf_file (tracker_func.c) and
// the libserverframe settings it loads first.
func trackerFromFile(f *File) (*Tracker, error) {
	r := &reader{f: f}
	t := &Tracker{Raw: f}
	t.Disabled = r.at("disabled").boolean(false)
	t.BasePath = r.basePath()
	n := r.network(DefaultTrackerPort)
	t.BindAddr, t.BindAddrs, t.Port, t.OuterPort = n.bindAddr, n.bindAddrs, n.port, n.outerPort
	t.AddressFamily = n.addressFamily
	t.AcceptThreads, t.WorkThreads, t.MaxConnections = n.acceptThreads, n.workThreads, n.maxConnections
	t.MaxPkgSize, t.MinBuffSize, t.MaxBuffSize = n.maxPkgSize, n.minBuffSize, n.maxBuffSize
	t.ThreadStackSize = n.threadStackSize
	t.TCPQuickAck, t.UseIOURing, t.UseSendZC = n.tcpQuickAck, n.useIOURing, n.useSendZC
	t.RunByGroup, t.RunByUser = n.runByGroup, n.runByUser
	if t.OuterPort != t.Port {
		r.at("outer_port").warn("%d is not served separately: only port %d is", t.OuterPort, t.Port)
	}
	t.ConnectTimeout = r.at("connect_timeout").posSeconds(defaultConnectTimeout)
	t.NetworkTimeout = r.at("network_timeout").posSeconds(sfDefaultNetworkTimeout)
	t.ErrorLog = r.logConfig("error-log")
	t.LogLevel = r.at("log_level").logLevel()

	lookup := r.at("store_lookup")
	t.StoreLookup = StoreLookupMode(lookup.intValue(int(StoreLookupRoundRobin), "0 (round robin), 1 (the group in store_group) or 2 (load balance)"))
	switch t.StoreLookup {
	case StoreLookupRoundRobin, StoreLookupLoadBalance:
	case StoreLookupSpecGroup:
		g := r.at("store_group")
		switch {
		case !g.present():
			g.fail("a group name", "missing (required when store_lookup = 1)")
		case g.value() == "":
			g.fail("a group name", "empty (required when store_lookup = 1)")
		default:
			t.StoreGroup = groupName(g, g.value())
		}
	default:
		lookup.fail("0 (round robin), 1 (the group in store_group) or 2 (load balance)", "%d is not a store_lookup", t.StoreLookup)
	}
	t.StoreServer = choice(r, "store_server", StoreServerRoundRobin, StoreServerRoundRobin, StoreServerFirstByIP, StoreServerFirstByPri)
	t.DownloadServer = choice(r, "download_server", DownloadServerRoundRobin, DownloadServerRoundRobin, DownloadServerSourceFirst)
	t.StorePath = choice(r, "store_path", StorePathRoundRobin, StorePathRoundRobin, StorePathLoadBalance)
	t.ReservedStorageSpace = r.reservedSpace()
	t.AllowHosts = r.allowHosts()
	t.CheckActiveInterval = r.at("check_active_interval").posSeconds(100)
	t.StorageIPChangedAutoAdjust = r.at("storage_ip_changed_auto_adjust").boolean(true)
	t.StorageSyncFileMaxDelay = r.at("storage_sync_file_max_delay").posSeconds(86400)
	t.StorageSyncFileMaxTime = r.at("storage_sync_file_max_time").posSeconds(300)

	t.UseTrunkFile = r.at("use_trunk_file").boolean(false)
	minSlot := r.at("slot_min_size")
	t.SlotMinSize = int64(int32(minSlot.bytes(256))) // upstream keeps it in an int
	if t.SlotMinSize <= 0 {
		minSlot.fail(formSize+" > 0", "%d is not > 0", t.SlotMinSize)
	}
	if t.SlotMinSize > 64*KB {
		minSlot.warn("%d is too large: set to 64KB", t.SlotMinSize)
		t.SlotMinSize = 64 * KB
	}
	trunk := r.at("trunk_file_size")
	t.TrunkFileSize = int64(int32(trunk.bytes(64 * MB)))
	if t.TrunkFileSize < 4*MB {
		trunk.warn("%d is too small: set to 4MB", t.TrunkFileSize)
		t.TrunkFileSize = 4 * MB
	}
	maxSlot := r.at("slot_max_size")
	t.SlotMaxSize = int64(int32(maxSlot.bytes(t.TrunkFileSize / 8)))
	if t.SlotMaxSize <= t.SlotMinSize {
		maxSlot.fail(formSize+" larger than slot_min_size", "%d is not > slot_min_size %d", t.SlotMaxSize, t.SlotMinSize)
	}
	if t.SlotMaxSize > t.TrunkFileSize/2 {
		maxSlot.warn("%d is too large: set to %d (half of trunk_file_size)", t.SlotMaxSize, t.TrunkFileSize/2)
		t.SlotMaxSize = t.TrunkFileSize / 2
	}
	t.TrunkCreateFileAdvance = r.at("trunk_create_file_advance").boolean(false)
	t.TrunkCreateFileTimeBase = r.at("trunk_create_file_time_base").timeOfDay(2, 0)
	t.TrunkCreateFileInterval = r.at("trunk_create_file_interval").seconds(86400, formInt+" of seconds")
	t.TrunkCreateFileSpaceThreshold = r.at("trunk_create_file_space_threshold").bytes(0)
	t.TrunkCompressBinlogMinInterval = r.at("trunk_compress_binlog_min_interval").seconds(0, formInt+" of seconds")
	t.TrunkCompressBinlogInterval = r.at("trunk_compress_binlog_interval").seconds(0, formInt+" of seconds")
	t.TrunkCompressBinlogTimeBase = r.at("trunk_compress_binlog_time_base").timeOfDay(3, 0)
	t.TrunkBinlogMaxBackups = r.at("trunk_binlog_max_backups").intValue(0, formInt)
	// An integer of bytes: upstream reads it with atoi, so "1KB" is 1.
	align := r.at("trunk_alloc_alignment_size")
	t.TrunkAllocAlignmentSize = int64(align.intValue(0, formInt+" of bytes (no unit)"))
	if t.SlotMinSize < t.TrunkAllocAlignmentSize {
		align.warn("slot_min_size %d < trunk_alloc_alignment_size %d: slot_min_size set to %d", t.SlotMinSize, t.TrunkAllocAlignmentSize, t.TrunkAllocAlignmentSize)
		t.SlotMinSize = t.TrunkAllocAlignmentSize
	}
	t.TrunkInitCheckOccupying = r.at("trunk_init_check_occupying").boolean(false)
	t.TrunkInitReloadFromBinlog = r.at("trunk_init_reload_from_binlog").boolean(false)
	t.TrunkFreeSpaceMerge = r.at("trunk_free_space_merge").boolean(false)
	t.DeleteUnusedTrunkFiles = r.at("delete_unused_trunk_files").boolean(false)

	// tracker_load_storage_id_info: the other id keys are only read in id
	// mode.
	t.UseStorageID = r.at("use_storage_id").boolean(false)
	t.IDTypeInFilename = "ip"
	t.TrustStorageServerID = true
	if !t.UseStorageID {
		if n.ipv6Enabled {
			r.at("use_storage_id").fail("true (IPv6 needs storage ids)", "must be true when IPv6 is enabled (address_family %s, bind_addr %q)", t.AddressFamily, r.f.Get("bind_addr"))
		}
		t.StorageIDsFilename = relPath(confDir(f), r.at("storage_ids_filename").str("storage_ids.conf"))
	} else {
		idType := r.at("id_type_in_filename")
		if strings.EqualFold(idType.value(), "id") {
			t.IDTypeInFilename = "id"
		} else {
			if n.ipv6Enabled {
				idType.fail("id (IPv6 needs ids in file names)", "must be id when IPv6 is enabled")
			}
			if idType.present() && !strings.EqualFold(idType.value(), "ip") {
				idType.warn("%q is not id: ip is used (accepted: ip, id)", idType.value())
			}
		}
		t.TrustStorageServerID = r.at("trust_storage_server_id").boolean(true)
		t.StorageIDsFilename = r.storageIDsFilename()
	}
	t.StoreSlaveFileUseLink = r.at("store_slave_file_use_link").boolean(false)
	t.UseConnectionPool, t.ConnectionPoolMaxIdleTime = r.connectionPool()
	if t.UseTrunkFile && t.StoreServer == StoreServerRoundRobin {
		// Trunk allocation needs a stable storage choice.
		t.StoreServer = StoreServerFirstByIP
	}
	size := r.at("response_ip_addr_size")
	t.ResponseIPAddrSize = "auto"
	if size.present() && !strings.EqualFold(size.value(), "auto") {
		t.ResponseIPAddrSize = "IPv6"
		if !strings.EqualFold(size.value(), "IPv6") {
			size.warn("%q is not auto: IPv6 (46-byte addresses) is used, as upstream (accepted: auto, IPv6)", size.value())
		}
	}
	t.MetricsListen = r.metricsListen()
	if r.err != nil {
		return nil, r.err
	}
	return t, nil
}

// choice reads a numeric option: a value outside allowed becomes def with a
// warning, as upstream does for store_server, download_server and
// store_path.
func choice[T ~int](r *reader, key string, def T, allowed ...T) T {
	it := r.at(key)
	v := T(it.intValue(int(def), formInt))
	nums := make([]int, len(allowed))
	for i, a := range allowed {
		if v == a {
			return v
		}
		nums[i] = int(a)
	}
	it.warn("%d is not one of %v: set to %d", v, nums, def)
	return def
}
