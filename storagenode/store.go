package storagenode

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// Upstream file names inside the base and store paths.
const (
	dataInitFlagFile = ".data_init_flag"
	statFile         = "storage_stat.dat"
	varsFile         = ".fastdfs_vars"
	maxNameRetries   = 10 // attempts to find an unused final name, as upstream
)

// distCursor is the round-robin directory cursor of
// file_distribute_path_mode 0, persisted in storage_stat.dat.
type distCursor struct {
	High, Low, Count int
}

// store is the on-disk layout: store paths with their two-level data
// directories plus the files under <base_path>/data.
type store struct {
	log      *slog.Logger
	base     string
	paths    []string
	fresh    bool // every store path's data directories were created by this run
	readonly []bool
	subdirs  int
	mode     int // file_distribute_path_mode
	rotate   int // file_distribute_rotate_count

	mu       sync.Mutex
	dist     distCursor
	rr       int                 // next store path for round-robin selection
	inflight map[string]struct{} // final names being created (uniqueness table)
	initFlag *iniFile
	marks    *pathMarks // the store path marks, written again when a path is refilled

	space  *spaceBook  // bytes promised to writes in progress (space.go)
	health *pathHealth // each store path's state as last checked (pathhealth.go)
}

func openStore(cfg *conf.Storage, log *slog.Logger) (*store, error) {
	st := &store{
		log:      log,
		base:     cfg.BasePath,
		readonly: cfg.StorePathReadonly,
		subdirs:  cfg.SubdirCountPerPath,
		mode:     cfg.FileDistributePathMode,
		rotate:   cfg.FileDistributeRotateCount,
		inflight: map[string]struct{}{},
		space:    newSpaceBook(len(cfg.StorePaths)),
		health:   newPathHealth(cfg.StorePaths),
	}
	for _, p := range cfg.StorePaths {
		st.paths = append(st.paths, strings.TrimRight(p, "/"))
	}
	if err := os.MkdirAll(filepath.Join(st.base, "data", "sync"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(st.base, "logs"), 0o755); err != nil {
		return nil, err
	}
	f, err := loadIni(filepath.Join(st.base, "data", dataInitFlagFile))
	if err != nil {
		return nil, err
	}
	if f.get(flagJoinTime) == "" {
		now := strconv.FormatInt(time.Now().Unix(), 10)
		for _, kv := range [][2]string{
			{flagJoinTime, now}, {flagSyncOldDone, "0"}, {flagSyncSrcServer, ""},
			{flagSyncUntil, "0"}, {flagLastIPAddr, ""}, {flagLastServerPort, "0"},
			{"current_trunk_file_id", "0"}, {"trunk_last_compress_time", "0"},
			{"trunk_binlog_compress_stage", "0"},
		} {
			// A file that lost its join time (a hand edit) keeps what it
			// still says: sync_old_done=0 written over a 1 would make
			// this storage copy the group's old files over its own.
			if _, ok := f.lookup(kv[0]); !ok || kv[0] == flagJoinTime {
				f.set(kv[0], kv[1])
			}
		}
		if err := f.save(); err != nil {
			return nil, err
		}
	}
	st.initFlag = f
	// As upstream storage_check_and_make_data_dirs: .data_init_flag first,
	// then each store path's directories and mark.
	pm := &pathMarks{st: st, check: cfg.CheckStorePathMark, port: cfg.Port,
		ip: sync.OnceValue(func() string { return markIP(cfg.BindAddr, cfg.TrackerServers) })}
	st.marks = pm
	recorded := pm.loadFlagMarks()
	st.fresh = true
	for i, p := range st.paths {
		created, err := st.prepareStorePath(p)
		if err != nil {
			return nil, err
		}
		st.fresh = st.fresh && created
		if err := pm.checkPath(i, recorded[i], created); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// prepareStorePath creates <p>/data with its subdir_count² directories
// (upstream does it at first start and checks the first and last ones) and
// reports whether it had to.
func (st *store) prepareStorePath(p string) (bool, error) {
	data := filepath.Join(p, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return false, err
	}
	last := fmt.Sprintf("%02X", st.subdirs-1)
	if isDir(filepath.Join(data, "00", "00")) && isDir(filepath.Join(data, last, last)) {
		return false, nil
	}
	st.log.Info("creating data directories", "store_path", p, "count", st.subdirs*st.subdirs)
	return true, makeDataDirs(data, st.subdirs)
}

// makeDataDirs creates data/HH/LL for HH, LL < n. The mkdirs run on a few
// goroutines: 65536 sequential mkdirs take tens of seconds on slow disks.
func makeDataDirs(data string, n int) error {
	const workers = 8
	highs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range highs {
				hd := filepath.Join(data, fmt.Sprintf("%02X", h))
				if err := os.Mkdir(hd, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
					errs <- err
					continue
				}
				for l := range n {
					if err := os.Mkdir(filepath.Join(hd, fmt.Sprintf("%02X", l)), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
						errs <- err
						break
					}
				}
			}
		}()
	}
	for h := range n {
		highs <- h
	}
	close(highs)
	wg.Wait()
	close(errs)
	return <-errs
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func (st *store) statPath() string { return filepath.Join(st.base, "data", statFile) }
func (st *store) syncDir() string  { return filepath.Join(st.base, "data", "sync") }

func (st *store) distSnapshot() distCursor {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.dist
}

// resolve validates a logical name from the network and returns it parsed
// with its physical path. Anything that does not parse, or points outside
// the configured store paths and directories, is EINVAL.
func (st *store) resolve(name string) (*fileid.Name, string, error) {
	n, err := fileid.Parse(name)
	if err != nil {
		return nil, "", err
	}
	if err := n.Check(len(st.paths), st.subdirs); err != nil {
		return nil, "", err
	}
	return n, n.Path(st.paths), nil
}

// dirOf returns <store_path>/data/HH/LL.
func (st *store) dirOf(idx, high, low int) string {
	return filepath.Join(st.paths[idx], "data", fmt.Sprintf("%02X", high), fmt.Sprintf("%02X", low))
}

// nextDir picks the data directory of a new file: the round-robin cursor
// (mode 0, advanced every rotate_count files) or a PJW hash of the
// provisional base64 name (mode 1), as upstream storage_get_store_path.
func (st *store) nextDir(encoded string) (high, low int) {
	if st.mode != 0 {
		n := pjwHash(encoded) % (1 << 16)
		return int((n>>8)&0xFF) % st.subdirs, int(n&0xFF) % st.subdirs
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dist.High >= st.subdirs || st.dist.Low >= st.subdirs {
		// storage_stat.dat held a cursor past the data directories
		// (damaged, hand-edited, or subdir_count_per_path lowered): the
		// files would go to directories that do not exist.
		st.dist = distCursor{}
	}
	high, low = st.dist.High, st.dist.Low
	st.dist.Count = min(st.dist.Count, st.rotate) + 1 // a huge loaded count must not overflow
	if st.dist.Count >= st.rotate {
		st.dist.Count = 0
		st.dist.Low++
		if st.dist.Low >= st.subdirs {
			st.dist.Low = 0
			st.dist.High++
			if st.dist.High >= st.subdirs {
				st.dist.High = 0
			}
		}
	}
	return high, low
}

// pjwHash is libfastcommon's PJWHash over the bytes of s (32-bit
// arithmetic, result used as unsigned).
func pjwHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = h<<4 + uint32(s[i])
		if g := h & 0xF0000000; g != 0 {
			h ^= g >> 24
			h ^= g
		}
	}
	return h
}

// reserve claims a final name in the in-memory uniqueness table; release
// frees it once the file is in place (or the attempt failed).
func (st *store) reserve(name string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.inflight[name]; ok {
		return false
	}
	st.inflight[name] = struct{}{}
	return true
}

func (st *store) release(name string) {
	st.mu.Lock()
	delete(st.inflight, name)
	st.mu.Unlock()
}

// iniFile is a small "key=value" file kept in key order of first
// appearance, rewritten crash-safely.
type iniFile struct {
	mu   sync.Mutex
	path string
	keys []string
	vals map[string]string
	// saving orders the writes of the file: a save takes its snapshot
	// and writes it before the next one snapshots, so the file left is the
	// newest snapshot. Without it, the tracker sessions that save at once
	// at start (the address, then sync_old_done=1 after SYNC_DEST_REQ)
	// could rename an older snapshot over a newer one, and the next start
	// found sync_old_done=0: it joined as a new storage and a peer copied
	// its old files over the newer ones it held.
	saving sync.Mutex
}

func loadIni(path string) (*iniFile, error) {
	f := &iniFile{path: path, vals: map[string]string{}}
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		f.setLocked(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		// A line past the scanner's limit: garbage, named with its file.
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return f, nil
}

func (f *iniFile) get(k string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vals[k]
}

// lookup is get telling an absent key from an empty value.
func (f *iniFile) lookup(k string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[k]
	return v, ok
}

// deleteIf removes the keys del selects.
func (f *iniFile) deleteIf(del func(k string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := f.keys[:0]
	for _, k := range f.keys {
		if del(k) {
			delete(f.vals, k)
		} else {
			keys = append(keys, k)
		}
	}
	f.keys = keys
}

func (f *iniFile) set(k, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(k, v)
}

func (f *iniFile) setLocked(k, v string) {
	if _, ok := f.vals[k]; !ok {
		f.keys = append(f.keys, k)
	}
	f.vals[k] = v
}

func (f *iniFile) save() error {
	f.saving.Lock()
	defer f.saving.Unlock()
	f.mu.Lock()
	var sb strings.Builder
	for _, k := range f.keys {
		sb.WriteString(k + "=" + f.vals[k] + "\n")
	}
	f.mu.Unlock()
	return atomicfile.WriteFile(f.path, []byte(sb.String()), fileMode)
}

// fileMode is the permission of stored data and metadata files, as
// upstream creates them.
const fileMode = 0o644
