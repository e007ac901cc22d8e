package conf

import "time"

// Tracker is tracker.conf.
type Tracker struct {
	Disabled       bool
	BindAddr       string
	Port           int
	BasePath       string
	ConnectTimeout time.Duration
	NetworkTimeout time.Duration
	MaxConnections int
	AcceptThreads  int
	WorkThreads    int
	MinBuffSize    int64 // bytes
	MaxBuffSize    int64 // bytes
	// StoreLookup: 0 round robin, 1 specify group (StoreGroup), 2 load balance.
	StoreLookup int
	StoreGroup  string
	// StoreServer: 0 round robin, 1 first by id/IP, 2 by upload priority.
	StoreServer int
	// StorePath: 0 round robin, 2 most free space.
	StorePath int
	// DownloadServer: 0 round robin, 1 source storage first.
	DownloadServer       int
	ReservedStorageSpace Reserved
	LogLevel             string
	RunByGroup           string
	RunByUser            string
	AllowHosts           []string
	SyncLogBuffInterval  time.Duration
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
	RotateErrorLog                 bool
	ErrorLogRotateTime             string // "HH:MM"
	CompressOldErrorLog            bool
	CompressErrorLogDaysBefore     int
	RotateErrorLogSize             int64 // bytes
	LogFileKeepDays                int
	UseConnectionPool              bool
	ConnectionPoolMaxIdleTime      time.Duration
	AddressFamily                  string // "auto" | "IPv4" | "IPv6" | "both"
	ResponseIPAddrSize             string // "auto" | "IPv4" | "IPv6"
	HTTPServerPort                 int
	HTTPCheckAliveInterval         time.Duration
	HTTPCheckAliveType             string // "tcp" | "http"
	HTTPCheckAliveURI              string

	Raw *File
}

// Storage is storage.conf.
type Storage struct {
	Disabled            bool
	GroupName           string
	BindAddr            string
	ClientBind          bool
	Port                int
	ConnectTimeout      time.Duration
	NetworkTimeout      time.Duration
	HeartBeatInterval   time.Duration
	StatReportInterval  time.Duration
	BasePath            string
	MaxConnections      int
	AcceptThreads       int
	BuffSize            int64 // bytes
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
	SyncMaxThreads      int // 0 = auto
	DiskRecoveryThreads int
	StorePathCount      int
	StorePaths          []string // len == StorePathCount; store_path0 defaults to BasePath
	StorePathReadonly   []bool   // len == StorePathCount
	SubdirCountPerPath  int
	TrackerServers      []string // "host:port"; dual-IP "ip1,ip2:port" kept verbatim
	LogLevel            string
	RunByGroup          string
	RunByUser           string
	AllowHosts          []string
	// FileDistributePathMode: 0 round robin, 1 random (hash).
	FileDistributePathMode      int
	FileDistributeRotateCount   int
	FsyncAfterWrittenBytes      int64 // bytes, 0 = never
	SyncLogBuffInterval         time.Duration
	SyncBinlogBuffInterval      time.Duration
	SyncStatFileInterval        time.Duration
	ThreadStackSize             int64 // bytes
	UploadPriority              int
	IfAliasPrefix               string
	CheckFileDuplicate          bool
	FileSignatureMethod         string // "hash" | "md5"
	KeyNamespace                string
	KeepAlive                   bool
	UseAccessLog                bool
	RotateAccessLog             bool
	AccessLogRotateTime         string
	CompressOldAccessLog        bool
	CompressAccessLogDaysBefore int
	RotateErrorLog              bool
	ErrorLogRotateTime          string
	CompressOldErrorLog         bool
	CompressErrorLogDaysBefore  int
	RotateAccessLogSize         int64 // bytes
	RotateErrorLogSize          int64 // bytes
	LogFileKeepDays             int
	FileSyncSkipInvalidRecord   bool
	ServerID                    string
	UseConnectionPool           bool
	ConnectionPoolMaxIdleTime   time.Duration
	CompressBinlog              bool
	CompressBinlogTime          string // "HH:MM"
	CheckStorePathMark          bool
	AddressFamily               string

	// http.conf / storage.conf HTTP keys.
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

	Raw *File
}

// Client is client.conf.
type Client struct {
	ConnectTimeout                time.Duration
	NetworkTimeout                time.Duration
	BasePath                      string
	TrackerServers                []string
	LogLevel                      string
	ConnectFirstBy                string // "tracker" | "last-connected"
	UseConnectionPool             bool
	ConnectionPoolMaxIdleTime     time.Duration
	LoadFDFSParametersFromTracker bool
	UseStorageID                  bool
	StorageIDsFilename            string // relative values are joined to the conf file's dir
	HTTPTrackerServerPort         int
	HTTPAntiStealCheckToken       bool
	HTTPAntiStealSecretKey        string

	Raw *File
}

// StorageID is one line of storage_ids.conf.
type StorageID struct {
	ID    string
	Group string
	IPs   []string // one or two addresses (dual IP), IPv6 without brackets
	Port  int      // 0 = none given
	RW    string   // "both" | "read" | "write" | "none"
}

// StorageIDs is a parsed storage_ids.conf.
type StorageIDs struct {
	List []StorageID
}
