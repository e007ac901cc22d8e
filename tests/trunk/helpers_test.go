package trunk

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

const (
	opTimeout = 30 * time.Second
	waitLimit = 60 * time.Second
	slotMax   = 64 << 10
)

// trunkConf turns trunks on with small trunk files (4 MB, upstream's
// minimum) so that a test fills several.
var trunkConf = []string{"use_trunk_file = true", "trunk_file_size = 4MB", "slot_max_size = 64KB",
	"slot_min_size = 256", "trunk_alloc_alignment_size = 256", "trunk_free_space_merge = true"}

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func parse(t testing.TB, id string) *fileid.Name {
	t.Helper()
	_, name, err := fileid.Split(id)
	if err != nil {
		t.Fatal(err)
	}
	n, err := fileid.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func upload(t testing.TB, c *client.Client, data []byte, ext string) string {
	t.Helper()
	id, err := c.Upload(opCtx(t), bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: ext})
	if err != nil {
		t.Fatalf("upload %d bytes: %v", len(data), err)
	}
	return id
}

func download(t testing.TB, c *client.Client, id string) ([]byte, error) {
	t.Helper()
	var b bytes.Buffer
	_, err := c.Download(opCtx(t), id, 0, 0, &b)
	return b.Bytes(), err
}

func expectContent(t testing.TB, c *client.Client, id string, want []byte) {
	t.Helper()
	if len(want) == 0 { // an empty file cannot be downloaded (EINVAL, as upstream)
		if fi, err := c.GetFileInfo(opCtx(t), id); err != nil || fi.Size != 0 {
			t.Fatalf("file info of empty %s: %+v %v", id, fi, err)
		}
		return
	}
	got, err := download(t, c, id)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("download %s: %v, %d bytes, want %d", id, err, len(got), len(want))
	}
}

func expectGone(t testing.TB, c *client.Client, id string) {
	t.Helper()
	if got, err := download(t, c, id); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("download of deleted %s: %v (%d bytes)", id, err, len(got))
	}
}

// waitTrunkServer uploads probes until one lands in a trunk (the tracker
// elects the trunk server within a second or two of the storages joining)
// and deletes them.
func waitTrunkServer(t testing.TB, c *client.Client) {
	t.Helper()
	testwait.Until(t, waitLimit, "an upload to go into a trunk", func() bool {
		id, err := c.Upload(opCtx(t), strings.NewReader("probe"), 5, client.UploadOptions{})
		if err != nil {
			return false // EAGAIN until there is a trunk server
		}
		c.Delete(opCtx(t), id)
		return parse(t, id).Trunk
	})
}

// dataFiles counts the regular files under a store path's data
// directories (trunk files, whole files, -m files), and the trunk files.
func dataFiles(t testing.TB, store string) (files, trunks int) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(store, "data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(store, p)
		if strings.Count(rel, "/") != 3 {
			return nil // binlog, sync marks, trunk binlog
		}
		files++
		if len(d.Name()) >= 6 && strings.Trim(d.Name(), "0123456789") == "" {
			trunks++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, trunks
}

func startCluster(t *testing.T, storages int, extra ...string) *cluster.Cluster {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Storages: storages, TrackerConf: append(append([]string{}, trunkConf...), extra...)})
	waitTrunkServer(t, c.Client)
	return c
}
