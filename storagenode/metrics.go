package storagenode

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/daemonmetrics"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Metrics and health of metrics_listen (docs/operations.md). The request
// path only feeds Server.reqs; everything else is read here at scrape
// time from what the server keeps anyway.

// startMetrics serves metrics_listen when it is set.
func (s *Server) startMetrics() error {
	if s.cfg.MetricsListen == "" {
		return nil
	}
	reg := daemonmetrics.NewRegistry(s.reqs, storageCollector{s})
	m, err := daemonmetrics.Listen(s.cfg.MetricsListen, reg, s.ready, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.metrics = m
	s.mu.Unlock()
	s.log.Info("metrics and health served", "addr", m.Addr())
	return nil
}

// MetricsAddr returns the bound metrics_listen address ("" when off).
func (s *Server) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metrics == nil {
		return ""
	}
	return s.metrics.Addr()
}

// ready is /readyz: the storage serves clients once a tracker told it
// that it is ACTIVE in its group, and until it starts shutting down.
func (s *Server) ready() error {
	if s.draining.Load() || s.ctx.Err() != nil {
		return errors.New("shutting down")
	}
	st := s.status.Load()
	if st == 0 {
		return errors.New("not joined to a tracker yet")
	}
	if byte(st-1) != protocol.StatusActive {
		return fmt.Errorf("status %s on the trackers, not ACTIVE", protocol.StorageStatusName(byte(st-1)))
	}
	return nil
}

var (
	stDesc = func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("fdfs_storage_"+name, help, labels, nil)
	}
	stInfo         = stDesc("info", "Always 1: the storage's group, id and the IP the trackers see.", "group", "id", "ip")
	stStatus       = stDesc("status", "1 for the storage's status on the trackers (upstream names), 0 for the others.", "status")
	stReady        = stDesc("ready", "1 when /readyz answers ready (joined, ACTIVE, not stopping).")
	stStart        = stDesc("start_time_seconds", "Unix time the server started.")
	stOps          = stDesc("operations_total", "File operations attempted (upstream's total_*_count).", "op")
	stOpsOK        = stDesc("operations_succeeded_total", "File operations that succeeded (upstream's success_*_count).", "op")
	stBytes        = stDesc("bytes_total", "Bytes of file content handled (upstream's total_*_bytes).", "op")
	stBytesOK      = stDesc("bytes_succeeded_total", "Bytes of file content of successful operations (upstream's success_*_bytes).", "op")
	stConns        = stDesc("connections", "Client connections open now.")
	stConnsMax     = stDesc("connections_max", "Most client connections open at once since the counters began.")
	stConnsAlloc   = stDesc("connections_accepted_total", "Client connections accepted.")
	stLastUpdate   = stDesc("last_source_update_timestamp_seconds", "Unix time of the last change made by a client here.")
	stLastSyncUpd  = stDesc("last_sync_update_timestamp_seconds", "Unix time of the last change received by replication.")
	stPathTotal    = stDesc("store_path_size_bytes", "Size of the file system of a store path.", "store_path", "path")
	stPathFree     = stDesc("store_path_free_bytes", "Free space of a store path for unprivileged writers (statfs f_bavail).", "store_path", "path")
	stBinlogBytes  = stDesc("binlog_bytes", "Bytes in the binlog files (binlog.NNN) kept in data/sync; a gzipped one (compress_binlog) counts its unpacked size.")
	stBinlogIndex  = stDesc("binlog_index", "Number of the binlog file being written.")
	stBinlogLastTS = stDesc("binlog_last_record_timestamp_seconds", "Unix time of the last record written to the binlog since start (0 = none).")
	stLagBytes     = stDesc("sync_lag_bytes", "Binlog bytes not yet replayed to a peer.", "peer", "peer_status")
	stLagSeconds   = stDesc("sync_lag_seconds", "Seconds between the newest binlog record and the last one replayed to a peer (0 when caught up).", "peer", "peer_status")
	stDeferred     = stDesc("sync_deferred_records", "Records a peer refused for now, set aside for a retry.", "peer", "peer_status")
	stSkipped      = stDesc("sync_skipped_records_total", "Records a peer refused for good since start.", "peer", "peer_status")
	stSourceReads  = stDesc("source_reads_total", "Client reads (download, metadata, file info) of files not here yet that were asked of their source storage since start, by result: ok (sent), refused (the source's error status, such as ENOENT), failed (unreachable, or broken mid-transfer).", "result")
	stLostReads    = stDesc("lost_reads_total", "Client reads (download, metadata, file info) of files on a store path that cannot give them (its data directory gone, a disk I/O error), asked of the group's other storages since start (on the HTTP port too, in proxy mode), one count per storage asked, by result: ok (sent), refused (its error status, such as ENOENT), failed (unreachable, or broken mid-transfer).", "result")
	stPathState    = stDesc("store_path_state", "1 for a store path's state as last checked (every 5 s): ok, read_only (uploads go to other paths), gone (its data directories cannot be reached: uploads go to other paths, reads of its files are asked of the group's other storages), refilling (a new disk in its place being refilled from the group: as gone for the files not restored yet).", "store_path", "path", "state")
	stAppendConfl  = stDesc("sync_append_conflicts_total", "Peers' appends to an appender file whose range this storage's copy already held with other bytes, since start: the file's copies diverged (two appends at two storages at once); this copy was kept.")
	stPipelined    = stDesc("sync_pipelined_records_total", "Records sent to a peer in pipelined batches (replication catching up) since start.", "peer", "peer_status")
)

// storageCollector reads the server's figures at scrape time.
type storageCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{stInfo, stStatus, stReady, stStart, stOps, stOpsOK, stBytes, stBytesOK,
		stConns, stConnsMax, stConnsAlloc, stLastUpdate, stLastSyncUpd, stPathTotal, stPathFree,
		stBinlogBytes, stBinlogIndex, stBinlogLastTS, stLagBytes, stLagSeconds, stDeferred, stSkipped, stPipelined,
		stSourceReads, stLostReads, stPathState, stAppendConfl, stRecoveryPaths, stRecoveryRemaining, stRecoveryRestored} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c storageCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v int64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(stInfo, 1, s.cfg.GroupName, s.selfID(), *s.myIP.Load())
	cur := byte(s.status.Load() - 1)
	for _, st := range []byte{protocol.StatusInit, protocol.StatusWaitSync, protocol.StatusSyncing, protocol.StatusIPChanged,
		protocol.StatusDeleted, protocol.StatusOffline, protocol.StatusOnline, protocol.StatusActive, protocol.StatusRecovery} {
		gauge(stStatus, b2f(s.status.Load() != 0 && cur == st), protocol.StorageStatusName(st))
	}
	gauge(stReady, b2f(s.ready() == nil))
	gauge(stStart, float64(s.start.Unix()))

	b := s.stats.snapshot()
	for _, o := range []struct {
		op        string
		total, ok int64
	}{
		{"upload", b.TotalUploadCount, b.SuccessUploadCount}, {"append", b.TotalAppendCount, b.SuccessAppendCount},
		{"modify", b.TotalModifyCount, b.SuccessModifyCount}, {"truncate", b.TotalTruncateCount, b.SuccessTruncateCount},
		{"set_metadata", b.TotalSetMetaCount, b.SuccessSetMetaCount}, {"delete", b.TotalDeleteCount, b.SuccessDeleteCount},
		{"download", b.TotalDownloadCount, b.SuccessDownloadCount}, {"get_metadata", b.TotalGetMetaCount, b.SuccessGetMetaCount},
		{"create_link", b.TotalCreateLinkCount, b.SuccessCreateLinkCount}, {"delete_link", b.TotalDeleteLinkCount, b.SuccessDeleteLinkCount},
		{"file_open", b.TotalFileOpenCount, b.SuccessFileOpenCount}, {"file_read", b.TotalFileReadCount, b.SuccessFileReadCount},
		{"file_write", b.TotalFileWriteCount, b.SuccessFileWriteCount},
	} {
		counter(stOps, o.total, o.op)
		counter(stOpsOK, o.ok, o.op)
	}
	for _, o := range []struct {
		op        string
		total, ok int64
	}{
		{"upload", b.TotalUploadBytes, b.SuccessUploadBytes}, {"append", b.TotalAppendBytes, b.SuccessAppendBytes},
		{"modify", b.TotalModifyBytes, b.SuccessModifyBytes}, {"download", b.TotalDownloadBytes, b.SuccessDownloadBytes},
		{"sync_in", b.TotalSyncInBytes, b.SuccessSyncInBytes}, {"sync_out", b.TotalSyncOutBytes, b.SuccessSyncOutBytes},
	} {
		counter(stBytes, o.total, o.op)
		counter(stBytesOK, o.ok, o.op)
	}
	gauge(stConns, float64(b.CurrentCount))
	gauge(stConnsMax, float64(b.MaxCount))
	counter(stConnsAlloc, int64(b.AllocCount))
	counter(stSourceReads, s.sourceReads.ok.Load(), "ok")
	counter(stSourceReads, s.sourceReads.refused.Load(), "refused")
	counter(stSourceReads, s.sourceReads.failed.Load(), "failed")
	counter(stLostReads, s.lostReads.ok.Load(), "ok")
	counter(stLostReads, s.lostReads.refused.Load(), "refused")
	counter(stLostReads, s.lostReads.failed.Load(), "failed")
	counter(stAppendConfl, s.appendConflicts.Load())
	gauge(stLastUpdate, float64(b.LastSourceUpdate))
	gauge(stLastSyncUpd, float64(b.LastSyncUpdate))
	for i, p := range s.cfg.StorePaths {
		now := s.store.health.state(i)
		for _, st := range []pathState{pathOK, pathReadOnly, pathGone, pathRefilling} {
			gauge(stPathState, b2f(st == now), strconv.Itoa(i), p, st.String())
		}
		if total, free, err := s.store.pathBytes(i); err == nil && !now.away() {
			gauge(stPathTotal, float64(total), strconv.Itoa(i), p)
			gauge(stPathFree, float64(free), strconv.Itoa(i), p)
		}
	}
	c.collectBinlog(gauge, max(b.LastSourceUpdate, 0))
	c.collectRecovery(ch)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// packPos packs a binlog position into one word, so a scrape never sees
// the index of one position with the offset of another: binlog files are
// at most binlog.MaxFileSize (1 GiB < 2^40) bytes. Index+1 is stored, so
// 0 means no position.
func packPos(index int, offset int64) uint64 {
	return uint64(index+1)<<40 | uint64(offset)&(1<<40-1)
}

func unpackPos(p uint64) (index int, offset int64, ok bool) {
	if p == 0 {
		return 0, 0, false
	}
	return int(p>>40) - 1, int64(p & (1<<40 - 1)), true
}

// collectBinlog reports the binlog and, for each peer, how far behind
// its replay is: the position of its running (or last) session, else the
// one its mark file saved.
// The lag in seconds is upstream's synced delay: the newest record's time
// (lastSource, unix seconds, when none was written since start) minus the
// time of the first record not replayed yet.
func (c storageCollector) collectBinlog(gauge func(*prometheus.Desc, float64, ...string), lastSource int64) {
	s := c.s
	dir := s.store.syncDir()
	cur, curSize, lastTS := s.bl.Stat()
	sizes := make([]int64, cur+1) // sizes[i] of binlog.i, gzipped or not; missing files count 0
	var total int64
	for i := 0; i < cur; i++ {
		sizes[i] = binlog.Size(dir, i)
		total += sizes[i]
	}
	sizes[cur] = curSize
	gauge(stBinlogBytes, float64(total+curSize))
	gauge(stBinlogIndex, float64(cur))
	gauge(stBinlogLastTS, float64(lastTS))

	s.repl.mu.Lock()
	workers := make([]*syncWorker, 0, len(s.repl.workers))
	for _, w := range s.repl.workers {
		workers = append(workers, w)
	}
	s.repl.mu.Unlock()
	for _, w := range workers {
		b := w.brief.Load()
		peer, status := b.ID, protocol.StorageStatusName(w.peerStatus())
		gauge(stDeferred, float64(w.nDeferred.Load()), peer, status)
		gauge(stSkipped, float64(w.nSkipped.Load()), peer, status)
		gauge(stPipelined, float64(w.nPipelined.Load()), peer, status)
		idx, off, ok := unpackPos(w.pos.Load())
		if !ok {
			m, err := loadMark(w.markPath())
			if err != nil {
				continue // no replay started yet: the lag is not known
			}
			idx, off = m.Index, m.Offset
		}
		behind := behindBytes(sizes, idx, off)
		gauge(stLagBytes, float64(behind), peer, status)
		var lag float64
		if behind > 0 {
			if idx < cur && off >= sizes[idx] {
				idx, off = idx+1, 0 // at the end of a finished file: the next one's first record
			}
			newest := max(lastTS, lastSource)
			if ts, err := recordTimeAt(binlog.Path(dir, idx), off); err == nil && newest >= ts {
				lag = float64(newest - ts)
			}
		}
		gauge(stLagSeconds, lag, peer, status)
	}
}

// behindBytes is how many binlog bytes follow position (idx, off).
func behindBytes(sizes []int64, idx int, off int64) int64 {
	if idx >= len(sizes) {
		return 0
	}
	n := -off
	for _, sz := range sizes[idx:] {
		n += sz
	}
	return max(n, 0)
}

// recordTimeAt reads the timestamp of the binlog record starting at off
// in file path, a gzipped file's through gzip (decompressing up to off;
// packedTimes keeps what it found, as a position inside a packed file
// belongs to a peer without a running session, which does not move).
func recordTimeAt(path string, off int64) (int64, error) {
	var buf [32]byte // "<10-digit timestamp> <op> ..." fits well in 32 bytes
	var n int
	f, err := os.Open(path)
	switch {
	case err == nil:
		defer f.Close()
		n, err = f.ReadAt(buf[:], off)
	case errors.Is(err, fs.ErrNotExist):
		key := path + "@" + strconv.FormatInt(off, 10)
		if ts, ok := packedTimes.get(key); ok {
			return ts, nil
		}
		var r io.ReadCloser
		if r, err = binlog.OpenStream(path); err != nil {
			return 0, err
		}
		defer r.Close()
		if _, err = io.CopyN(io.Discard, r, off); err != nil {
			return 0, fmt.Errorf("binlog %s at %d: %w", path, off, err)
		}
		n, err = io.ReadFull(r, buf[:])
		if ts, perr := parseRecordTime(buf[:n]); n > 0 && perr == nil {
			packedTimes.put(key, ts)
			return ts, nil
		}
	default:
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("binlog %s at %d: %w", path, off, err)
	}
	return parseRecordTime(buf[:n])
}

// parseRecordTime is the timestamp a binlog record starts with.
func parseRecordTime(b []byte) (int64, error) {
	end := 0
	for end < len(b) && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	return strconv.ParseInt(string(b[:end]), 10, 64)
}

// packedTimes remembers the record times recordTimeAt found inside
// gzipped binlogs, by "path@offset"; at most maxPackedTimes (peers
// without a running session), the oldest forgotten first.
var packedTimes = &timeCache{m: map[string]int64{}}

const maxPackedTimes = 64

type timeCache struct {
	mu    sync.Mutex
	m     map[string]int64
	order []string
}

func (c *timeCache) get(key string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts, ok := c.m[key]
	return ts, ok
}

func (c *timeCache) put(key string, ts int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	if len(c.order) >= maxPackedTimes {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[key] = ts
	c.order = append(c.order, key)
}
