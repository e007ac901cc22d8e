// Package trunktest unpacks the trunk fixture for tests: a store path that
// the upstream storage (V6.16.1, use_trunk_file = true, 4 MB trunk files,
// slot_max_size 8 KB, one data directory) wrote, with the list of its
// files. tests/interop's TestTrunkUpstreamStore regenerates it:
//
//	FDFS_REF_DIR=/work/ref FDFS_TRUNK_FIXTURE=$PWD/storagenode/trunk/testdata/trunk-upstream.tar.gz \
//	  go test ./tests/interop/ -run TestTrunkUpstreamStore -count=1
package trunktest

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// File is one file the upstream storage stored: its file ID
// ("group1/M00/00/00/..."), content and metadata; Deleted files were
// deleted by upstream (their slot is free).
type File struct {
	ID      string            `json:"id"`
	Content []byte            `json:"content"`
	Meta    map[string]string `json:"meta,omitempty"`
	Deleted bool              `json:"deleted,omitempty"`
}

// Unpack extracts the fixture into a new temporary store path (with
// subdir_count_per_path = 1) and returns it with the files.
func Unpack(t testing.TB) (string, []File) {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(here), "..", "testdata", "trunk-upstream.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	var files []File
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		switch rel, ok := strings.CutPrefix(h.Name, "store/"); {
		case h.Name == "manifest.json":
			if err := json.Unmarshal(b, &files); err != nil {
				t.Fatal(err)
			}
		case ok && !strings.Contains(rel, ".."):
			p := filepath.Join(store, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("trunk fixture: no manifest")
	}
	return store, files
}
