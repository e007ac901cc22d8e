package storagenode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// startCluster starts a tracker on trackerIP and a storage on storageIP
// that has joined it, is ACTIVE and has reported its disk usage.
func startCluster(t *testing.T, trackerIP, storageIP string) (string, *Server) {
	t.Helper()
	return startTracked(t, trackerIP, storageIP, func(*conf.Storage) {})
}

// The client engine drives every storage command through the tracker,
// with acknowledgements durable (fsync_after_written_bytes > 0: file data,
// directories and binlog records fsynced before each reply) or not.
func TestClientEngine(t *testing.T) {
	for _, fsync := range []int64{0, 4096} {
		t.Run(fmt.Sprintf("fsync_after_written_bytes=%d", fsync), func(t *testing.T) {
			trackerAddr, s := startTracked(t, "127.0.0.6", "127.0.0.7", func(c *conf.Storage) { c.FsyncAfterWrittenBytes = fsync })
			clientEngine(t, trackerAddr)
			// Durable: every reply came after its binlog record's fsync.
			// Not: the records wait for sync_binlog_buff_interval (60 s).
			if got, want := s.bl.Dirty(), fsync == 0; got != want {
				t.Errorf("binlog written since its last fsync: %v, want %v", got, want)
			}
		})
	}
}

func clientEngine(t *testing.T, trackerAddr string) {
	cl, err := client.New(client.Config{Trackers: []string{trackerAddr}, ConnectTimeout: 5 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	data := []byte("hello, storage")
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "txt", Meta: map[string]string{"b": "2", "a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "group1/M00/") {
		t.Fatalf("file id %q", id)
	}
	var buf bytes.Buffer
	if n, err := cl.Download(ctx, id, 7, 0, &buf); err != nil || n != 7 || buf.String() != "storage" {
		t.Errorf("download %d %q %v", n, buf.String(), err)
	}
	fi, err := cl.GetFileInfo(ctx, id)
	if err != nil || fi.Size != int64(len(data)) || fi.SourceIP != "127.0.0.7" {
		t.Errorf("file info %+v %v", fi, err)
	}
	if err := cl.SetMetadata(ctx, id, map[string]string{"c": "3", "a": "9"}, protocol.MetaMerge); err != nil {
		t.Fatal(err)
	}
	if m, err := cl.GetMetadata(ctx, id); err != nil || !maps.Equal(m, map[string]string{"a": "9", "b": "2", "c": "3"}) {
		t.Errorf("metadata %v %v", m, err)
	}
	slave, err := cl.UploadSlave(ctx, strings.NewReader("thumb"), 5, id, "_t", "")
	if err != nil || !strings.HasSuffix(slave, "_t.txt") {
		t.Errorf("slave %q %v", slave, err)
	}

	app, err := cl.UploadAppender(ctx, strings.NewReader("abc"), 3, client.UploadOptions{Ext: "log"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Append(ctx, app, strings.NewReader("defg"), 4); err != nil {
		t.Fatal(err)
	}
	if err := cl.Modify(ctx, app, 1, strings.NewReader("XY"), 2); err != nil {
		t.Fatal(err)
	}
	if err := cl.Truncate(ctx, app, 6); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if _, err := cl.Download(ctx, app, 0, 0, &buf); err != nil || buf.String() != "aXYdef" {
		t.Errorf("appender content %q %v", buf.String(), err)
	}
	normal, err := cl.RegenerateAppender(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := cl.GetFileInfo(ctx, normal); err != nil || fi.Size != 6 || fi.Type() != "normal" {
		t.Errorf("regenerated info %+v %v", fi, err)
	}
	for _, f := range []string{id, slave, normal} {
		if err := cl.Delete(ctx, f); err != nil {
			t.Errorf("delete %s: %v", f, err)
		}
	}
	if err := cl.Delete(ctx, id); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
