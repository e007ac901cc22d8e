package conf

import "time"

// Tracker is tracker.conf, with the effective values upstream's
// tracker_load_from_conf_file computes (defaults, corrections).
type Tracker struct {
	Disabled bool
	// BindAddr is the address to listen on ("" = all): the IPv4 one of
	// bind_addr (or inner_bind_addr) when there is one, else the IPv6 one.
	BindAddr  string
	BindAddrs []string // every address bind_addr names (IPv4 first)
	Port      int      // port, or inner_port; 0 = any free port
	OuterPort int      // outer_port (= Port when not set); not served separately
	BasePath  string

	ConnectTimeout time.Duration
	NetworkTimeout time.Duration
	MaxConnections int
	AcceptThreads  int
	WorkThreads    int
	MinBuffSize    int64 // bytes (min_buff_size)
	MaxBuffSize    int64 // bytes (max_buff_size)
	MaxPkgSize     int64 // bytes: the largest request (buff_size, raised to max_buff_size)
	// StoreLookup: 0 round robin, 1 specify group (StoreGroup), 2 load balance.
	StoreLookup StoreLookupMode
	StoreGroup  string
	// StoreServer: 0 round robin, 1 first by id/IP, 2 by upload priority.
	StoreServer StoreServerMode
	// StorePath: 0 round robin, 2 most free space.
	StorePath StorePathMode
	// DownloadServer: 0 round robin, 1 source storage first.
	DownloadServer       DownloadServerMode
	ReservedStorageSpace Reserved
	LogLevel             string // debug, info, notice, warn, error, crit, alert, emerg
	RunByGroup           string
	RunByUser            string
	AllowHosts           []string
	CheckActiveInterval  time.Duration
	ThreadStackSize      int64 // bytes

	StorageIPChangedAutoAdjust bool
	StorageSyncFileMaxDelay    time.Duration
	StorageSyncFileMaxTime     time.Duration

	UseTrunkFile                   bool
	SlotMinSize                    int64 // bytes
	SlotMaxSize                    int64 // bytes
	TrunkAllocAlignmentSize        int64 // bytes
	TrunkFreeSpaceMerge            bool
	DeleteUnusedTrunkFiles         bool
	TrunkFileSize                  int64 // bytes
	TrunkCreateFileAdvance         bool
	TrunkCreateFileTimeBase        string // "HH:MM"
	TrunkCreateFileInterval        time.Duration
	TrunkCreateFileSpaceThreshold  int64 // bytes
	TrunkInitCheckOccupying        bool
	TrunkInitReloadFromBinlog      bool
	TrunkCompressBinlogMinInterval time.Duration
	TrunkCompressBinlogInterval    time.Duration
	TrunkCompressBinlogTimeBase    string // "HH:MM"
	TrunkBinlogMaxBackups          int
	UseStorageID                   bool
	StorageIDsFilename             string // relative values are joined to the conf file's dir
	IDTypeInFilename               string // "ip" | "id"
	TrustStorageServerID           bool
	StoreSlaveFileUseLink          bool
	UseConnectionPool              bool
	ConnectionPoolMaxIdleTime      time.Duration
	AddressFamily                  string // "auto" | "IPv4" | "IPv6" | "both"
	// ResponseIPAddrSize is "auto" (46-byte addresses only when
	// storage_ids.conf has an IPv6 address) or "IPv6" (always 46 bytes):
	// upstream reads every value other than auto as IPv6.
	ResponseIPAddrSize string

	TCPQuickAck bool
	UseIOURing  bool
	UseSendZC   bool
	// ErrorLog is the [error-log] settings (falling back to the global
	// log_file_* keys).
	ErrorLog LogConfig
	// MetricsListen is metrics_listen: "host:port" of the HTTP listener
	// serving /metrics, /healthz and /readyz; "" = off (an fdfs extension).
	MetricsListen string

	Raw *File
}

// Storage is storage.conf, with the effective values upstream's
// storage_func_init computes.
type Storage struct {
	Disabled bool
	// GroupName is "" when group_name is absent: the storage then asks the
	// tracker (id mode).
	GroupName  string
	BindAddr   string   // see Tracker.BindAddr
	BindAddrs  []string // every address bind_addr names
	ClientBind bool
	Port       int // port, or inner_port; 0 = any free port
	OuterPort  int // outer_port (= Port when not set); not served separately

	ConnectTimeout      time.Duration
	NetworkTimeout      time.Duration
	HeartBeatInterval   time.Duration
	StatReportInterval  time.Duration
	BasePath            string
	MaxConnections      int
	AcceptThreads       int
	BuffSize            int64 // bytes (buff_size)
	MinBuffSize         int64 // bytes (= BuffSize unless min_buff_size and max_buff_size are both set)
	MaxBuffSize         int64 // bytes
	WorkThreads         int
	DiskRWSeparated     bool
	DiskReaderThreads   int
	DiskWriterThreads   int
	SyncWaitMsec        time.Duration // sleep when the binlog has nothing new
	SyncInterval        time.Duration // pause after each synced file
	SyncStartTime       string        // "HH:MM"
	SyncEndTime         string        // "HH:MM"
	WriteMarkFileFreq   int
	SyncMinThreads      int
	SyncMaxThreads      int // sync_max_threads; "auto" (or 0) = 2 × store_path_count
	DiskRecoveryThreads int
	StorePathCount      int
	StorePaths          []string // len == StorePathCount; store_path0 defaults to BasePath
	StorePathReadonly   []bool   // len == StorePathCount
	SubdirCountPerPath  int
	// TrackerServers are the tracker_server values with the port made
	// explicit: "host:port", dual-IP "ip1,ip2:port", "[v6]:port".
	TrackerServers []string
	LogLevel       string
	RunByGroup     string
	RunByUser      string
	AllowHosts     []string
	// FileDistributePathMode: 0 round robin, any other value random (hash).
	FileDistributePathMode    int
	FileDistributeRotateCount int
	FsyncAfterWrittenBytes    int64 // bytes, 0 = never
	SyncBinlogBuffInterval    time.Duration
	SyncStatFileInterval      time.Duration
	ThreadStackSize           int64 // bytes
	UploadPriority            int
	IfAliasPrefix             string
	CheckFileDuplicate        bool
	// FileSignatureMethod, KeyNamespace and KeepAlive are only read when
	// check_file_duplicate is true, as upstream.
	FileSignatureMethod       string // "hash" | "md5"
	KeyNamespace              string
	KeepAlive                 bool
	FileSyncSkipInvalidRecord bool
	ServerID                  string
	UseConnectionPool         bool
	ConnectionPoolMaxIdleTime time.Duration
	CompressBinlog            bool
	CompressBinlogTime        string // "HH:MM"
	CheckStorePathMark        bool
	AddressFamily             string

	TCPQuickAck bool
	UseIOURing  bool
	UseSendZC   bool
	ErrorLog    LogConfig // [error-log]
	AccessLog   AccessLog // [access-log]

	// HTTP downloads served by the storage itself (an extension: upstream
	// serves them through nginx and fastdfs-nginx-module). The keys are
	// those of http.conf and mod_fastdfs.conf; the server runs when
	// storage.conf sets http.server_port.
	HTTPDomainName              string
	HTTPServerPort              int
	HTTPAntiStealCheckToken     bool
	HTTPAntiStealTokenTTL       time.Duration
	HTTPAntiStealSecretKey      string
	HTTPAntiStealTokenCheckFail string
	HTTPDefaultContentType      string
	HTTPMimeTypesFilename       string
	HTTPMultiRangeEnabled       bool
	URLHaveGroupName            bool   // mod_fastdfs.conf url_have_group_name
	ResponseMode                string // mod_fastdfs.conf response_mode: "proxy" | "redirect"

	MetricsListen string // see Tracker.MetricsListen

	// The scrubber (an extension; upstream ignores the keys): it re-reads
	// every file at ScrubBytesPerSecond (scrub_bytes_per_second, a byte
	// size such as 8MB; 0, the default, turns it off), one pass every
	// ScrubPassInterval (scrub_pass_interval, seconds, default 86400).
	ScrubBytesPerSecond int64
	ScrubPassInterval   time.Duration

	// RefillNewDiskAfter (refill_new_disk_after, seconds, default 60; an
	// extension): a store path gone for this long that then shows a new,
	// empty disk is refilled from the group while the storage runs; 0
	// leaves that to disk recovery at the next start, as upstream.
	RefillNewDiskAfter time.Duration

	Raw *File
}

// LogConfig is one log's settings as libserverframe's sf_load_log_config
// reads them: from the log's section, else from the global part. The
// daemons log to stderr, so these are validated but not used.
type LogConfig struct {
	SyncLogBuffInterval time.Duration // sync_log_buff_interval
	RotateEveryday      bool          // log_file_rotate_everyday
	RotateTime          string        // log_file_rotate_time "HH:MM"
	CompressOld         bool          // log_file_compress_old
	CompressDaysBefore  int           // log_file_compress_days_before
	RotateOnSize        int64         // log_file_rotate_on_size, bytes (0 = never)
	KeepDays            int           // log_file_keep_days (0 = keep all)
	DeleteOldTime       string        // log_file_delete_old_time "HH:MM"
}

// AccessLog is storage.conf's [access-log]; the settings are only read
// when it is enabled, as upstream.
type AccessLog struct {
	Enabled       bool
	TimePrecision string // "ms" | "us"
	LogConfig
}

// Client is client.conf, with the effective values of upstream's
// fdfs_client_init.
type Client struct {
	ConnectTimeout                time.Duration
	NetworkTimeout                time.Duration
	BasePath                      string // "/tmp" when absent
	TrackerServers                []string
	LogLevel                      string
	ConnectFirstBy                string // "tracker" | "last-connected"
	UseConnectionPool             bool
	ConnectionPoolMaxIdleTime     time.Duration
	LoadFDFSParametersFromTracker bool
	UseStorageID                  bool
	StorageIDsFilename            string // relative values are joined to the conf file's dir
	HTTPAntiStealCheckToken       bool
	HTTPAntiStealSecretKey        string

	Raw *File
}

// StorageID is one line of storage_ids.conf.
type StorageID struct {
	ID    string
	Group string
	IPs   []string // one or two addresses (dual IP: the inner one first), IPv6 without brackets
	Port  int      // 0 = none given (upstream then uses 23000: see EffectivePort)
	RW    string   // "both" | "read" | "write" | "none"
}

// StorageIDs is a parsed storage_ids.conf.
type StorageIDs struct {
	List []StorageID
}
