package trunk_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fdfsgo/fdfs/internal/tmpfile"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// TestCreateFileWhole: a trunk file gets its name only once it has its
// full size, whichever way the directory makes new files: a writer that
// opens it as soon as the name appears (a replica arriving from another
// storage, the CI failure of session 23) never finds it short. A second
// creation is fs.ErrExist and leaves the first file and no temporary
// file behind.
func TestCreateFileWhole(t *testing.T) {
	const size = 1 << 20
	root := t.TempDir()
	for _, tt := range []struct {
		name string
		dir  *tmpfile.Dir
	}{{"default", nil}, {"named", tmpfile.Named(".upload-x-*.tmp", 0o644)}, {"probed", tmpfile.New(root, ".upload-x-*.tmp", 0o644)}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, tt.name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			const files = 200
			var short atomic.Int64
			done := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				// Watch every name as fast as it can appear.
				for {
					select {
					case <-done:
						return
					default:
					}
					for i := range files {
						if fi, err := os.Stat(filepath.Join(dir, fmt.Sprint(i))); err == nil && fi.Size() != size {
							short.Add(1)
						}
					}
				}
			})
			for i := range files {
				if err := trunk.CreateFile(tt.dir, filepath.Join(dir, fmt.Sprint(i)), size); err != nil {
					t.Fatal(err)
				}
			}
			close(done)
			wg.Wait()
			if n := short.Load(); n > 0 {
				t.Errorf("a trunk file was seen short %d times", n)
			}
			path := filepath.Join(dir, "0")
			if err := os.WriteFile(path, []byte("kept"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := trunk.CreateFile(tt.dir, path, size); !errors.Is(err, fs.ErrExist) {
				t.Errorf("second creation: %v, want fs.ErrExist", err)
			}
			if b, _ := os.ReadFile(path); string(b) != "kept" {
				t.Errorf("second creation changed the file: %q", b)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != files {
				t.Errorf("%d entries in the directory, want %d (a temporary file left?)", len(entries), files)
			}
		})
	}
}
