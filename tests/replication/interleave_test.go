package replication

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestAppenderInterleavings replays random histories of appender files
// (append, modify, truncate, regenerate, delete, metadata) from several
// clients at once, each step sent as soon as the previous one was
// acknowledged, so the sync workers meet every interleaving: records of
// a file already renamed or deleted at the source, ranges that no longer
// exist there, renames of stale copies. Every storage must end with
// exactly the source's latest version of every file, byte for byte, and
// nothing else (no stale appender left under an old name).
//
// FDFS_TEST_SEED=N replays one run; FDFS_TEST_ROUNDS=N sets the histories
// per client (default 25).
func TestAppenderInterleavings(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FDFS_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rounds := 25
	if s := os.Getenv("FDFS_TEST_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	t.Logf("FDFS_TEST_SEED=%d FDFS_TEST_ROUNDS=%d", seed, rounds)
	c := cluster.Start(t, cluster.Options{Storages: 3})
	const workers = 8
	want := newFiles()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := &history{t: t, c: c.Client, rng: rand.New(rand.NewPCG(seed, uint64(w))), want: want}
			for r := range rounds {
				if err := h.run(w*1000 + r); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", w, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	final := want.snapshot()
	t.Logf("%d files expected on every storage", len(final))
	waitExactly(t, c.Storages, final)
}

// history drives one client's random appender histories and records the
// expected final content of every file it leaves behind.
type history struct {
	t    *testing.T
	c    *client.Client
	rng  *rand.Rand
	want *files
}

// run plays one history: an appender upload, then up to 10 random steps;
// a regenerate freezes the file (only metadata and delete may follow) and
// a delete ends it.
func (h *history) run(seed int) error {
	data := payload.Bytes(seed, h.rng.IntN(4<<10))
	id, err := h.c.UploadAppender(opCtx(h.t), bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "bin"})
	if err != nil {
		return fmt.Errorf("upload appender: %w", err)
	}
	frozen, meta := false, map[string]string(nil)
	for step := range h.rng.IntN(10) + 1 {
		ctx := opCtx(h.t)
		switch k := h.rng.IntN(20); {
		case k < 7 && !frozen: // append, sometimes a large one
			n := h.rng.IntN(8 << 10)
			if k == 0 {
				n = 200 << 10
			}
			b := payload.Bytes(seed*100+step, n)
			err = h.c.Append(ctx, id, bytes.NewReader(b), int64(n))
			data = append(data, b...)
		case k < 10 && !frozen: // modify, possibly past the end
			off := h.rng.IntN(len(data) + 1)
			b := payload.Bytes(seed*100+step, h.rng.IntN(4<<10))
			err = h.c.Modify(ctx, id, int64(off), bytes.NewReader(b), int64(len(b)))
			data = overwrite(data, off, b)
		case k < 13 && !frozen: // truncate
			n := h.rng.IntN(len(data) + 1)
			err = h.c.Truncate(ctx, id, int64(n))
			data = data[:n]
		case k < 16 && !frozen:
			id, err = h.c.RegenerateAppender(ctx, id)
			frozen = true
		case k < 18 && frozen:
			meta = map[string]string{"step": strconv.Itoa(step), "seed": strconv.Itoa(seed)}
			err = h.c.SetMetadata(ctx, id, meta, protocol.MetaOverwrite)
		case k == 19:
			if err := h.c.Delete(ctx, id); err != nil {
				return fmt.Errorf("delete %s: %w", id, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("step %d on %s: %w", step, id, err)
		}
	}
	h.want.add(id, data)
	if meta != nil {
		h.want.add(id+metaSuffix, protocol.PackMeta(meta))
	}
	return nil
}

// overwrite writes b into data at off, growing data as needed.
func overwrite(data []byte, off int, b []byte) []byte {
	if end := off + len(b); end > len(data) {
		data = append(data, make([]byte, end-len(data))...)
	}
	copy(data[off:], b)
	return data
}

// waitExactly polls until every storage holds exactly want: each file
// byte-identical and no other stored file. It fails the test after
// waitLimit, counting and naming the differences.
func waitExactly(t testing.TB, storages []*cluster.Storage, want map[string][]byte) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var bad, counts []string
		for _, s := range storages {
			wrong := missing(t, s, want, len(want))
			extra := extraFiles(t, s, want)
			if len(wrong)+len(extra) > 0 {
				counts = append(counts, fmt.Sprintf("%s: %d of %d files missing or different, %d not expected", s.Name, len(wrong), len(want), len(extra)))
			}
			for _, m := range wrong[:min(len(wrong), 5)] {
				bad = append(bad, s.Name+": "+m)
			}
			for _, x := range extra[:min(len(extra), 5)] {
				bad = append(bad, s.Name+": "+x+" (not expected)")
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the storages differ from the sources' latest versions:\n%s\nfirst ones:\n%s", waitLimit, strings.Join(counts, "\n"), strings.Join(bad, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storedFile matches the path of a stored file under a store path's data
// directory: two levels of hex directories, then a name that is not a
// hidden temp file.
var storedFile = regexp.MustCompile(`^[0-9A-F]{2}/[0-9A-F]{2}/[^./][^/]*$`)

// extraFiles lists the stored files of s (data and metadata files under
// its store paths) that want does not name.
func extraFiles(t testing.TB, s *cluster.Storage, want map[string][]byte) []string {
	t.Helper()
	expected := map[string]bool{}
	for id := range want {
		expected[storedPath(t, s, id)] = true
	}
	var out []string
	for _, root := range s.StorePaths {
		data := filepath.Join(root, "data")
		filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(data, p)
			if err != nil || d.IsDir() || !storedFile.MatchString(rel) || expected[p] {
				return nil
			}
			out = append(out, p)
			return nil
		})
	}
	sort.Strings(out)
	return out
}
