package storagenode

import (
	"os"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// pathProgress is how far the recovery of one store path got, for the
// metrics: the fetched binlog's size and the bytes of it restored (size
// -1 until the binlog is fetched), and whether the path is done.
type pathProgress struct {
	size, done atomic.Int64
	finished   atomic.Bool
}

// start records the size of the recovery binlog f, restored up to offset.
func (p *pathProgress) start(f *os.File, offset int64) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	p.size.Store(info.Size())
	p.done.Store(offset)
	return nil
}

var (
	stRecoveryPaths     = stDesc("recovery_store_paths", "Store paths being refilled by a disk recovery, at start or onto a new disk while running (0 when none).")
	stRecoveryRemaining = stDesc("recovery_remaining_bytes", "Bytes of a recovering store path's fetched binlog not restored yet (-1 until it is fetched).", "store_path", "path")
	stRecoveryRestored  = stDesc("recovery_files_restored_total", "Files a disk recovery restored since start.")
)

// collectRecovery reports the disk recovery of wiped store paths.
func (c storageCollector) collectRecovery(ch chan<- prometheus.Metric) {
	r := c.s.rec
	pending := 0
	report := func(idx int, p *pathProgress) {
		if p == nil || p.finished.Load() {
			return
		}
		pending++
		left := float64(-1)
		if size := p.size.Load(); size >= 0 {
			left = float64(size - p.done.Load())
		}
		ch <- prometheus.MustNewConstMetric(stRecoveryRemaining, prometheus.GaugeValue, left,
			strconv.Itoa(idx), c.s.store.paths[idx])
	}
	for k, idx := range r.paths {
		report(idx, &r.progress[k])
	}
	for idx := range c.s.store.paths {
		report(idx, c.s.store.health.refills[idx].Load())
	}
	ch <- prometheus.MustNewConstMetric(stRecoveryPaths, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(stRecoveryRestored, prometheus.CounterValue, float64(r.restored.Load()))
}
