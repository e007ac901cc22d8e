package replication

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestNewStorageFullSyncPackedBinlog: a storage whose older binlog file
// was gzipped, as upstream's storage leaves it with compress_binlog (the
// stock storage.conf's setting: binlog.000.gz, binlog_index.dat with
// current_write=1 and current_compress=1), gives a new storage of its
// group every file, those recorded in the gzipped file too, and has the
// file back in its plain form after (as upstream's gzip -d leaves it).
func TestNewStorageFullSyncPackedBinlog(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	want := map[string][]byte{}
	for i := range 30 {
		b := payload.Bytes(i, 700+i)
		want[upload(t, c.Client, b, client.UploadOptions{Ext: "bin"})] = b
	}
	c.StopStorage(0)
	sync := filepath.Join(c.StorageConf(0).BasePath, "data", "sync")
	gzipFile(t, filepath.Join(sync, "binlog.000"))
	if err := os.WriteFile(filepath.Join(sync, "binlog_index.dat"), []byte("current_write=1\ncurrent_compress=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(0)
	c.WaitActive()
	for i := range 10 { // recorded in binlog.001
		b := payload.Bytes(100+i, 900+i)
		want[upload(t, c.Client, b, client.UploadOptions{Ext: "bin"})] = b
	}

	newcomer, _ := joinNewStorage(t, c)
	waitEverywhere(t, []*cluster.Storage{newcomer}, want)
	if _, err := os.Stat(filepath.Join(sync, "binlog.000")); err != nil {
		t.Errorf("binlog.000 not unpacked: %v", err)
	}
	if _, err := os.Stat(filepath.Join(sync, "binlog.000.gz")); err == nil {
		t.Errorf("binlog.000.gz left beside the unpacked file")
	}
}

// gzipFile replaces path by path.gz, as the gzip command does.
func gzipFile(t *testing.T, path string) {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(path + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
