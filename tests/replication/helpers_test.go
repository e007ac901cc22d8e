package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// opTimeout bounds one client operation; waitLimit bounds a wait for
// replication. Both only turn a hang into a failure.
const (
	opTimeout = 30 * time.Second
	waitLimit = 60 * time.Second
)

// metaSuffix names a file's metadata file ("<name>-m").
const metaSuffix = "-m"

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func upload(t testing.TB, c *client.Client, data []byte, opt client.UploadOptions) string {
	t.Helper()
	id, err := c.Upload(opCtx(t), bytes.NewReader(data), int64(len(data)), opt)
	if err != nil {
		t.Fatalf("upload %d bytes: %v", len(data), err)
	}
	return id
}

// storedPath is where fileID (or its metadata file "<fileID>-m") lives on
// storage s.
func storedPath(t testing.TB, s *cluster.Storage, fileID string) string {
	t.Helper()
	if base, ok := strings.CutSuffix(fileID, metaSuffix); ok {
		return storedPath(t, s, base) + metaSuffix
	}
	return cluster.StoredPath(t, s, fileID)
}

// files maps a file id to the bytes its stored file must hold (for a
// metadata file "<id>-m", the packed metadata).
type files struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newFiles() *files { return &files{m: map[string][]byte{}} }

func (f *files) add(id string, b []byte) {
	f.mu.Lock()
	f.m[id] = b
	f.mu.Unlock()
}

func (f *files) snapshot() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]byte, len(f.m))
	for k, v := range f.m {
		out[k] = v
	}
	return out
}

// missing lists the files that storage s does not hold byte-identical
// (at most max of them, sorted).
func missing(t testing.TB, s *cluster.Storage, want map[string][]byte, max int) []string {
	t.Helper()
	var out []string
	for id, b := range want {
		got, err := os.ReadFile(storedPath(t, s, id))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out = append(out, id+" (absent)")
		case err != nil:
			out = append(out, fmt.Sprintf("%s (%v)", id, err))
		case !bytes.Equal(got, b):
			out = append(out, fmt.Sprintf("%s (%d bytes, want %d)", id, len(got), len(b)))
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// waitEverywhere polls until every given storage holds every file
// byte-identical on disk, failing the test after waitLimit.
func waitEverywhere(t testing.TB, storages []*cluster.Storage, want map[string][]byte) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var bad []string
		for _, s := range storages {
			for _, m := range missing(t, s, want, 5) {
				bad = append(bad, s.Name+": "+m)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d files are not replicated everywhere; first ones:\n%v", waitLimit, len(want), bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantSource fails the test unless some file of want was uploaded to the
// storage with IP ip (its name carries the source IP).
func wantSource(t testing.TB, want map[string][]byte, ip string) {
	t.Helper()
	for id := range want {
		if _, n, err := client.DecodeFileID(id); err == nil && n.SourceIP == ip {
			return
		}
	}
	t.Fatalf("no acknowledged upload went to %s: the test did not exercise it", ip)
}
