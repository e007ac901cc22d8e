package multitracker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A tracker that missed the end of a storage's initial sync (it was down
// when the source reported SYNCING and OFFLINE) saved the storage
// WAIT_SYNC and keeps it so: joins and beats do not move that status. If
// it leads later, its group list makes the source start the initial sync
// again, which sends the storage every file as the source holds it then,
// over copies the storage may hold newer. The source must see that the
// trackers' decision (source and until_timestamp) is the one its mark for
// the storage was made for and only report the status again. Here a third
// storage joins the group, the stale tracker's saved file is what such a
// tracker saves, and the new storage's copy of the second of two files is
// replaced on its disk by a longer one, which a new copy from the source
// would overwrite.
func TestStaleWaitSyncDoesNotCopyAgain(t *testing.T) {
	e := setup(t, 2)
	for i := range 2 {
		e.waitActive(i)
	}
	destIP := freeStorageIP(t)
	destDir := t.TempDir()
	startStorageWith(t, destDir, destIP, e.c.Opts.SubdirCount, e.addrs()...)
	for i := range 2 {
		waitStatus(t, e, i, destIP, protocol.StatusActive)
	}
	src, until := syncSourceOf(t, e, destIP)

	// Two files: a copy sent anew goes over a file the storage holds
	// (EEXIST) as is, and over the next ones as an update when the sizes
	// differ (a resumed copy), as upstream's.
	cl := e.client()
	toSrc := client.UploadOptions{Ext: "txt", Storage: &client.Server{Group: "group1", IP: src.IP, Port: src.Port, StorePathIndex: protocol.StoreAnyPath}}
	first := []byte("the first file")
	if _, err := cl.Upload(context.Background(), bytes.NewReader(first), int64(len(first)), toSrc); err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("acknowledged by the source "), 40)
	id, err := cl.Upload(context.Background(), bytes.NewReader(content), int64(len(content)), toSrc)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := diskPath(t, filepath.Join(destDir, "store0"), id)
	poll(t, "the file replicated to the new storage", func() error {
		fi, err := os.Stat(copyPath)
		if err != nil {
			return err
		}
		if fi.Size() != int64(len(content)) {
			return fmt.Errorf("%d bytes", fi.Size())
		}
		return nil
	})
	newer := append(bytes.Clone(content), "and changed since"...)
	if err := os.WriteFile(copyPath, newer, 0o644); err != nil {
		t.Fatal(err)
	}

	e.stop(1)
	servers := filepath.Join(e.cfgs[1].BasePath, "data", "storage_servers_new.dat")
	b, err := os.ReadFile(servers)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := withStatus(b, destIP, until, protocol.StatusWaitSync)
	if err != nil {
		t.Fatalf("%s: %v", servers, err)
	}
	if err := os.WriteFile(servers, stale, 0o644); err != nil {
		t.Fatal(err)
	}
	e.stop(0)
	e.start(1) // alone, so it leads
	waitStatus(t, e, 1, destIP, protocol.StatusActive)
	e.start(0)
	got, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, newer) {
		t.Fatalf("the new storage's copy was replaced by the source's (%d bytes, had %d): the initial sync was run again", len(got), len(newer))
	}
}

// A tracker down while the source reports the end of a storage's initial
// sync is told once it is back: it saved the storage SYNCING, and without
// the report it would keep it so (never routing to it) and, leading,
// have the sync run again. The source owes it the report, or, restarted
// meanwhile (the debt was in memory), rechecks every tracker at start
// against its mark. The sources pause 20 ms after each file
// (sync_interval) so that the copy of 150 files lasts long enough to stop
// the tracker in its middle.
func TestMissedStatusReportSentAgain(t *testing.T) {
	for _, tc := range []struct {
		name          string
		restartSource bool
	}{
		{"source running", false},
		{"source restarted", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, 2, "sync_interval = 20")
			for i := range 2 {
				e.waitActive(i)
			}
			cl := e.client()
			for i := range 150 {
				body := fmt.Appendf(nil, "file %d", i)
				if _, err := cl.Upload(context.Background(), bytes.NewReader(body), int64(len(body)), client.UploadOptions{Ext: "txt"}); err != nil {
					t.Fatal(err)
				}
			}
			ip := freeStorageIP(t)
			startStorageWith(t, t.TempDir(), ip, e.c.Opts.SubdirCount, e.addrs()...)
			waitStatus(t, e, 1, ip, protocol.StatusSyncing)
			e.stop(1)
			waitStatus(t, e, 0, ip, protocol.StatusActive)
			if tc.restartSource {
				src, _ := syncSourceOf(t, e, ip)
				if err := e.c.StopStorage(src.Index); err != nil {
					t.Fatal(err)
				}
				if err := e.c.StartStorage(src.Index); err != nil {
					t.Fatal(err)
				}
			}
			e.start(1)
			waitStatus(t, e, 1, ip, protocol.StatusActive)
		})
	}
}

// waitStatus waits until tracker i lists the storage at ip in status.
func waitStatus(t *testing.T, e *env, i int, ip string, status byte) {
	t.Helper()
	poll(t, fmt.Sprintf("%s %s on tracker %d", ip, protocol.StorageStatusName(status), i), func() error {
		if st := statusOn(t, e.addr(i), ip); st != status {
			return fmt.Errorf("%s", protocol.StorageStatusName(st))
		}
		return nil
	})
}

// syncSourceOf is the storage of e that tracker 0 names as the initial
// sync source of the storage at ip, and its until_timestamp.
func syncSourceOf(t *testing.T, e *env, ip string) (*devcluster.Storage, int64) {
	t.Helper()
	b, err := call(e.addr(0), protocol.CmdStorageSyncSrcReq, (&protocol.SyncSrcRequest{Group: "group1", DestID: ip}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	r, err := protocol.DecodeSyncSource(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.c.Storages {
		if r != nil && r.SrcID == s.ID {
			return s, r.Until
		}
	}
	t.Fatalf("sync source of %s: %+v, not a storage of the group", ip, r)
	return nil, 0
}

// diskPath is where a storage with the one store path store keeps file
// id (fileid's layout, as tests/cluster.StoredPath).
func diskPath(t *testing.T, store, id string) string {
	t.Helper()
	_, name, err := fileid.Split(id)
	if err != nil {
		t.Fatal(err)
	}
	n, err := fileid.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return n.Path([]string{store})
}

// withStatus returns storage_servers_new.dat b with the storage at ip set
// to status, checking that the tracker recorded its initial sync with
// until_timestamp until.
func withStatus(b []byte, ip string, until int64, status byte) ([]byte, error) {
	sections := strings.Split(string(b), "\n[Storage")
	for i, sec := range sections {
		if !strings.Contains(sec, "\nip_addr="+ip+"\n") {
			continue
		}
		if !strings.Contains(sec, fmt.Sprintf("\nsync_until_timestamp=%d\n", until)) {
			return nil, fmt.Errorf("no sync_until_timestamp=%d for %s", until, ip)
		}
		lines := strings.Split(sec, "\n")
		for j, l := range lines {
			if strings.HasPrefix(l, "status=") {
				lines[j] = fmt.Sprintf("status=%d", status)
			}
		}
		sections[i] = strings.Join(lines, "\n")
		return []byte(strings.Join(sections, "\n[Storage")), nil
	}
	return nil, fmt.Errorf("no storage %s", ip)
}
