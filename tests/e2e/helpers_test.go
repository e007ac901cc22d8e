package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// opTimeout bounds one client operation of a test (not a speed assertion:
// it only turns a hang into a failure).
const opTimeout = 60 * time.Second

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func upload(t testing.TB, c *client.Client, data []byte, opt client.UploadOptions) string {
	t.Helper()
	id, err := c.Upload(opCtx(t), bytes.NewReader(data), int64(len(data)), opt)
	if err != nil {
		t.Fatalf("upload %d bytes %+v: %v", len(data), opt, err)
	}
	return id
}

func uploadAppender(t testing.TB, c *client.Client, data []byte, opt client.UploadOptions) string {
	t.Helper()
	id, err := c.UploadAppender(opCtx(t), bytes.NewReader(data), int64(len(data)), opt)
	if err != nil {
		t.Fatalf("upload appender: %v", err)
	}
	return id
}

func download(t testing.TB, c *client.Client, id string, offset, length int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := c.Download(opCtx(t), id, offset, length, &buf)
	if err != nil {
		t.Fatalf("download %s [%d,+%d): %v", id, offset, length, err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("download %s: returned %d, wrote %d bytes", id, n, buf.Len())
	}
	return buf.Bytes()
}

func wantContent(t testing.TB, c *client.Client, id string, want []byte) {
	t.Helper()
	if got := download(t, c, id, 0, 0); !bytes.Equal(got, want) {
		t.Fatalf("content of %s: got %d bytes %q, want %d bytes %q", id, len(got), clip(got), len(want), clip(want))
	}
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// waitReplicated waits until fileID exists with the given size on every
// running storage of the group (the copies made by storage-to-storage sync).
func waitReplicated(t testing.TB, c *cluster.Cluster, group, fileID string, size int64) {
	t.Helper()
	deadline := time.Now().Add(opTimeout)
	for _, s := range c.Storages {
		if s.Group != group || !s.Running() {
			continue
		}
		path := cluster.StoredPath(t, s, fileID)
		for {
			st, err := os.Stat(path)
			if err == nil && st.Size() == size {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not replicated to %s (%s): %v", fileID, s.Name, path, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// waitGone waits until fileID is removed from every running storage of the group.
func waitGone(t testing.TB, c *cluster.Cluster, group, fileID string) {
	t.Helper()
	deadline := time.Now().Add(opTimeout)
	for _, s := range c.Storages {
		if s.Group != group || !s.Running() {
			continue
		}
		path := cluster.StoredPath(t, s, fileID)
		for {
			_, err := os.Stat(path)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still on %s (%s)", fileID, s.Name, path)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
