package trackernode

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/daemonmetrics"
)

// Metrics and health of metrics_listen (docs/operations.md). The tracker
// holds the cluster map that upstream's fdfs_exporter asks a tracker for,
// so it serves that exporter's metrics under the same names and labels
// (fastdfs_*; its Grafana dashboard works unchanged), plus fdfs_tracker_*
// for its own requests, states and leadership.

// startMetrics serves metrics_listen when it is set.
func (s *Server) startMetrics() error {
	if s.cfg.MetricsListen == "" {
		return nil
	}
	reg := daemonmetrics.NewRegistry(s.reqs, trackerCollector{s})
	m, err := daemonmetrics.Listen(s.cfg.MetricsListen, reg, s.ready, s.log)
	if err != nil {
		return err
	}
	s.metrics = m
	s.log.Info("metrics and health served", "addr", m.Addr())
	return nil
}

// MetricsAddr returns the bound metrics_listen address ("" when off).
func (s *Server) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.Addr()
}

// ready is /readyz: the tracker serves from Start until it stops.
func (s *Server) ready() error {
	if s.stopping() {
		return errors.New("shutting down")
	}
	return nil
}

var (
	upTrackerLabels = []string{"host"}
	upGroupLabels   = []string{"group"}
	upStorageLabels = []string{"group", "storage_id", "ip", "status"}
	// upstream builds each name as fastdfs_<kind>_<metric>.
	up = func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("fastdfs_"+name, help, labels, nil)
	}
	fd = func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("fdfs_tracker_"+name, help, labels, nil)
	}

	upTrackerIsLeader    = up("tracker_is_leader", "Is leader", upTrackerLabels)
	upTrackerIsActive    = up("tracker_is_active", "Is active", upTrackerLabels)
	upTrackerConnsAlloc  = up("tracker_connections_alloc", "Alloc connection count", upTrackerLabels)
	upTrackerConnsCur    = up("tracker_connections_current", "Current connection count", upTrackerLabels)
	upTrackerConnsMax    = up("tracker_connections_max", "Maximum connection count", upTrackerLabels)
	upGroupTotal         = up("group_total_mb", "Disk total space in MB", upGroupLabels)
	upGroupFree          = up("group_free_mb", "Disk free space in MB", upGroupLabels)
	upGroupReserved      = up("group_reserved_mb", "Disk reserved space in MB", upGroupLabels)
	upGroupAvail         = up("group_available_mb", "Disk available space in MB", upGroupLabels)
	upGroupStorages      = up("group_storage_count", "Number of storage servers in group", upGroupLabels)
	upGroupReadable      = up("group_readable_server_count", "Number of readable storage servers", upGroupLabels)
	upGroupWritable      = up("group_writable_server_count", "Number of writable storage servers", upGroupLabels)
	upGroupActive        = up("group_active_count", "Number of ACTIVE storage servers (used by upstream's dashboard)", upGroupLabels)
	upStorageTotal       = up("storage_total_mb", "Disk total space in MB", upStorageLabels)
	upStorageFree        = up("storage_free_mb", "Disk free space in MB", upStorageLabels)
	upStorageReserved    = up("storage_reserved_mb", "Disk reserved space in MB", upStorageLabels)
	upStorageAvail       = up("storage_available_mb", "Disk available space in MB", upStorageLabels)
	upStorageHeartbeat   = up("storage_last_heartbeat", "Last heartbeat timestamp", upStorageLabels)
	upStorageHBDelay     = up("storage_heartbeat_delay_seconds", "Seconds since last heartbeat", upStorageLabels)
	upStorageSyncedTS    = up("storage_last_synced_timestamp", "Last synced timestamp", upStorageLabels)
	upStorageSyncedDelay = up("storage_synced_delay_seconds", "Synced delay seconds", upStorageLabels)
	upStorageConnsAlloc  = up("storage_connections_alloc", "Alloc connection count", upStorageLabels)
	upStorageConnsCur    = up("storage_connections_current", "Current connection count", upStorageLabels)
	upStorageConnsMax    = up("storage_connections_max", "Maximum connection count", upStorageLabels)

	fdReady         = fd("ready", "1 when /readyz answers ready.")
	fdIsLeader      = fd("is_leader", "1 when this tracker is the leader of its tracker cluster (a lone tracker leads).")
	fdLeaderKnown   = fd("leader_known", "1 when this tracker knows a leader.")
	fdPeers         = fd("peers", "Other trackers this tracker knows.")
	fdGroups        = fd("groups", "Groups in the cluster map.")
	fdStorageStatus = fd("storage_status", "1 for each storage in the cluster map, labelled with its status (upstream names).", "group", "storage_id", "ip", "status")
	fdStorages      = fd("storages", "Storages in the cluster map by status.", "group", "status")
	fdConns         = fd("connections", "Connections open now.")
	fdConnsLimit    = fd("connections_limit", "max_connections.")
	fdConnsMax      = fd("connections_max", "Most connections open at once since start.")
	fdStart         = fd("start_time_seconds", "Unix time the tracker started.")
)

// storageCounters are upstream's per-storage counters: metric name
// (after fastdfs_storage_), help, and the field of the beat's stat block.
var storageCounters = []struct {
	name, help string
	v          func(*protocol.StatBlock) int64
}{
	{"upload_total", "Total upload count", func(b *protocol.StatBlock) int64 { return b.TotalUploadCount }},
	{"upload_success", "Success upload count", func(b *protocol.StatBlock) int64 { return b.SuccessUploadCount }},
	{"upload_bytes_total", "Total upload bytes", func(b *protocol.StatBlock) int64 { return b.TotalUploadBytes }},
	{"download_total", "Total download count", func(b *protocol.StatBlock) int64 { return b.TotalDownloadCount }},
	{"download_success", "Success download count", func(b *protocol.StatBlock) int64 { return b.SuccessDownloadCount }},
	{"download_bytes_total", "Total download bytes", func(b *protocol.StatBlock) int64 { return b.TotalDownloadBytes }},
	{"delete_total", "Total delete count", func(b *protocol.StatBlock) int64 { return b.TotalDeleteCount }},
	{"delete_success", "Success delete count", func(b *protocol.StatBlock) int64 { return b.SuccessDeleteCount }},
	{"append_total", "Total append count", func(b *protocol.StatBlock) int64 { return b.TotalAppendCount }},
	{"append_success", "Success append count", func(b *protocol.StatBlock) int64 { return b.SuccessAppendCount }},
	{"modify_total", "Total modify count", func(b *protocol.StatBlock) int64 { return b.TotalModifyCount }},
	{"modify_success", "Success modify count", func(b *protocol.StatBlock) int64 { return b.SuccessModifyCount }},
	{"sync_in_bytes_total", "Total sync in bytes", func(b *protocol.StatBlock) int64 { return b.TotalSyncInBytes }},
	{"sync_out_bytes_total", "Total sync out bytes", func(b *protocol.StatBlock) int64 { return b.TotalSyncOutBytes }},
}

var storageCounterDescs = func() []*prometheus.Desc {
	out := make([]*prometheus.Desc, len(storageCounters))
	for i, c := range storageCounters {
		out[i] = up("storage_"+c.name, c.help, upStorageLabels)
	}
	return out
}()

// trackerCollector reads the cluster map at scrape time.
type trackerCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (trackerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upTrackerIsLeader, upTrackerIsActive, upTrackerConnsAlloc, upTrackerConnsCur, upTrackerConnsMax,
		upGroupTotal, upGroupFree, upGroupReserved, upGroupAvail, upGroupStorages, upGroupReadable, upGroupWritable, upGroupActive,
		upStorageTotal, upStorageFree, upStorageReserved, upStorageAvail, upStorageHeartbeat, upStorageHBDelay,
		upStorageSyncedTS, upStorageSyncedDelay, upStorageConnsAlloc, upStorageConnsCur, upStorageConnsMax,
		fdReady, fdIsLeader, fdLeaderKnown, fdPeers, fdGroups, fdStorageStatus, fdStorages, fdConns, fdConnsLimit, fdConnsMax, fdStart} {
		ch <- d
	}
	for _, d := range storageCounterDescs {
		ch <- d
	}
}

// groupView is one group of the cluster map, copied under s.mu.
type groupView struct {
	stat     protocol.GroupStat
	active   int
	storages []protocol.StorageStat
}

// Collect implements prometheus.Collector.
func (c trackerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	s.mu.Lock()
	self, leader, peers := s.trackerView()
	var groups []groupView
	for _, g := range s.sortedGroups() {
		v := groupView{stat: s.groupStat(g)}
		for _, st := range g.sorted {
			v.storages = append(v.storages, s.storageStat(st))
			if st.active() {
				v.active++
			}
		}
		groups = append(groups, v)
	}
	now := s.now().Unix()
	s.mu.Unlock()

	gauge(fdReady, b2f(s.ready() == nil))
	gauge(fdIsLeader, b2f(self == leader))
	gauge(fdLeaderKnown, b2f(leader != ""))
	gauge(fdPeers, float64(len(peers)))
	gauge(fdGroups, float64(len(groups)))
	gauge(fdConns, float64(len(s.sem)))
	gauge(fdConnsLimit, float64(cap(s.sem)))
	gauge(fdConnsMax, float64(s.peak.Load()))
	gauge(fdStart, float64(s.startTime.Unix()))
	// As TRACKER_CLUSTER_STAT: our own counters; of the peers, whether they lead.
	gauge(upTrackerIsLeader, b2f(self == leader), self)
	gauge(upTrackerIsActive, 1, self)
	gauge(upTrackerConnsAlloc, float64(cap(s.sem)), self)
	gauge(upTrackerConnsCur, float64(len(s.sem)), self)
	gauge(upTrackerConnsMax, float64(s.peak.Load()), self)
	for _, p := range peers {
		gauge(upTrackerIsLeader, b2f(p == leader), p)
		gauge(upTrackerIsActive, b2f(p == leader), p)
	}
	for _, g := range groups {
		collectGroup(gauge, g, now)
	}
}

// collectGroup emits one group and its storages as upstream's exporter.
func collectGroup(gauge func(*prometheus.Desc, float64, ...string), g groupView, now int64) {
	gs := g.stat
	gauge(upGroupTotal, float64(gs.TotalMB), gs.Name)
	gauge(upGroupFree, float64(gs.FreeMB), gs.Name)
	gauge(upGroupReserved, float64(gs.ReservedMB), gs.Name)
	gauge(upGroupAvail, float64(max(gs.FreeMB-gs.ReservedMB, 0)), gs.Name)
	gauge(upGroupStorages, float64(gs.StorageCount), gs.Name)
	gauge(upGroupReadable, float64(gs.ReadableCount), gs.Name)
	gauge(upGroupWritable, float64(gs.WritableCount), gs.Name)
	gauge(upGroupActive, float64(g.active), gs.Name)
	byStatus := map[string]int{}
	for i := range g.storages {
		st := &g.storages[i]
		name := protocol.StorageStatusName(st.Status)
		byStatus[name]++
		gauge(fdStorageStatus, 1, gs.Name, st.ID, st.IP, name)
		l := []string{gs.Name, st.ID, st.IP, strconv.Itoa(int(st.Status))}
		gauge(upStorageTotal, float64(st.TotalMB), l...)
		gauge(upStorageFree, float64(st.FreeMB), l...)
		gauge(upStorageReserved, float64(st.ReservedMB), l...)
		gauge(upStorageAvail, float64(max(st.FreeMB-st.ReservedMB, 0)), l...)
		for j, c := range storageCounters {
			gauge(storageCounterDescs[j], float64(c.v(&st.Stat)), l...)
		}
		gauge(upStorageConnsAlloc, float64(st.Stat.AllocCount), l...)
		gauge(upStorageConnsCur, float64(st.Stat.CurrentCount), l...)
		gauge(upStorageConnsMax, float64(st.Stat.MaxCount), l...)
		gauge(upStorageHeartbeat, float64(st.Stat.LastHeartBeatTime), l...)
		gauge(upStorageHBDelay, float64(now-st.Stat.LastHeartBeatTime), l...)
		gauge(upStorageSyncedTS, float64(st.Stat.LastSyncedTimestamp), l...)
		gauge(upStorageSyncedDelay, float64(syncedDelay(g.storages, i)), l...)
	}
	for name, n := range byStatus {
		gauge(fdStorages, float64(n), gs.Name, name)
	}
}

// syncedDelay is upstream's exporter formula: the newest source update
// of the group's other storages minus what storage i last synced; 0 when
// nothing was written, -1 when storage i never synced.
func syncedDelay(sts []protocol.StorageStat, i int) int64 {
	var newest int64
	for j := range sts {
		if j != i {
			newest = max(newest, sts[j].Stat.LastSourceUpdate)
		}
	}
	switch synced := sts[i].Stat.LastSyncedTimestamp; {
	case newest == 0:
		return 0
	case synced <= 0:
		return -1
	default:
		return max(newest-synced, 0)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
