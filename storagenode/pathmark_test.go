package storagenode

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// upstreamMark is a mark fdfs_storaged 6.16.1 wrote (bind_addr 127.0.9.2,
// port 23000, store path #0), with the .data_init_flag it wrote with it.
const (
	upstreamMark     = "MTI3LjAuOS4yAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAANhZAAAAAGTmEms"
	upstreamInitFlag = "storage_join_time=1796400740\nsync_old_done=1\nsync_src_server=\nsync_until_timestamp=0\n" +
		"last_ip_addr=127.0.9.2\nlast_server_port=23000\ncurrent_trunk_file_id=0\ntrunk_last_compress_time=0\n" +
		"trunk_binlog_compress_stage=0\nstore_path_mark0=" + upstreamMark + "\n"
)

func TestPathMarkFormat(t *testing.T) {
	m, ok := decodeMark(upstreamMark)
	want := markInfo{IP: "127.0.9.2", Port: 23000, Index: 0, Created: time.Unix(1796400740, 0)}
	if !ok || m != want {
		t.Fatalf("decode %q = %+v, %v; want %+v", upstreamMark, m, ok, want)
	}
	if got := encodeMark(want); got != upstreamMark {
		t.Fatalf("encode %+v = %q, want %q", want, got, upstreamMark)
	}
	if _, ok := decodeMark("not a mark"); ok {
		t.Error("decoded garbage")
	}
	if !isLegacyMark("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") || isLegacyMark(upstreamMark) {
		t.Error("legacy mark detection")
	}
}

// markConfig is a storage config with n store paths, the mark checked.
func markConfig(t *testing.T, n int) *conf.Storage {
	t.Helper()
	cfg := testConfig(t)
	cfg.CheckStorePathMark = true
	cfg.Port = 23000
	cfg.StorePaths = nil
	for i := range n {
		cfg.StorePaths = append(cfg.StorePaths, filepath.Join(cfg.BasePath, "path"+string(rune('0'+i))))
	}
	cfg.StorePathCount = n
	return cfg
}

func openServer(cfg *conf.Storage) error {
	s, err := New(cfg, nil)
	if err == nil {
		s.Close()
	}
	return err
}

func readMarks(t *testing.T, cfg *conf.Storage) (flag map[string]string, vars []string) {
	t.Helper()
	f, err := loadIni(filepath.Join(cfg.BasePath, "data", dataInitFlagFile))
	if err != nil {
		t.Fatal(err)
	}
	flag = map[string]string{}
	for _, k := range f.keys {
		if strings.HasPrefix(k, markKey) {
			flag[k] = f.vals[k]
		}
	}
	for _, p := range cfg.StorePaths {
		b, _ := os.ReadFile(filepath.Join(p, "data", varsFile))
		vars = append(vars, string(b))
	}
	return flag, vars
}

func writeVars(t *testing.T, storePath, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(storePath, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := makeDataDirs(filepath.Join(storePath, "data"), 4); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(storePath, "data", varsFile), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Each store path gets upstream's mark in its .fastdfs_vars and the same
// mark as store_path_mark<N> in .data_init_flag, which is what fdfs_storaged
// checks before it takes the path over; a restart keeps them.
func TestPathMarkWritten(t *testing.T) {
	cfg := markConfig(t, 2)
	if err := openServer(cfg); err != nil {
		t.Fatal(err)
	}
	flag, vars := readMarks(t, cfg)
	if len(flag) != 2 {
		t.Fatalf(".data_init_flag marks %q", flag)
	}
	for i := range 2 {
		mark := flag[flagMarkKey(i)]
		if vars[i] != markKey+"="+mark+"\n" {
			t.Errorf("store path %d: .fastdfs_vars %q, .data_init_flag %q", i, vars[i], mark)
		}
		m, ok := decodeMark(mark)
		if !ok || m.IP != cfg.BindAddr || m.Port != cfg.Port || m.Index != i || time.Since(m.Created) > time.Minute {
			t.Errorf("store path %d: mark %q = %+v", i, mark, m)
		}
	}
	b, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data", dataInitFlagFile))
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 11 ||
		!strings.HasPrefix(lines[0], "storage_join_time=") || !strings.HasPrefix(lines[8], "trunk_binlog_compress_stage=") ||
		!strings.HasPrefix(lines[9], "store_path_mark0=") || !strings.HasPrefix(lines[10], "store_path_mark1=") {
		t.Errorf(".data_init_flag not in upstream's order:\n%s", b)
	}

	if err := openServer(cfg); err != nil {
		t.Fatalf("restart: %v", err)
	}
	flag2, vars2 := readMarks(t, cfg)
	if len(flag2) != 2 || flag2[flagMarkKey(0)] != flag[flagMarkKey(0)] || vars2[1] != vars[1] {
		t.Errorf("marks changed across a restart: %q %q -> %q %q", flag, vars, flag2, vars2)
	}

	// A lost mark file is made again, with a new mark on both sides (the
	// same one within the same second).
	os.Remove(filepath.Join(cfg.StorePaths[1], "data", varsFile))
	if err := openServer(cfg); err != nil {
		t.Fatal(err)
	}
	flag3, vars3 := readMarks(t, cfg)
	if m := flag3[flagMarkKey(1)]; m == "" || vars3[1] != markKey+"="+m+"\n" || flag3[flagMarkKey(0)] != flag[flagMarkKey(0)] {
		t.Errorf("mark file not made again: %q %q", flag3, vars3)
	}
}

// A store path marked by another storage server is refused (EINVAL), as
// fdfs_storaged refuses it, unless check_store_path_mark is off.
func TestPathMarkForeign(t *testing.T) {
	for _, tc := range []struct {
		name     string
		flagLine string // in our .data_init_flag
	}{
		{"unrecorded", ""},
		{"other mark", "store_path_mark0=" + encodeMark(markInfo{IP: "10.0.0.9", Port: 23000, Created: time.Now()}) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := markConfig(t, 1)
			other := encodeMark(markInfo{IP: "10.0.0.1", Port: 23001, Created: time.Unix(1700000000, 0)})
			writeVars(t, cfg.StorePaths[0], "store_path_mark="+other+"\n")
			if tc.flagLine != "" {
				os.MkdirAll(filepath.Join(cfg.BasePath, "data"), 0o755)
				os.WriteFile(filepath.Join(cfg.BasePath, "data", dataInitFlagFile), []byte("storage_join_time=1\nsync_old_done=0\n"+tc.flagLine), 0o644)
			}
			err := openServer(cfg)
			if !errors.Is(err, protocol.ErrInvalid) || !strings.Contains(err.Error(), "store path #0") ||
				!strings.Contains(err.Error(), varsFile) {
				t.Fatalf("New on a foreign store path: %v", err)
			}
			if tc.name == "other mark" && !strings.Contains(err.Error(), "10.0.0.1") {
				t.Errorf("the mark's fields are not in %q", err)
			}
			_, vars := readMarks(t, cfg)
			if vars[0] != "store_path_mark="+other+"\n" {
				t.Errorf("the foreign mark was changed: %q", vars[0])
			}

			cfg.CheckStorePathMark = false
			if err := openServer(cfg); err != nil {
				t.Fatalf("check_store_path_mark = false: %v", err)
			}
			if _, vars := readMarks(t, cfg); vars[0] != "store_path_mark="+other+"\n" {
				t.Errorf("unchecked start changed the mark: %q", vars[0])
			}
			cfg.CheckStorePathMark = true
			if err := openServer(cfg); !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("checked again: %v", err)
			}
		})
	}
}

// Data of an upstream storage is taken over as it is; data of an fdfs
// storage older than the marks gets upstream's marks.
func TestPathMarkTakeOver(t *testing.T) {
	t.Run("upstream", func(t *testing.T) {
		cfg := markConfig(t, 1)
		os.MkdirAll(filepath.Join(cfg.BasePath, "data"), 0o755)
		os.WriteFile(filepath.Join(cfg.BasePath, "data", dataInitFlagFile), []byte(upstreamInitFlag+"store_path_mark7=stale\n"), 0o644)
		writeVars(t, cfg.StorePaths[0], "store_path_mark="+upstreamMark+"\n")
		if err := openServer(cfg); err != nil {
			t.Fatalf("New on upstream's data: %v", err)
		}
		flag, vars := readMarks(t, cfg)
		if vars[0] != "store_path_mark="+upstreamMark+"\n" || flag[flagMarkKey(0)] != upstreamMark {
			t.Errorf("upstream's marks changed: %q %q", flag, vars)
		}
		// Read as upstream reads it: only the configured paths' lines are
		// kept (rewritten when .data_init_flag is next written).
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.store.initFlag.save()
		s.Close()
		b, _ := os.ReadFile(filepath.Join(cfg.BasePath, "data", dataInitFlagFile))
		if string(b) != upstreamInitFlag {
			t.Errorf(".data_init_flag rewritten as\n%s\nwant\n%s", b, upstreamInitFlag)
		}
	})
	t.Run("older fdfs", func(t *testing.T) {
		cfg := markConfig(t, 1)
		os.MkdirAll(filepath.Join(cfg.BasePath, "data"), 0o755)
		os.WriteFile(filepath.Join(cfg.BasePath, "data", dataInitFlagFile), []byte("storage_join_time=1\nsync_old_done=0\n"), 0o644)
		writeVars(t, cfg.StorePaths[0], "store_path_mark=0123456789abcdefghijABCDEFGHIJ-_\n")
		if err := openServer(cfg); err != nil {
			t.Fatalf("New on older fdfs data: %v", err)
		}
		flag, vars := readMarks(t, cfg)
		m := flag[flagMarkKey(0)]
		if _, ok := decodeMark(m); !ok || vars[0] != markKey+"="+m+"\n" {
			t.Errorf("older mark not replaced: %q %q", flag, vars)
		}
	})
}
