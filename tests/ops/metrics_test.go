package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
	"gopkg.in/yaml.v3"
)

// upstreamExporterMetrics are the names upstream's fdfs_exporter
// (monitoring/prometheus_exporter) serves, less trunk_free_mb (trunk
// groups only); the tracker must serve each of them.
var upstreamExporterMetrics = []string{
	"fastdfs_tracker_is_leader", "fastdfs_tracker_is_active", "fastdfs_tracker_connections_alloc",
	"fastdfs_tracker_connections_current", "fastdfs_tracker_connections_max",
	"fastdfs_group_total_mb", "fastdfs_group_free_mb", "fastdfs_group_reserved_mb", "fastdfs_group_available_mb",
	"fastdfs_group_storage_count", "fastdfs_group_readable_server_count", "fastdfs_group_writable_server_count",
	"fastdfs_storage_total_mb", "fastdfs_storage_free_mb", "fastdfs_storage_reserved_mb", "fastdfs_storage_available_mb",
	"fastdfs_storage_upload_total", "fastdfs_storage_upload_success", "fastdfs_storage_upload_bytes_total",
	"fastdfs_storage_download_total", "fastdfs_storage_download_success", "fastdfs_storage_download_bytes_total",
	"fastdfs_storage_delete_total", "fastdfs_storage_delete_success", "fastdfs_storage_append_total",
	"fastdfs_storage_append_success", "fastdfs_storage_modify_total", "fastdfs_storage_modify_success",
	"fastdfs_storage_connections_alloc", "fastdfs_storage_connections_current", "fastdfs_storage_connections_max",
	"fastdfs_storage_last_heartbeat", "fastdfs_storage_heartbeat_delay_seconds", "fastdfs_storage_last_synced_timestamp",
	"fastdfs_storage_synced_delay_seconds", "fastdfs_storage_sync_in_bytes_total", "fastdfs_storage_sync_out_bytes_total",
}

// TestDaemonMetrics runs a tracker and two storages with metrics_listen,
// uploads and downloads a file, and reads what the scrapes say about it:
// request counts and latencies, bytes, disk, binlog, the sync lag to the
// peer draining to 0, and the tracker's view of a storage going OFFLINE.
func TestDaemonMetrics(t *testing.T) {
	c := startCluster(t)
	cl, err := client.New(client.Config{Trackers: []string{c.trackerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	data := bytes.Repeat([]byte("metrics "), 4096) // 32 KiB
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &got); err != nil || got.Len() != len(data) {
		t.Fatalf("download: %d bytes, %v", got.Len(), err)
	}

	// The storages: each counted what it served; together one upload of
	// len(data) bytes, and one sync to the peer that ends caught up.
	// Each binlog has a record (the source's upload or the replica's).
	var uploads, upBytes, timed float64
	served := map[string]bool{} // metric families of every scrape
	for i, addr := range c.storageMet {
		peer := c.storageIPs[1-i]
		waitFor(t, fmt.Sprintf("storage%d has a binlog record and no lag to %s", i+1, peer), func() (bool, string) {
			f, err := scrape(addr)
			if err != nil {
				return false, err.Error()
			}
			lag, ok := value(f, "fdfs_storage_sync_lag_bytes", "peer="+peer)
			bl, _ := value(f, "fdfs_storage_binlog_bytes")
			return ok && lag == 0 && bl > 0, fmt.Sprintf("lag %v (reported %v), binlog %v bytes", lag, ok, bl)
		})
		f, err := scrape(addr)
		if err != nil {
			t.Fatal(err)
		}
		for name := range f {
			served[name] = true
		}
		n, _ := value(f, "fdfs_storage_requests_total", "command=upload_file", "status=0")
		uploads += n
		b, _ := value(f, "fdfs_storage_bytes_succeeded_total", "op=upload")
		upBytes += b
		d, _ := value(f, "fdfs_storage_request_duration_seconds", "command=upload_file")
		timed += d
		for _, want := range []struct {
			name   string
			labels []string
		}{
			{"fdfs_storage_store_path_size_bytes", []string{"store_path=0"}},
			{"fdfs_storage_store_path_free_bytes", []string{"store_path=0"}},
			{"fdfs_storage_binlog_bytes", nil},
			{"fdfs_storage_sync_lag_seconds", []string{"peer=" + peer}},
			{"fdfs_storage_connections", nil},
			{"go_goroutines", nil},
		} {
			if _, ok := value(f, want.name, want.labels...); !ok {
				t.Errorf("storage%d: no %s%v", i+1, want.name, want.labels)
			}
		}
		if v, _ := value(f, "fdfs_storage_status", "status=ACTIVE"); v != 1 {
			t.Errorf("storage%d: fdfs_storage_status{status=ACTIVE} = %v", i+1, v)
		}
	}
	if uploads != 1 || timed != 1 || upBytes != float64(len(data)) {
		t.Errorf("storages counted %v uploads (%v timed) of %v bytes, want 1 of %d", uploads, timed, upBytes, len(data))
	}

	// The tracker: every metric of upstream's exporter, and the upload
	// once the beats carried it (stat_report_interval = 1 s).
	waitFor(t, "tracker sees the upload", func() (bool, string) {
		f, err := scrape(c.trackerMet)
		if err != nil {
			return false, err.Error()
		}
		var sum float64
		for _, ip := range c.storageIPs {
			v, _ := value(f, "fastdfs_storage_upload_success", "ip="+ip)
			sum += v
		}
		return sum == 1, fmt.Sprintf("upload_success sum %v", sum)
	})
	f, err := scrape(c.trackerMet)
	if err != nil {
		t.Fatal(err)
	}
	for name := range f {
		served[name] = true
	}
	checkDashboard(t, served)
	checkAlerts(t, served)
	for _, name := range upstreamExporterMetrics {
		if f[name] == nil {
			t.Errorf("tracker: no %s (upstream's exporter has it)", name)
		}
	}
	if v, _ := value(f, "fdfs_tracker_is_leader"); v != 1 {
		t.Errorf("lone tracker: fdfs_tracker_is_leader = %v", v)
	}
	if v, _ := value(f, "fdfs_tracker_requests_total", "command=storage_join", "status=0"); v < 2 {
		t.Errorf("tracker counted %v storage joins, want >= 2", v)
	}

	// A storage stopped: the tracker shows it OFFLINE.
	stop(t, c.storages[1])
	waitFor(t, "tracker shows storage2 OFFLINE", func() (bool, string) {
		f, err := scrape(c.trackerMet)
		if err != nil {
			return false, err.Error()
		}
		v, _ := value(f, "fdfs_tracker_storage_status", "ip="+c.storageIPs[1], "status=OFFLINE")
		a, _ := value(f, "fastdfs_group_active_count", "group=group1")
		return v == 1 && a == 1, fmt.Sprintf("OFFLINE series %v, active count %v", v, a)
	})

	// Uploads while the peer is down pile up as sync lag on storage1,
	// which drains once storage2 is back.
	const backlog = 20
	for i := range backlog {
		if _, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "bin"}); err != nil {
			t.Fatalf("upload %d with storage2 down: %v", i, err)
		}
	}
	lagOf := func() (float64, float64, error) {
		f, err := scrape(c.storageMet[0])
		if err != nil {
			return 0, 0, err
		}
		b, _ := value(f, "fdfs_storage_sync_lag_bytes", "peer="+c.storageIPs[1])
		s, _ := value(f, "fdfs_storage_sync_lag_seconds", "peer="+c.storageIPs[1])
		return b, s, nil
	}
	behind, secs, err := lagOf()
	// Each upload adds one binlog record of about 60 bytes.
	if err != nil || behind < backlog*50 || secs < 0 {
		t.Errorf("storage1's lag to the stopped storage2 after %d uploads: %v bytes, %v s, %v", backlog, behind, secs, err)
	}
	t.Logf("sync lag with storage2 down after %d uploads: %v binlog bytes, %v s", backlog, behind, secs)
	c.storages[1] = fdfsproc.Start(t, c.bin, c.dir, "storage2-again", "storage", "--config", filepath.Join(c.dir, "storage2", "storage.conf"))
	waitFor(t, "storage1's lag to storage2 drained", func() (bool, string) {
		b, s, err := lagOf()
		return err == nil && b == 0 && s == 0, fmt.Sprintf("%v bytes, %v s, %v", b, s, err)
	})
}

// TestReadiness checks /readyz against what the daemon can do: a storage
// whose tracker does not answer is live but not ready, and says why; a
// bad metrics_listen value stops the daemon with a message naming it.
func TestReadiness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	c := &cluster{dir: dir}
	var err error
	if c.bin, err = fdfsbin.Build(dir); err != nil {
		t.Fatal(err)
	}
	ip := fdfsproc.FreeIP(t, storagePort)
	met := net.JoinHostPort(ip, fmt.Sprint(metricsPort))
	noTracker := net.JoinHostPort(fdfsproc.FreeIP(t, trackerPort), fmt.Sprint(trackerPort)) // nobody listens there
	base := filepath.Join(dir, "lonely")
	sconf := fdfsproc.WriteFile(t, filepath.Join(base, "storage.conf"), storageConf, ip, storagePort, base, base, noTracker, met)
	d := fdfsproc.Start(t, c.bin, dir, "lonely", "storage", "--config", sconf)
	waitFor(t, "lonely storage live", func() (bool, string) {
		code, body, err := httpGet("http://" + met + "/healthz")
		return code == http.StatusOK, fmt.Sprintf("%d %q %v", code, body, err)
	})
	code, body, err := httpGet("http://" + met + "/readyz")
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "not joined") {
		t.Errorf("readyz of a storage without tracker: %d %q %v, want 503 not joined", code, body, err)
	}
	stop(t, d)

	bad := fdfsproc.WriteFile(t, filepath.Join(dir, "bad", "storage.conf"), storageConf, ip, storagePort, base, base, noTracker, "9101")
	out, err := exec.Command(c.bin, "storage", "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "metrics_listen") {
		t.Errorf("metrics_listen = 9101: exit %v, output %q; want a failure naming metrics_listen", err, out)
	}
}

// checkDashboard checks that every metric the sample Grafana dashboard
// queries is one the daemons serve.
func checkDashboard(t *testing.T, served map[string]bool) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "deploy", "grafana", "fdfs-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	name := regexp.MustCompile(`\b(?:fdfs|fastdfs)_[a-z0-9_]+`)
	queried := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				family := strings.TrimSuffix(m, "_bucket")
				if !served[family] {
					t.Errorf("dashboard panel %q queries %s, which no daemon serves", p.Title, m)
				}
			}
		}
	}
	if queried == 0 {
		t.Error("dashboard queries no fdfs metric")
	}
}

// checkAlerts checks that the sample alerting rules parse, that each has
// a name, an expression, a severity and a summary, and that every metric
// they query is one the daemons serve.
func checkAlerts(t *testing.T, served map[string]bool) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "deploy", "prometheus", "fdfs-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerting rules: %v", err)
	}
	name := regexp.MustCompile(`\b(?:fdfs|fastdfs)_[a-z0-9_]+`)
	rules := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alerting rule %q: want alert, expr, a severity label and a summary", r.Alert)
			}
			ms := name.FindAllString(r.Expr, -1)
			if len(ms) == 0 {
				t.Errorf("alerting rule %q queries no fdfs metric", r.Alert)
			}
			for _, m := range ms {
				if !served[m] {
					t.Errorf("alerting rule %q queries %s, which no daemon serves", r.Alert, m)
				}
			}
		}
	}
	if rules == 0 {
		t.Error("no alerting rule")
	}
}
