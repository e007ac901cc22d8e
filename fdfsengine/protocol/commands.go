package protocol

// PipelineProbe is the header status of an ACTIVE_TEST by which one of our
// storages asks a peer whether it serves requests pipelined on one
// connection (several written before the first reply is read). Ours
// answers with the same status; upstream's storage ignores a request's
// status and answers 0: it must not get pipelined requests, as it reads a
// connection again only when data arrives after its reply.
const PipelineProbe byte = 0xF0

// Command codes (header byte 8). Names follow upstream's
// tracker_proto.h / storage_proto.h without their prefixes.
const (
	CmdResp       byte = 100 // every response
	CmdQuit       byte = 82  // no response
	CmdActiveTest byte = 111

	// Client -> tracker.
	CmdQueryStoreWithoutGroupOne byte = 101
	CmdQueryFetchOne             byte = 102
	CmdQueryUpdate               byte = 103
	CmdQueryStoreWithGroupOne    byte = 104
	CmdQueryFetchAll             byte = 105
	CmdQueryStoreWithoutGroupAll byte = 106
	CmdQueryStoreWithGroupAll    byte = 107
	CmdServerDeleteGroup         byte = 108
	CmdServerListOneGroup        byte = 90
	CmdServerListAllGroups       byte = 91
	CmdServerListStorage         byte = 92
	CmdServerDeleteStorage       byte = 93
	CmdServerSetTrunkServer      byte = 94
	CmdServerGetLeader           byte = 95
	CmdServerTrackerClusterStat  byte = 96
	CmdServerStorageClusterStat  byte = 97
	CmdServerStorageVolumeStat   byte = 98

	// Storage -> tracker.
	CmdStorageChangeStatus       byte = 59
	CmdStorageGetMyIP            byte = 60
	CmdStorageFetchStorageIDs    byte = 69
	CmdStorageGetServerID        byte = 70
	CmdStorageGetStatus          byte = 71
	CmdStorageFetchTrunkFID      byte = 72
	CmdStorageReportTrunkFID     byte = 73
	CmdStorageReportTrunkFree    byte = 74
	CmdStorageParameterReq       byte = 75
	CmdStorageReportStatus       byte = 76
	CmdStorageChangelogReq       byte = 77
	CmdStorageReportIPChanged    byte = 78
	CmdStorageSyncDestQuery      byte = 79
	CmdStorageJoin               byte = 81
	CmdStorageBeat               byte = 83
	CmdStorageReportDiskUsage    byte = 84
	CmdStorageReplicaChg         byte = 85
	CmdStorageSyncSrcReq         byte = 86
	CmdStorageSyncDestReq        byte = 87
	CmdStorageSyncNotify         byte = 88
	CmdStorageSyncReport         byte = 89
	CmdStorageGetGroupName       byte = 109
	CmdTrackerNotifyReselectLead byte = 68

	// Tracker <-> tracker.
	CmdTrackerJoinLeader       byte = 58
	CmdTrackerGetSysFilesStart byte = 61
	CmdTrackerGetSysFilesEnd   byte = 62
	CmdTrackerGetOneSysFile    byte = 63
	CmdTrackerGetStatus        byte = 64
	CmdTrackerPingLeader       byte = 65
	CmdTrackerNotifyNextLeader byte = 66
	CmdTrackerCommitNextLeader byte = 67

	// Client -> storage.
	CmdUploadFile                 byte = 11
	CmdDeleteFile                 byte = 12
	CmdSetMetadata                byte = 13
	CmdDownloadFile               byte = 14
	CmdGetMetadata                byte = 15
	CmdCreateLink                 byte = 20
	CmdUploadSlaveFile            byte = 21
	CmdQueryFileInfo              byte = 22
	CmdUploadAppenderFile         byte = 23
	CmdAppendFile                 byte = 24
	CmdModifyFile                 byte = 34
	CmdTruncateFile               byte = 36
	CmdRegenerateAppenderFilename byte = 38

	// Storage -> storage (sync, recovery, trunk).
	CmdReportServerID     byte = 9
	CmdSyncCreateFile     byte = 16
	CmdSyncDeleteFile     byte = 17
	CmdSyncUpdateFile     byte = 18
	CmdSyncCreateLink     byte = 19
	CmdSyncAppendFile     byte = 25
	CmdFetchOnePathBinlog byte = 26
	CmdTrunkAllocSpace    byte = 27
	CmdTrunkAllocConfirm  byte = 28
	CmdTrunkFreeSpace     byte = 29
	CmdTrunkSyncBinlog    byte = 30
	// Tracker -> storage and trunk server -> storage (V3.07+).
	CmdTrunkGetBinlogSize      byte = 31
	CmdTrunkDeleteBinlogMarks  byte = 32
	CmdTrunkTruncateBinlogFile byte = 33
	CmdSyncModifyFile          byte = 35
	CmdSyncTruncateFile        byte = 37
	CmdSyncRenameFile          byte = 40
)

// Storage status values as kept by the tracker and sent in briefs and stats.
const (
	StatusInit      byte = 0
	StatusWaitSync  byte = 1
	StatusSyncing   byte = 2
	StatusIPChanged byte = 3
	StatusDeleted   byte = 4
	StatusOffline   byte = 5
	StatusOnline    byte = 6
	StatusActive    byte = 7
	StatusRecovery  byte = 9
	StatusNone      byte = 99
)

// StorageStatusName returns the upstream name of a storage status.
func StorageStatusName(s byte) string {
	switch s {
	case StatusInit:
		return "INIT"
	case StatusWaitSync:
		return "WAIT_SYNC"
	case StatusSyncing:
		return "SYNCING"
	case StatusIPChanged:
		return "IP_CHANGED"
	case StatusDeleted:
		return "DELETED"
	case StatusOffline:
		return "OFFLINE"
	case StatusOnline:
		return "ONLINE"
	case StatusActive:
		return "ACTIVE"
	case StatusRecovery:
		return "RECOVERY"
	case StatusNone:
		return "NONE"
	}
	return "UNKNOWN"
}

// Fixed field widths in bytes.
const (
	GroupNameLen       = 16 // on the wire; 17 inside group stat and join
	GroupNameLenPad    = 17
	IPv4AddrSize       = 16
	IPv6AddrSize       = 46
	StorageIDSize      = 16
	VersionSize        = 8
	ExtNameLen         = 6
	SlavePrefixLen     = 16
	MetaNameMaxLen     = 64
	MetaValueMaxLen    = 256
	MetaRecordSep      = 0x01
	MetaFieldSep       = 0x02
	HostPortTextSize   = 52
	MaxServersInGroup  = 32
	MaxGroups          = 512
	MaxTrackers        = 16
	DefaultTrackerPort = 22122
	DefaultStoragePort = 23000
)

// Metadata operation flags of SET_METADATA.
const (
	MetaOverwrite byte = 'O'
	MetaMerge     byte = 'M'
)

// QUERY_FILE_INFO flags carried in the request header's status byte.
const (
	FileInfoNoCRC        byte = 1
	FileInfoQuietMissing byte = 2
)

// Commands of this implementation only (client -> storage). Upstream uses
// no code above 111; an upstream storage answers these with EINVAL, and
// nothing an upstream client sends ever reaches them.
const (
	CmdListFiles byte = 120 // a page of the storage's file index (list_msgs.go)
	CmdScrub     byte = 121 // scrubber report, optionally after a pass run now
)
