package procs

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// TestRunBy starts a tracker and a storage as root with run_by_user and
// run_by_group naming nobody, on base paths that do not exist yet under a
// root-owned folder, as upstream's daemons are started: they make their
// directories, switch (every id of the process) and write everything as
// nobody; ports under 1024 are bound before the switch; a storage whose
// binlog a daemon run as root left behind is refused at start with the
// chown that mends it.
func TestRunBy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestRunBy: skipped, switching to run_by_user needs the test run as root")
	}
	nob, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("TestRunBy: skipped, no user nobody: %v", err)
	}
	grp, err := user.LookupGroupId(nob.Gid)
	if err != nil {
		t.Skipf("TestRunBy: skipped, no group %s: %v", nob.Gid, err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // TempDir's are 0700: nobody could not reach below
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinary(t, dir)
	runBy := fmt.Sprintf("run_by_user = nobody\nrun_by_group = %s\n", grp.Name)

	// Ports under 1024 (the storage's HTTP downloads on 80, the tracker's
	// metrics on 999) are bound before the switch, as upstream's daemons
	// bind first: nobody could not bind them.
	const trackerPort, storagePort, httpPort, metricsPort = 22122, 23000, 80, 999
	trackerIP := fdfsproc.FreeIP(t, trackerPort)
	trackerAddr := net.JoinHostPort(trackerIP, fmt.Sprint(trackerPort))
	metricsAddr := net.JoinHostPort(trackerIP, fmt.Sprint(metricsPort))
	tbase := filepath.Join(dir, "tracker", "base") // neither exists
	tconf := fdfsproc.WriteFile(t, filepath.Join(dir, "tracker.conf"), trackerConf+runBy+"metrics_listen = "+metricsAddr+"\n", trackerIP, trackerPort, tbase)
	tracker := startDaemon(t, bin, dir, "tracker", tconf)
	tracker.WaitListening(t, trackerAddr)

	ip := fdfsproc.FreeIP(t, storagePort)
	sbase, store := filepath.Join(dir, "storage"), filepath.Join(dir, "disk1", "store0")
	sconfText := strings.Replace(storageConf, "http.server_port = 8888", fmt.Sprintf("http.server_port = %d", httpPort), 1) + runBy
	sconf := fdfsproc.WriteFile(t, filepath.Join(dir, "storage.conf"), sconfText, ip, storagePort, sbase, store, trackerAddr)
	storage := startDaemon(t, bin, dir, "storage", sconf)

	cl, ctx := newClient(t, fdfsproc.WriteFile(t, filepath.Join(dir, "client.conf"), clientConf, dir, trackerAddr))
	waitActive(t, ctx, cl, map[string]bool{ip: true})
	data := bytes.Repeat([]byte("run by nobody "), 300)
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "txt", Meta: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}

	if got := httpGet(t, fmt.Sprintf("http://%s/%s", net.JoinHostPort(ip, fmt.Sprint(httpPort)), id)); !bytes.Equal(got, data) {
		t.Errorf("HTTP download on port %d: %d bytes, want the %d uploaded", httpPort, len(got), len(data))
	}
	if got := httpGet(t, "http://"+metricsAddr+"/healthz"); string(got) != "ok\n" {
		t.Errorf("tracker metrics on port %d: /healthz answered %q", metricsPort, got)
	}
	for _, d := range []*fdfsproc.Daemon{tracker, storage} {
		checkIDs(t, d, nob.Uid, nob.Gid)
		if log, _ := os.ReadFile(d.LogPath); !bytes.Contains(log, []byte("running as user nobody (uid "+nob.Uid+")")) {
			t.Errorf("%s does not say whom it runs as:\n%s", d.Name, log)
		}
	}
	_, remote, _ := strings.Cut(id, "/M00/")
	stored := filepath.Join(store, "data", remote)
	binlog := filepath.Join(sbase, "data", "sync", "binlog.000")
	waitFile(t, binlog)
	for _, p := range []string{tbase, filepath.Join(tbase, "data"), filepath.Join(tbase, "data", "storage_groups_new.dat"),
		filepath.Join(tbase, "logs"), filepath.Join(tbase, "data", "fdfs_trackerd.pid"),
		sbase, filepath.Join(sbase, "data", ".data_init_flag"), binlog,
		filepath.Join(dir, "disk1", "store0"), stored, stored + "-m", filepath.Dir(stored)} {
		checkOwner(t, p, nob.Uid, nob.Gid)
	}
	checkOwner(t, filepath.Join(dir, "tracker"), "0", "0") // made as base_path's parent: root's, as upstream

	// A binlog left root's (a daemon run as root before) stops the next start.
	if err := storage.Stop(t); err != nil {
		t.Fatalf("storage exit after SIGTERM: %v", err)
	}
	if err := os.Chown(binlog, 0, 0); err != nil {
		t.Fatal(err)
	}
	again := fdfsproc.Start(t, bin, dir, "storage-again", "storage", "--config", sconf)
	select {
	case <-again.Done():
	case <-time.After(waitLimit):
		t.Fatal("the storage started with a binlog it cannot write")
	}
	log, _ := os.ReadFile(again.LogPath)
	if again.Err() == nil || !bytes.Contains(log, []byte(binlog+" cannot be written")) || !bytes.Contains(log, []byte("chown -R nobody:"+grp.Name+" "+sbase+" "+store)) {
		t.Fatalf("storage with a root-owned binlog: exit %v, want a refusal naming the file and the chown:\n%s", again.Err(), log)
	}
	if err := tracker.Stop(t); err != nil {
		t.Errorf("tracker exit after SIGTERM: %v", err)
	}
}

// checkIDs checks that every uid and gid of the running daemon (real,
// effective, saved, file system) is nobody's, and its groups nobody's.
func checkIDs(t *testing.T, d *fdfsproc.Daemon, uid, gid string) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Uid:": strings.Repeat(uid+" ", 4), "Gid:": strings.Repeat(gid+" ", 4), "Groups:": gid + " "}
	for line := range strings.Lines(string(status)) {
		f := strings.Fields(line)
		if w, ok := want[f[0]]; ok {
			if got := strings.Join(f[1:], " ") + " "; got != w {
				t.Errorf("%s: %s %q, want %q", d.Name, f[0], got, w)
			}
			delete(want, f[0])
		}
	}
	if len(want) > 0 {
		t.Errorf("%s: /proc status lacks %v", d.Name, want)
	}
}

func checkOwner(t *testing.T, path, uid, gid string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if fmt.Sprint(st.Uid) != uid || fmt.Sprint(st.Gid) != gid {
		t.Errorf("%s: owner %d:%d, want %s:%s", path, st.Uid, st.Gid, uid, gid)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpGet returns the body of a 200 answer to GET url.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return body
}
