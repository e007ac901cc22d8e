package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// mountTmpfs mounts a tmpfs of size (mount's notation: "16m") on a new
// directory under parent, unmounted when the test ends (after its
// processes, which were started later, are killed). The test is skipped,
// with one line, where mounting is not allowed.
func mountTmpfs(t *testing.T, parent, name, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (a small disk that fills up)")
	}
	dir := filepath.Join(parent, name)
	mkdir(t, dir)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, opt string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opt, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", opt, dir, err, out)
	}
}

// freeBytes returns the bytes of the file system of dir unprivileged
// writers may still use (statfs f_bavail) and its size.
func freeBytes(t *testing.T, dir string) (free, total int64) {
	t.Helper()
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		t.Fatal(err)
	}
	return int64(s.Bavail) * int64(s.Bsize), int64(s.Blocks) * int64(s.Bsize)
}

const diskTrackerConf = `bind_addr = %s
port = %d
base_path = %s
store_lookup = 0
store_path = 0
reserved_storage_space = 10%%
`

const diskStorageConf = `group_name = %s
bind_addr = %s
client_bind = true
port = %d
base_path = %s
store_path_count = %d
%s
subdir_count_per_path = 2
tracker_server = %s
heart_beat_interval = 1
stat_report_interval = %d
sync_wait_msec = 10
http.server_port = 8080
refill_new_disk_after = 1
`

// diskNode is one storage of the disk tests: its process and store paths.
type diskNode struct {
	*proc
	group string
	paths []string
}

// startDiskCluster starts a tracker on trackerIP and a storage per node
// spec ("group@ip" and its store paths), reporting its disk usage every
// statReport seconds (and at once on large changes), and a client.
func startDiskCluster(t *testing.T, trackerIP string, statReport int, nodes map[string][]string) (*client.Client, map[string]*diskNode) {
	t.Helper()
	dir := t.TempDir()
	taddr := net.JoinHostPort(trackerIP, fmt.Sprint(trackerPort))
	tbase := filepath.Join(dir, "tracker")
	mkdir(t, tbase)
	tconf := writeConf(t, filepath.Join(dir, "tracker.conf"), diskTrackerConf, trackerIP, trackerPort, tbase)
	newProc(t, "tracker", tconf, taddr, filepath.Join(dir, "tracker.log")).start()
	out := map[string]*diskNode{}
	for spec, paths := range nodes {
		g, ip, _ := strings.Cut(spec, "@")
		base := filepath.Join(dir, ip)
		mkdir(t, base)
		var sp strings.Builder
		for i, p := range paths {
			fmt.Fprintf(&sp, "store_path%d = %s\n", i, p)
		}
		conf := writeConf(t, filepath.Join(dir, ip+".conf"), diskStorageConf, g, ip, storagePort, base, len(paths), sp.String(), taddr, statReport)
		p := newProc(t, "storage", conf, net.JoinHostPort(ip, fmt.Sprint(storagePort)), filepath.Join(dir, ip+".log"))
		p.start()
		out[spec] = &diskNode{proc: p, group: g, paths: paths}
	}
	cl, err := client.New(client.Config{Trackers: []string{taddr}, ConnectTimeout: 2 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	for _, n := range out {
		waitListed(t, cl, n.group, n.addr)
	}
	return cl, out
}

// waitListed waits until the tracker lists the storage at addr ACTIVE in
// group.
func waitListed(t *testing.T, cl *client.Client, group, addr string) {
	t.Helper()
	ip, _, _ := net.SplitHostPort(addr)
	testwait.For(t, waitLimit, addr+" ACTIVE", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := cl.ListStorages(ctx, group, "")
		if err != nil {
			return err
		}
		for _, st := range list {
			if st.IP == ip && st.Status == protocol.StatusActive {
				return nil
			}
		}
		return fmt.Errorf("not active: %+v", list)
	})
}

// pathOf returns the store path index a file ID names (M00 → 0).
func pathOf(id string) int {
	_, name, _ := strings.Cut(id, "/")
	var i int
	fmt.Sscanf(name, "M%02X", &i)
	return i
}

// storedFiles lists the regular files under a store path's data
// directory as logical names (M0i/...), and the upload temp files apart.
func storedFiles(t *testing.T, store string, i int) (files map[string]bool, temps []string) {
	t.Helper()
	files = map[string]bool{}
	root := filepath.Join(store, "data")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case strings.HasPrefix(d.Name(), ".upload-"):
			temps = append(temps, p)
		case filepath.Dir(rel) != ".": // files of the store path itself (marks) are at the top
			files[fmt.Sprintf("M%02X/%s", i, rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, temps
}
