package storagenode

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestIniFileConcurrentSaves: every set is followed by a save, from
// several goroutines at once (the tracker sessions of a starting storage
// do that with .data_init_flag); once all returned, the file must hold
// what memory holds. An older snapshot renamed over a newer one (saves not
// ordered) loses a value: sync_old_done=1 went back to 0 on disk that way.
// Each trial ends in a race of its last saves.
func TestIniFileConcurrentSaves(t *testing.T) {
	const trials, writers = 100, 4
	path := filepath.Join(t.TempDir(), dataInitFlagFile)
	for trial := range trials {
		f, err := loadIni(path)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.set("key"+strconv.Itoa(w), strconv.Itoa(trial))
				if err := f.save(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := loadIni(path)
		if err != nil {
			t.Fatal(err)
		}
		for w := range writers {
			k := "key" + strconv.Itoa(w)
			if got.get(k) != f.get(k) {
				t.Fatalf("trial %d: %s on disk %q, in memory %q: an older snapshot was written last", trial, k, got.get(k), f.get(k))
			}
		}
	}
}
