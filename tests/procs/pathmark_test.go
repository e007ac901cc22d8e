package procs

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

const markStorageConf = `# storage.conf (upstream format)
group_name = group1
bind_addr = %s
port = %d
base_path = %s
store_path_count = 1
store_path0 = %s
subdir_count_per_path = 4
tracker_server = %s
%s
`

// TestStorePathMark runs `fdfs storage` on a store path and checks that it
// leaves what fdfs_storaged 6.16 checks before it takes the path over (the
// store path's mark in .fastdfs_vars, the same as store_path_mark0 in
// .data_init_flag), and that, like fdfs_storaged, it refuses a store path
// another storage server marked unless check_store_path_mark is off.
func TestStorePathMark(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	const port = 23000
	// No tracker runs there: a storage starts without one.
	tracker := net.JoinHostPort(fdfsproc.FreeIP(t, 22122), "22122")
	store := filepath.Join(dir, "store")
	storage := func(name, extra string) (*fdfsproc.Daemon, string) {
		ip := fdfsproc.FreeIP(t, port)
		base := filepath.Join(dir, name)
		mkdirs(t, base, store)
		conf := fdfsproc.WriteFile(t, filepath.Join(dir, name+".conf"), markStorageConf, ip, port, base, store, tracker, extra)
		return startDaemon(t, bin, dir, "storage", conf), net.JoinHostPort(ip, fmt.Sprint(port))
	}
	runOK := func(name, extra string) {
		t.Helper()
		d, addr := storage(name, extra)
		d.WaitListening(t, addr)
		if err := d.Stop(t); err != nil {
			t.Fatalf("%s exit after SIGTERM: %v", name, err)
		}
	}

	runOK("first", "")
	vars, err := os.ReadFile(filepath.Join(store, "data", ".fastdfs_vars"))
	if err != nil {
		t.Fatal(err)
	}
	mark, ok := strings.CutPrefix(string(vars), "store_path_mark=")
	mark = strings.TrimSuffix(mark, "\n")
	if !ok || len(mark) != 75 {
		t.Fatalf(".fastdfs_vars: %q, want store_path_mark=<75 characters>", vars)
	}
	flag, err := os.ReadFile(filepath.Join(dir, "first", "data", ".data_init_flag"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(flag), "\nstore_path_mark0="+mark+"\n") {
		t.Fatalf(".data_init_flag does not end with store_path_mark0=%s:\n%s", mark, flag)
	}

	// Another storage server on the same store path.
	d, _ := storage("second", "")
	select {
	case <-d.Done():
		err := d.Err()
		out, _ := os.ReadFile(d.LogPath)
		if err == nil || !strings.Contains(string(out), "store path #0") || !strings.Contains(string(out), ".fastdfs_vars") {
			t.Fatalf("second storage on the store path: exit %v, output:\n%s", err, out)
		}
	case <-time.After(waitLimit):
		t.Fatal("second storage on the store path did not exit")
	}
	runOK("second", "check_store_path_mark = false")
	if again, _ := os.ReadFile(filepath.Join(store, "data", ".fastdfs_vars")); string(again) != string(vars) {
		t.Errorf("the mark changed: %q -> %q", vars, again)
	}
	runOK("first", "")
}
