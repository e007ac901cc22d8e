package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode"
	"github.com/fdfsgo/fdfs/trackernode"
)

// startTracker runs a real tracker on 127.0.0.14 with its state in dir
// (reused across restarts) and the given reserved_storage_space.
func startTracker(t *testing.T, dir string, port int, reserved string) *trackernode.Server {
	t.Helper()
	tc, err := conf.ParseTracker([]byte(fmt.Sprintf(
		"bind_addr = 127.0.0.14\nport = %d\nbase_path = %s\nreserved_storage_space = %s\n", port, dir, reserved)), dir)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trackernode.New(tc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// joinStorage runs a real storage on 127.0.0.15 joined to tracker and
// waits until the tracker lists it ACTIVE with its disk usage.
func joinStorage(t *testing.T, tracker string) *storagenode.Server {
	t.Helper()
	dir := t.TempDir()
	sc, err := conf.ParseStorage([]byte(fmt.Sprintf(
		"group_name = group1\nbind_addr = 127.0.0.15\nport = 0\nbase_path = %s\nstore_path0 = %s\n"+
			"tracker_server = %s\nheart_beat_interval = 1\nstat_report_interval = 1\nsubdir_count_per_path = 4\n",
		dir, dir, tracker)), dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storagenode.New(sc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cl, err := client.New(client.Config{Trackers: []string{tracker}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Readiness wait, not a timing assertion: the storage joins, beats and
	// reports in the background.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ss, err := cl.ListStorages(context.Background(), "group1", "")
		if err == nil && len(ss) == 1 && ss[0].Status == protocol.StatusActive && ss[0].TotalMB > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage never became ACTIVE: %v %+v", err, ss)
		}
	}
}

// When the tracker has no storage to offer for an upload, the client says
// so with the tracker's status (upstream's: ENOENT when no storage is
// available, as right after a tracker restart, ENOSPC when all are below
// the reserve), rather than a bare ENOENT that reads like "file not found".
func TestStoreQueryRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the tracker address
		group string
		want  error
		says  string
	}{
		{"no storage ever joined", func(t *testing.T) string {
			return startTracker(t, t.TempDir(), 0, "1MB").Addr()
		}, "", protocol.ErrNotFound, "no storage available for uploads in any group"},
		{"unknown group", func(t *testing.T) string {
			return startTracker(t, t.TempDir(), 0, "1MB").Addr()
		}, "group9", protocol.ErrNotFound, "group group9 does not exist"},
		{"tracker restarted, storage not back yet", func(t *testing.T) string {
			dir := t.TempDir()
			tr := startTracker(t, dir, 0, "1MB")
			st := joinStorage(t, tr.Addr())
			st.Close()
			tr.Close()
			_, port, _ := net.SplitHostPort(tr.Addr())
			p, err := strconv.Atoi(port)
			if err != nil {
				t.Fatal(err)
			}
			return startTracker(t, dir, p, "1MB").Addr()
		}, "group1", protocol.ErrNotFound, "no storage ACTIVE yet"},
		{"every storage below the reserve", func(t *testing.T) string {
			tr := startTracker(t, t.TempDir(), 0, "99.99%")
			joinStorage(t, tr.Addr())
			return tr.Addr()
		}, "", protocol.ErrNoSpace, "no storage in any group has free space above reserved_storage_space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := client.New(client.Config{Trackers: []string{tc.setup(t)}})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			_, err = cl.Upload(context.Background(), bytes.NewReader([]byte("x")), 1, client.UploadOptions{Group: tc.group})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("upload: %v; want %v saying %q", err, tc.want, tc.says)
			}
			// "Try again later" for every ENOENT but an unknown group.
			wantNoStorage := errors.Is(tc.want, protocol.ErrNotFound) && !strings.Contains(tc.says, "does not exist")
			if errors.Is(err, client.ErrNoStorage) != wantNoStorage {
				t.Fatalf("upload: %v; wraps ErrNoStorage: %v, want %v", err, !wantNoStorage, wantNoStorage)
			}
		})
	}
}
