package procs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// waitLimit turns a hang (a daemon that never gets ready or never exits)
// into a test failure; it is not a speed requirement.
const waitLimit = 60 * time.Second

// buildBinary compiles cmd/fdfs into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin, err := fdfsbin.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startDaemon runs `fdfs kind --config confPath`, named (and logged) after
// the conf file.
func startDaemon(t *testing.T, bin, dir, kind, confPath string) *fdfsproc.Daemon {
	t.Helper()
	return fdfsproc.Start(t, bin, dir, filepath.Base(confPath), kind, "--config", confPath)
}

// The conf files are written the way an operator edits the upstream samples:
// only the keys that matter, the rest left to the defaults.
const trackerConf = `# tracker.conf (upstream format)
disabled = false
bind_addr = %s
port = %d
base_path = %s
log_level = info
store_lookup = 2
reserved_storage_space = 1M
check_active_interval = 120
`

const storageConf = `# storage.conf (upstream format)
disabled = false
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
log_level = info
http.server_port = 8888
`

const clientConf = `# client.conf (upstream format)
connect_timeout = 5
network_timeout = 60
base_path = %s
tracker_server = %s
`

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDaemons runs the real binary: a tracker and two storages as separate
// processes, a few client operations against them, then SIGTERM and a clean
// exit of each.
func TestDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)

	const trackerPort, storagePort = 22122, 23000
	trackerIP := fdfsproc.FreeIP(t, trackerPort)
	trackerAddr := net.JoinHostPort(trackerIP, fmt.Sprint(trackerPort))
	tbase := filepath.Join(dir, "tracker")
	mkdirs(t, tbase)
	tconf := fdfsproc.WriteFile(t, filepath.Join(dir, "tracker.conf"), trackerConf, trackerIP, trackerPort, tbase)
	tracker := startDaemon(t, bin, dir, "tracker", tconf)
	tracker.WaitListening(t, trackerAddr)

	var storages []*fdfsproc.Daemon
	storageIPs := map[string]bool{}
	for i := range 2 {
		ip := fdfsproc.FreeIP(t, storagePort)
		storageIPs[ip] = true
		base := filepath.Join(dir, fmt.Sprintf("storage%d", i+1))
		store := filepath.Join(base, "path0")
		mkdirs(t, base, store)
		sconf := fdfsproc.WriteFile(t, filepath.Join(dir, fmt.Sprintf("storage%d.conf", i+1)), storageConf,
			ip, storagePort, base, store, trackerAddr)
		storages = append(storages, startDaemon(t, bin, dir, "storage", sconf))
	}

	cbase := filepath.Join(dir, "client")
	mkdirs(t, cbase)
	clientConfPath := fdfsproc.WriteFile(t, filepath.Join(dir, "client.conf"), clientConf, cbase, trackerAddr)
	cl, ctx := newClient(t, clientConfPath)
	waitActive(t, ctx, cl, storageIPs)

	data := bytes.Repeat([]byte("real processes "), 1000)
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "txt", Meta: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	var got bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download: %d bytes, %v", got.Len(), err)
	}
	if meta, err := cl.GetMetadata(ctx, id); err != nil || meta["k"] != "v" {
		t.Fatalf("metadata: %v, %v", meta, err)
	}
	if err := cl.Delete(ctx, id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cl.Download(ctx, id, 0, 0, &got); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("download after delete: %v", err)
	}

	// The same through the binary's client commands.
	src := fdfsproc.WriteFile(t, filepath.Join(dir, "local.txt"), "%s", data)
	id = strings.TrimSpace(runCLI(t, bin, "upload", "--config", clientConfPath, src))
	if !strings.HasPrefix(id, "group1/M00/") {
		t.Fatalf("fdfs upload printed %q, want a file ID", id)
	}
	dest := filepath.Join(dir, "downloaded.txt")
	runCLI(t, bin, "download", "--config", clientConfPath, id, dest)
	if b, err := os.ReadFile(dest); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("fdfs download wrote %d bytes, %v", len(b), err)
	}
	runCLI(t, bin, "delete", "--config", clientConfPath, id)

	// SIGHUP, which a logrotate script for the C daemons' logs sends, is
	// ignored by a daemon logging to stderr (in the background it rotates
	// the log file: TestUpstreamCommandLine): each still exits cleanly on
	// SIGTERM below, and serves meanwhile.
	for _, d := range append(storages, tracker) {
		if err := syscall.Kill(d.Pid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Download(ctx, id, 0, 0, &got); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("download after SIGHUP: %v, want ENOENT", err)
	}

	for _, d := range append(storages, tracker) {
		if err := d.Stop(t); err != nil {
			t.Errorf("%s exit after SIGTERM: %v", d.Name, err)
		}
	}
}

// newClient is a client of the engine from the client.conf at path,
// closed when the test ends, and a context bounding the test's waits.
func newClient(t *testing.T, path string) (*client.Client, context.Context) {
	t.Helper()
	cc, err := conf.LoadClient(path)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.FromConf(cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return cl, ctx
}

// runCLI runs a client command of the binary and returns its stdout.
func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fdfs %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

func waitActive(t *testing.T, ctx context.Context, cl *client.Client, ips map[string]bool) {
	t.Helper()
	var last string
	for {
		list, err := cl.ListStorages(ctx, "group1", "")
		active := 0
		for _, st := range list {
			if ips[st.IP] && st.Status == protocol.StatusActive {
				active++
			}
		}
		if err == nil && active == len(ips) {
			return
		}
		last = fmt.Sprintf("%d of %d active, %v", active, len(ips), err)
		select {
		case <-ctx.Done():
			t.Fatalf("storages not active: %s", last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestBadConfig checks that the daemons refuse bad conf files with a clear
// message and a non-zero exit status instead of starting.
func TestBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	// A daemon that wrongly accepts a file must not take a wildcard port
	// other tests' servers need.
	bind := "bind_addr = " + devcluster.RandomIP() + "\n"
	cases := []struct {
		name, kind, conf string
		want             string // in the error output
	}{
		{"missing file", "tracker", "", "no-such.conf"},
		{"disabled tracker", "tracker", bind + "disabled = true\nport = 22122\nbase_path = " + dir + "\n", "disabled"},
		{"storage without tracker_server", "storage", bind + "group_name = group1\nbase_path = " + dir + "\n", "tracker_server"},
		{"tracker without base_path", "tracker", bind + "port = 22122\n", "base_path"},
		{"bad port", "tracker", bind + "port = notaport\nbase_path = " + dir + "\n", "port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "no-such.conf")
			if tc.conf != "" {
				path = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".conf")
				if err := os.WriteFile(path, []byte(tc.conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// A daemon that accepts the file keeps running: kill it
			// after a while, which also fails the exit-status check below
			// unless its output already names the problem.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, tc.kind, "--config", path).CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("%s accepted the conf file and kept running; output:\n%s", tc.kind, out)
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero status; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q does not mention %q", out, tc.want)
			}
		})
	}
}
