package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode"
	"github.com/fdfsgo/fdfs/trackernode"
)

// startCluster runs a real tracker (127.0.0.12) and storage (127.0.0.13)
// in process on ephemeral ports and returns a client once the storage is
// ACTIVE (an upload query succeeds).
func startCluster(tb testing.TB) *client.Client {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tdir := tb.TempDir()
	tc, err := conf.ParseTracker([]byte(fmt.Sprintf(
		"bind_addr = 127.0.0.12\nport = 0\nbase_path = %s\nreserved_storage_space = 1MB\n", tdir)), tdir)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := trackernode.New(tc, log)
	if err != nil {
		tb.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })

	sdir := tb.TempDir()
	sc, err := conf.ParseStorage([]byte(fmt.Sprintf(
		"group_name = group1\nbind_addr = 127.0.0.13\nport = 0\nbase_path = %s\nstore_path0 = %s\n"+
			"tracker_server = %s\nheart_beat_interval = 1\nstat_report_interval = 1\nsubdir_count_per_path = 4\n",
		sdir, sdir, tr.Addr())), sdir)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := storagenode.New(sc, log)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })

	cl, err := client.New(client.Config{Trackers: []string{tr.Addr()}, NetworkTimeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cl.Close() })
	// Readiness wait, not a timing assertion: the storage joins and beats
	// in the background.
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := cl.QueryStore(ctx, "")
		if err == nil {
			return cl
		}
		if time.Now().After(deadline) {
			tb.Fatalf("storage never became writable: %v", err)
		}
	}
}

// The whole client API against the real servers.
func TestClusterRoundTrip(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()

	content := make([]byte, 300<<10)
	rand.Read(content)
	id, err := cl.Upload(ctx, bytes.NewReader(content), int64(len(content)),
		client.UploadOptions{Ext: "bin", Meta: map[string]string{"k": "v", "w": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if n, err := cl.Download(ctx, id, 0, 0, &b); err != nil || n != int64(len(content)) || !bytes.Equal(b.Bytes(), content) {
		t.Fatalf("download: %d, %v", n, err)
	}
	b.Reset()
	if _, err := cl.Download(ctx, id, 1000, 10, &b); err != nil || !bytes.Equal(b.Bytes(), content[1000:1010]) {
		t.Fatalf("range download: %v", err)
	}
	fi, err := cl.GetFileInfo(ctx, id)
	if err != nil || fi.Size != int64(len(content)) || fi.SourceIP != "127.0.0.13" || fi.Type() != "normal" {
		t.Fatalf("file info %+v, %v", fi, err)
	}
	meta, err := cl.GetMetadata(ctx, id)
	if err != nil || meta["k"] != "v" || meta["w"] != "2" || len(meta) != 2 {
		t.Fatalf("metadata %v, %v", meta, err)
	}
	if err := cl.SetMetadata(ctx, id, map[string]string{"k": "x", "n": "1"}, protocol.MetaMerge); err != nil {
		t.Fatal(err)
	}
	if meta, err = cl.GetMetadata(ctx, id); err != nil || meta["k"] != "x" || meta["w"] != "2" || meta["n"] != "1" {
		t.Fatalf("merged metadata %v, %v", meta, err)
	}

	slave, err := cl.UploadSlave(ctx, strings.NewReader("thumb"), 5, id, "_s", "")
	if err != nil || !strings.HasSuffix(slave, "_s.bin") {
		t.Fatalf("slave %q, %v", slave, err)
	}

	app, err := cl.UploadAppender(ctx, strings.NewReader("hello"), 5, client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Append(ctx, app, strings.NewReader(" world"), 6); err != nil {
		t.Fatal(err)
	}
	if err := cl.Modify(ctx, app, 0, strings.NewReader("HELLO"), 5); err != nil {
		t.Fatal(err)
	}
	if err := cl.Truncate(ctx, app, 8); err != nil {
		t.Fatal(err)
	}
	regen, err := cl.RegenerateAppender(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if _, err := cl.Download(ctx, regen, 0, 0, &b); err != nil || b.String() != "HELLO wo" {
		t.Fatalf("regenerated content %q, %v", b.String(), err)
	}

	for _, f := range []string{id, slave, regen} {
		if err := cl.Delete(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Download(ctx, id, 0, 0, io.Discard); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("download of a deleted file: %v", err)
	}
	if err := cl.Delete(ctx, id); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}

	gs, err := cl.ListGroups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Name != "group1" {
		t.Fatalf("groups %+v, %v", gs, err)
	}
	ss, err := cl.ListStorages(ctx, "group1", "")
	if err != nil || len(ss) != 1 || ss[0].Status != protocol.StatusActive || ss[0].IP != "127.0.0.13" {
		t.Fatalf("storages %+v, %v", ss, err)
	}
	if err := cl.DeleteStorage(ctx, "group1", "127.0.0.13"); err == nil {
		t.Fatal("deleting an active storage succeeded")
	}
	if _, err := cl.GetLeader(ctx); err != nil {
		t.Fatal(err)
	}
}

// A file larger than several stream chunks goes from a file on disk to the
// storage and back to a file on disk.
func TestClusterLargeFile(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	data := make([]byte, 9<<20+4321)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := cl.Upload(ctx, f, int64(len(data)), client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if n, err := cl.Download(ctx, id, 0, 0, out); err != nil || n != int64(len(data)) {
		t.Fatalf("download %d, %v", n, err)
	}
	got, err := os.ReadFile(out.Name())
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content differs (%v)", err)
	}
}

func benchUpload(b *testing.B, size int) {
	cl := startCluster(b)
	ctx := context.Background()
	data := make([]byte, size)
	rand.Read(data)
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cl.Upload(ctx, bytes.NewReader(data), int64(size), client.UploadOptions{Ext: "bin"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchDownload(b *testing.B, size int) {
	cl := startCluster(b)
	ctx := context.Background()
	data := make([]byte, size)
	rand.Read(data)
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(size), client.UploadOptions{Ext: "bin"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cl.Download(ctx, id, 0, 0, io.Discard); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkUpload5KB(b *testing.B)   { benchUpload(b, 5<<10) }
func BenchmarkUpload1MB(b *testing.B)   { benchUpload(b, 1<<20) }
func BenchmarkDownload5KB(b *testing.B) { benchDownload(b, 5<<10) }
func BenchmarkDownload1MB(b *testing.B) { benchDownload(b, 1<<20) }
