package procs

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// stockDir holds tracker.conf, storage.conf and client.conf exactly as
// FastDFS V6.16.1 ships them (kept byte-identical by the conf package's
// tests).
const stockDir = "../../fdfsengine/conf/testdata/stock"

// editStock returns the stock file name with the lines of the keys in set
// replaced (a key with several values, tracker_server, becomes one line per
// value in place of its first line, its other lines removed); every other
// line is kept as it is: that is all an operator edits.
func editStock(t *testing.T, name string, set map[string][]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stockDir, name))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]*regexp.Regexp{}
	for k := range set {
		res[k] = regexp.MustCompile(`^` + regexp.QuoteMeta(k) + `\s*=`)
	}
	var out []string
	done := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		key := ""
		for k, re := range res {
			if re.MatchString(line) {
				key = k
			}
		}
		switch {
		case key == "":
			out = append(out, line)
		case !done[key]:
			done[key] = true
			for _, v := range set[key] {
				out = append(out, key+" = "+v)
			}
		}
	}
	for k := range set {
		if !done[k] {
			t.Fatalf("stock %s has no %s line", name, k)
		}
	}
	return strings.Join(out, "\n")
}

// TestStockConfFiles starts `fdfs tracker` and `fdfs storage` from the
// stock V6.16.1 tracker.conf and storage.conf with only base_path,
// store_path0, bind_addr and tracker_server edited, uploads and downloads a
// file through the stock client.conf (tracker_server and base_path edited),
// then stops both daemons with SIGTERM. The stock storage.conf has
// "sync_max_threads = auto", 256 subdirectories per store path and
// [error-log] / [access-log] sections.
func TestStockConfFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)

	const trackerPort, storagePort = 22122, 23000 // the stock ports
	trackerIP := fdfsproc.FreeIP(t, trackerPort)
	trackerAddr := net.JoinHostPort(trackerIP, fmt.Sprint(trackerPort))
	storageIP := fdfsproc.FreeIP(t, storagePort)
	tbase, sbase, store, cbase := filepath.Join(dir, "tracker"), filepath.Join(dir, "storage"), filepath.Join(dir, "store0"), filepath.Join(dir, "client")
	mkdirs(t, tbase, sbase, store, cbase)

	tconf := fdfsproc.WriteFile(t, filepath.Join(dir, "tracker.conf"), "%s", editStock(t, "tracker.conf", map[string][]string{
		"bind_addr": {trackerIP}, "base_path": {tbase},
	}))
	sconf := fdfsproc.WriteFile(t, filepath.Join(dir, "storage.conf"), "%s", editStock(t, "storage.conf", map[string][]string{
		"bind_addr": {storageIP}, "base_path": {sbase}, "store_path0": {store}, "tracker_server": {trackerAddr},
	}))
	cconf := fdfsproc.WriteFile(t, filepath.Join(dir, "client.conf"), "%s", editStock(t, "client.conf", map[string][]string{
		"base_path": {cbase}, "tracker_server": {trackerAddr},
	}))

	tracker := startDaemon(t, bin, dir, "tracker", tconf)
	tracker.WaitListening(t, trackerAddr)
	storage := startDaemon(t, bin, dir, "storage", sconf)

	cl, ctx := newClient(t, cconf)
	waitStockActive(t, ctx, cl, storageIP, storage)

	data := bytes.Repeat([]byte("stock conf files "), 4096)
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	var got bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download: %d bytes, %v", got.Len(), err)
	}
	// The stock layout: 256×256 data directories under store_path0.
	if _, err := os.Stat(filepath.Join(store, "data", "FF", "FF")); err != nil {
		t.Errorf("stock subdir_count_per_path = 256: %v", err)
	}
	// And through the binary's client command with the stock client.conf.
	src := fdfsproc.WriteFile(t, filepath.Join(dir, "local.txt"), "%s", data)
	if id := strings.TrimSpace(runCLI(t, bin, "upload", "--config", cconf, src)); !strings.HasPrefix(id, "group1/M00/") {
		t.Fatalf("fdfs upload printed %q, want a file ID", id)
	}

	for _, d := range []*fdfsproc.Daemon{storage, tracker} {
		if err := d.Stop(t); err != nil {
			t.Errorf("%s exit after SIGTERM: %v", d.Name, err)
		}
		// The stock files need no correction: no conf warning is logged.
		if out, _ := os.ReadFile(d.LogPath); bytes.Contains(out, []byte("msg=\"conf: ")) {
			t.Errorf("%s logged conf warnings:\n%s", d.Name, out)
		}
	}
}

// waitStockActive waits until the storage at ip is ACTIVE, failing at once
// if its daemon exits (a refused conf file).
func waitStockActive(t *testing.T, ctx context.Context, cl *client.Client, ip string, d *fdfsproc.Daemon) {
	t.Helper()
	for {
		list, err := cl.ListStorages(ctx, "group1", "")
		for _, st := range list {
			if st.IP == ip && st.Status == protocol.StatusActive {
				return
			}
		}
		select {
		case <-d.Done():
			exit := d.Err()
			out, _ := os.ReadFile(d.LogPath)
			t.Fatalf("%s exited (%v) instead of joining:\n%s", d.Name, exit, out)
		case <-ctx.Done():
			t.Fatalf("storage %s not active: %v", ip, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
