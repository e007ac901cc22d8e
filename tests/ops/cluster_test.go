package ops

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// waitLimit turns a hang (a daemon that never gets ready, a page that
// never shows a state) into a failure; it is not a speed requirement.
const waitLimit = 60 * time.Second

// Ports of the daemons, each on its own random loopback address.
const (
	trackerPort  = 22122
	storagePort  = 23000
	metricsPort  = 9101
	gatewayPort  = 8080
	gatewayGRPC  = 9090
	pollInterval = 50 * time.Millisecond
)

// stop sends SIGTERM and fails the test unless d exits cleanly.
func stop(t *testing.T, d *fdfsproc.Daemon) {
	t.Helper()
	if err := d.Stop(t); err != nil {
		t.Errorf("%s exit after SIGTERM: %v", d.Name, err)
	}
}

// cluster is a tracker and two storages of group1 as processes, each
// with metrics_listen on its own address.
type cluster struct {
	bin, dir    string
	trackerAddr string
	tracker     *fdfsproc.Daemon
	trackerMet  string // tracker metrics_listen
	storages    []*fdfsproc.Daemon
	storageIPs  []string
	storageMet  []string // storages' metrics_listen
}

const trackerConf = `disabled = false
bind_addr = %s
port = %d
base_path = %s
reserved_storage_space = 1M
check_active_interval = 120
metrics_listen = %s
`

const storageConf = `disabled = false
group_name = group1
bind_addr = %s
client_bind = true
port = %d
base_path = %s
store_path_count = 1
store_path0 = %s
subdir_count_per_path = 4
tracker_server = %s
heart_beat_interval = 1
stat_report_interval = 1
sync_wait_msec = 10
metrics_listen = %s
`

// startCluster builds the binary and starts the tracker and storages;
// it returns once every daemon answers /readyz with 200.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := &cluster{dir: t.TempDir()}
	bin, err := fdfsbin.Build(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	c.bin = bin
	tip := fdfsproc.FreeIP(t, trackerPort)
	c.trackerAddr = net.JoinHostPort(tip, fmt.Sprint(trackerPort))
	c.trackerMet = net.JoinHostPort(tip, fmt.Sprint(metricsPort))
	tconf := fdfsproc.WriteFile(t, filepath.Join(c.dir, "tracker", "tracker.conf"), trackerConf, tip, trackerPort, filepath.Join(c.dir, "tracker"), c.trackerMet)
	c.tracker = fdfsproc.Start(t, bin, c.dir, "tracker", "tracker", "--config", tconf)
	waitReady(t, c.tracker, c.trackerMet)
	for i := range 2 {
		ip := fdfsproc.FreeIP(t, storagePort)
		base := filepath.Join(c.dir, fmt.Sprintf("storage%d", i+1))
		met := net.JoinHostPort(ip, fmt.Sprint(metricsPort))
		store := filepath.Join(base, "path0")
		if err := os.MkdirAll(store, 0o755); err != nil {
			t.Fatal(err)
		}
		sconf := fdfsproc.WriteFile(t, filepath.Join(base, "storage.conf"), storageConf, ip, storagePort, base, store, c.trackerAddr, met)
		c.storages = append(c.storages, fdfsproc.Start(t, bin, c.dir, fmt.Sprintf("storage%d", i+1), "storage", "--config", sconf))
		c.storageIPs = append(c.storageIPs, ip)
		c.storageMet = append(c.storageMet, met)
	}
	for i, d := range c.storages {
		waitReady(t, d, c.storageMet[i])
	}
	return c
}

// httpGet returns the status and body of GET url.
func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitReady polls http://addr/readyz until it answers 200.
func waitReady(t *testing.T, d *fdfsproc.Daemon, addr string) {
	t.Helper()
	waitFor(t, d.Name+" ready", func() (bool, string) {
		if exited, err := d.Exited(); exited {
			t.Fatalf("%s exited: %v", d.Name, err)
		}
		code, body, err := httpGet("http://" + addr + "/readyz")
		return code == http.StatusOK, fmt.Sprintf("%d %q %v", code, body, err)
	})
}

// waitFor polls cond until it holds, failing after waitLimit with the
// last state cond described.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still %s", what, state)
		case <-time.After(pollInterval):
		}
	}
}

// scrape fetches and parses http://addr/metrics.
func scrape(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// value returns the value of the series of family name whose labels
// include want (label=value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}
