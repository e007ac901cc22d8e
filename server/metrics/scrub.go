package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the storage calls of one scrape of the scrub
// metrics.
const scrapeTimeout = 5 * time.Second

// ScrubSample is the scrub report of one storage (counters since it
// started).
type ScrubSample struct {
	Group, Storage                                               string
	Passes, Files, Bytes, Corrupt, Missing, Repaired, Unrepaired int64
}

// scrubCollector asks the storages for their scrub reports at each scrape.
type scrubCollector struct {
	fetch func(ctx context.Context) []ScrubSample
	descs map[string]*prometheus.Desc
}

var scrubCounters = []struct {
	name, help string
	value      func(s *ScrubSample) int64
}{
	{"passes_total", "Scrub passes completed by the storage since it started.", func(s *ScrubSample) int64 { return s.Passes }},
	{"files_checked_total", "Files the scrubber checked.", func(s *ScrubSample) int64 { return s.Files }},
	{"bytes_read_total", "Bytes the scrubber read.", func(s *ScrubSample) int64 { return s.Bytes }},
	{"corrupt_total", "Files found not matching the size and CRC32 of their file ID.", func(s *ScrubSample) int64 { return s.Corrupt }},
	{"missing_total", "Files found missing.", func(s *ScrubSample) int64 { return s.Missing }},
	{"repaired_total", "Bad files replaced by a verified copy from a peer.", func(s *ScrubSample) int64 { return s.Repaired }},
	{"unrepaired_total", "Bad files no peer had a verified copy of.", func(s *ScrubSample) int64 { return s.Unrepaired }},
}

// RegisterScrub adds the fdfs_storage_scrub_* counters, one series per
// group and storage, read at each scrape with fetch (which gets a context
// bounded by scrapeTimeout and leaves out the storages it cannot reach).
func (m *Metrics) RegisterScrub(fetch func(ctx context.Context) []ScrubSample) {
	c := &scrubCollector{fetch: fetch, descs: map[string]*prometheus.Desc{}}
	for _, sc := range scrubCounters {
		c.descs[sc.name] = prometheus.NewDesc("fdfs_storage_scrub_"+sc.name, sc.help, []string{"group", "storage"}, nil)
	}
	m.reg.MustRegister(c)
}

func (c *scrubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *scrubCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, s := range c.fetch(ctx) {
		for _, sc := range scrubCounters {
			ch <- prometheus.MustNewConstMetric(c.descs[sc.name], prometheus.CounterValue, float64(sc.value(&s)), s.Group, s.Storage)
		}
	}
}
