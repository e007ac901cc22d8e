package storagenode

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// TestDistCursorFromStatFile: the round-robin directory cursor loaded
// from storage_stat.dat only ever picks data directories that exist, and
// moves on every rotate_count files, whatever the file held.
func TestDistCursorFromStatFile(t *testing.T) {
	tests := []struct {
		name, stat string
		want       [][2]int // high, low of the next files (4×4 dirs, rotate 2)
	}{
		{"as saved", "dist_path_index_high=1\ndist_path_index_low=3\ndist_write_file_count=1\n", [][2]int{{1, 3}, {2, 0}, {2, 0}}},
		{"past the directories", "dist_path_index_high=255\ndist_path_index_low=255\n", [][2]int{{0, 0}, {0, 0}, {0, 1}}},
		{"low out of int range", "dist_path_index_low=99999999999999999999\n", [][2]int{{0, 0}, {0, 0}, {0, 1}}},
		{"count at the int maximum", "dist_path_index_low=2\ndist_write_file_count=9223372036854775807\n", [][2]int{{0, 2}, {0, 3}, {0, 3}}},
		{"negative", "dist_path_index_high=-3\ndist_write_file_count=-9\n", [][2]int{{0, 0}, {0, 0}, {0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), statFile)
			if err := os.WriteFile(path, []byte(tt.stat), 0o644); err != nil {
				t.Fatal(err)
			}
			st := &store{subdirs: 4, rotate: 2}
			if err := newStats(path).load(&st.dist); err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				if h, l := st.nextDir(""); h != want[0] || l != want[1] {
					t.Fatalf("file %d: directory %02X/%02X, want %02X/%02X", i, h, l, want[0], want[1])
				}
			}
		})
	}
}

// TestLoadIniLongLine: a key=value file with a line longer than the
// scanner takes (garbage) is refused with an error naming the file.
func TestLoadIniLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), dataInitFlagFile)
	if err := os.WriteFile(path, []byte("storage_join_time=1\n"+strings.Repeat("k", 70000)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadIni(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("loadIni: %v, want an error naming %s", err, path)
	}
}

// TestInitFlagAtStart: a start fills in what .data_init_flag lacks and
// keeps what it holds, even when the join time is gone.
func TestInitFlagAtStart(t *testing.T) {
	tests := []struct {
		name, flag string
		want       map[string]string // "" for the join time: any, not empty
	}{
		{"none", "", map[string]string{flagJoinTime: "", flagSyncOldDone: "0", flagLastServerPort: "0"}},
		{"upstream's", upstreamInitFlag, map[string]string{flagJoinTime: "1796400740", flagSyncOldDone: "1", flagLastIPAddr: "127.0.9.2"}},
		{"join time lost", "sync_old_done=1\nlast_ip_addr=10.0.0.5\ncurrent_trunk_file_id=12\n",
			map[string]string{flagJoinTime: "", flagSyncOldDone: "1", flagLastIPAddr: "10.0.0.5", flagCurrentTrunkFileID: "12", flagSyncUntil: "0"}},
		{"join time empty", "storage_join_time=\nsync_old_done=1\n", map[string]string{flagJoinTime: "", flagSyncOldDone: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.CheckStorePathMark = false
			path := filepath.Join(cfg.BasePath, "data", dataInitFlagFile)
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(tt.flag), 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := openStore(cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if got := st.initFlag.get(k); got != want && (want != "" || got == "") {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
