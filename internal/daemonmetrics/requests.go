package daemonmetrics

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Requests counts the protocol requests a daemon answered, by command
// and FastDFS status, and times them. Commands the daemon does not know
// are counted as "other", so a hostile client cannot grow the label set.
type Requests struct {
	total *prometheus.CounterVec   // command, status
	dur   *prometheus.HistogramVec // command
	// byCmd holds each command's children once it was first seen, so
	// only the commands a daemon serves show up in its metrics.
	byCmd [256]atomic.Pointer[cmdMetrics]
}

type cmdMetrics struct {
	name string
	ok   prometheus.Counter  // status 0, resolved once
	dur  prometheus.Observer // resolved once
}

// latencyBuckets (seconds) span a metadata read on a warm cache (~50 µs)
// to a large upload over a slow link.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewRequests returns the metrics fdfs_<subsystem>_requests_total{command,
// status} and fdfs_<subsystem>_request_duration_seconds{command}.
func NewRequests(subsystem string) *Requests {
	return &Requests{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "fdfs", Subsystem: subsystem, Name: "requests_total",
			Help: "Protocol requests answered, by command and FastDFS status (0 = success, else an errno).",
		}, []string{"command", "status"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "fdfs", Subsystem: subsystem, Name: "request_duration_seconds",
			Help: "Time from a request's header to the end of its answer, by command (file content included).", Buckets: latencyBuckets,
		}, []string{"command"}),
	}
}

// metricsOf returns cmd's children, resolving them on first use (two
// racing first uses resolve the same children).
func (r *Requests) metricsOf(cmd byte) *cmdMetrics {
	if m := r.byCmd[cmd].Load(); m != nil {
		return m
	}
	name := CommandName(cmd)
	m := &cmdMetrics{name: name, ok: r.total.WithLabelValues(name, "0"), dur: r.dur.WithLabelValues(name)}
	r.byCmd[cmd].Store(m)
	return m
}

// Observe records one answered request of cmd that ended with status
// (0 = success) after d.
func (r *Requests) Observe(cmd, status byte, d time.Duration) {
	m := r.metricsOf(cmd)
	if status == 0 {
		m.ok.Inc()
	} else {
		r.total.WithLabelValues(m.name, strconv.Itoa(int(status))).Inc()
	}
	m.dur.Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (r *Requests) Describe(ch chan<- *prometheus.Desc) {
	r.total.Describe(ch)
	r.dur.Describe(ch)
}

// Collect implements prometheus.Collector.
func (r *Requests) Collect(ch chan<- prometheus.Metric) {
	r.total.Collect(ch)
	r.dur.Collect(ch)
}

// CommandName is the label of a command code: upstream's name without
// its prefix, in lower case ("upload_file"); "other" for unknown codes.
func CommandName(cmd byte) string {
	if n, ok := commandNames[cmd]; ok {
		return n
	}
	return "other"
}

var commandNames = map[byte]string{
	protocol.CmdActiveTest: "active_test",

	protocol.CmdQueryStoreWithoutGroupOne: "query_store_without_group_one",
	protocol.CmdQueryFetchOne:             "query_fetch_one",
	protocol.CmdQueryUpdate:               "query_update",
	protocol.CmdQueryStoreWithGroupOne:    "query_store_with_group_one",
	protocol.CmdQueryFetchAll:             "query_fetch_all",
	protocol.CmdQueryStoreWithoutGroupAll: "query_store_without_group_all",
	protocol.CmdQueryStoreWithGroupAll:    "query_store_with_group_all",
	protocol.CmdServerDeleteGroup:         "server_delete_group",
	protocol.CmdServerListOneGroup:        "server_list_one_group",
	protocol.CmdServerListAllGroups:       "server_list_all_groups",
	protocol.CmdServerListStorage:         "server_list_storage",
	protocol.CmdServerDeleteStorage:       "server_delete_storage",
	protocol.CmdServerSetTrunkServer:      "server_set_trunk_server",
	protocol.CmdServerGetLeader:           "server_get_leader",
	protocol.CmdServerTrackerClusterStat:  "server_tracker_cluster_stat",
	protocol.CmdServerStorageClusterStat:  "server_storage_cluster_stat",
	protocol.CmdServerStorageVolumeStat:   "server_storage_volume_stat",

	protocol.CmdStorageChangeStatus:       "storage_change_status",
	protocol.CmdStorageGetMyIP:            "storage_get_my_ip",
	protocol.CmdStorageFetchStorageIDs:    "storage_fetch_storage_ids",
	protocol.CmdStorageGetServerID:        "storage_get_server_id",
	protocol.CmdStorageGetStatus:          "storage_get_status",
	protocol.CmdStorageFetchTrunkFID:      "storage_fetch_trunk_fid",
	protocol.CmdStorageReportTrunkFID:     "storage_report_trunk_fid",
	protocol.CmdStorageReportTrunkFree:    "storage_report_trunk_free",
	protocol.CmdStorageParameterReq:       "storage_parameter_req",
	protocol.CmdStorageReportStatus:       "storage_report_status",
	protocol.CmdStorageChangelogReq:       "storage_changelog_req",
	protocol.CmdStorageReportIPChanged:    "storage_report_ip_changed",
	protocol.CmdStorageSyncDestQuery:      "storage_sync_dest_query",
	protocol.CmdStorageJoin:               "storage_join",
	protocol.CmdStorageBeat:               "storage_beat",
	protocol.CmdStorageReportDiskUsage:    "storage_report_disk_usage",
	protocol.CmdStorageReplicaChg:         "storage_replica_chg",
	protocol.CmdStorageSyncSrcReq:         "storage_sync_src_req",
	protocol.CmdStorageSyncDestReq:        "storage_sync_dest_req",
	protocol.CmdStorageSyncNotify:         "storage_sync_notify",
	protocol.CmdStorageSyncReport:         "storage_sync_report",
	protocol.CmdStorageGetGroupName:       "storage_get_group_name",
	protocol.CmdTrackerNotifyReselectLead: "tracker_notify_reselect_leader",

	protocol.CmdTrackerJoinLeader:       "tracker_join_leader",
	protocol.CmdTrackerGetSysFilesStart: "tracker_get_sys_files_start",
	protocol.CmdTrackerGetSysFilesEnd:   "tracker_get_sys_files_end",
	protocol.CmdTrackerGetOneSysFile:    "tracker_get_one_sys_file",
	protocol.CmdTrackerGetStatus:        "tracker_get_status",
	protocol.CmdTrackerPingLeader:       "tracker_ping_leader",
	protocol.CmdTrackerNotifyNextLeader: "tracker_notify_next_leader",
	protocol.CmdTrackerCommitNextLeader: "tracker_commit_next_leader",

	protocol.CmdUploadFile:                 "upload_file",
	protocol.CmdDeleteFile:                 "delete_file",
	protocol.CmdSetMetadata:                "set_metadata",
	protocol.CmdDownloadFile:               "download_file",
	protocol.CmdGetMetadata:                "get_metadata",
	protocol.CmdCreateLink:                 "create_link",
	protocol.CmdUploadSlaveFile:            "upload_slave_file",
	protocol.CmdQueryFileInfo:              "query_file_info",
	protocol.CmdUploadAppenderFile:         "upload_appender_file",
	protocol.CmdAppendFile:                 "append_file",
	protocol.CmdModifyFile:                 "modify_file",
	protocol.CmdTruncateFile:               "truncate_file",
	protocol.CmdRegenerateAppenderFilename: "regenerate_appender_filename",

	protocol.CmdReportServerID:     "report_server_id",
	protocol.CmdSyncCreateFile:     "sync_create_file",
	protocol.CmdSyncDeleteFile:     "sync_delete_file",
	protocol.CmdSyncUpdateFile:     "sync_update_file",
	protocol.CmdSyncCreateLink:     "sync_create_link",
	protocol.CmdSyncAppendFile:     "sync_append_file",
	protocol.CmdFetchOnePathBinlog: "fetch_one_path_binlog",
	protocol.CmdTrunkAllocSpace:    "trunk_alloc_space",
	protocol.CmdTrunkAllocConfirm:  "trunk_alloc_confirm",
	protocol.CmdTrunkFreeSpace:     "trunk_free_space",
	protocol.CmdTrunkSyncBinlog:    "trunk_sync_binlog",
	protocol.CmdSyncModifyFile:     "sync_modify_file",
	protocol.CmdSyncTruncateFile:   "sync_truncate_file",
	protocol.CmdSyncRenameFile:     "sync_rename_file",
}
