package storagenode

import (
	"strconv"
	"strings"
	"sync"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// stats are the counters of the 348-byte stat block sent in beats and
// persisted in storage_stat.dat.
type stats struct {
	path string
	mu   sync.Mutex
	b    protocol.StatBlock
}

func newStats(path string) *stats { return &stats{path: path} }

// load reads storage_stat.dat if it exists: the counters and the
// round-robin directory cursor.
func (s *stats) load(dist *distCursor) error {
	f, err := loadIni(s.path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fl := range s.b.Fields() {
		if v, err := strconv.ParseInt(f.get(fl.Name), 10, 64); err == nil {
			*fl.P = v
		}
	}
	atoi := func(k string) int {
		v, _ := strconv.Atoi(f.get(k))
		return max(v, 0)
	}
	dist.High, dist.Low, dist.Count = atoi("dist_path_index_high"), atoi("dist_path_index_low"), atoi("dist_write_file_count")
	return nil
}

// save rewrites storage_stat.dat crash-safely.
func (s *stats) save(dist distCursor) error {
	var sb strings.Builder
	s.mu.Lock()
	for _, fl := range s.b.Fields() {
		sb.WriteString(fl.Name + "=" + strconv.FormatInt(*fl.P, 10) + "\n")
	}
	s.mu.Unlock()
	sb.WriteString("dist_path_index_high=" + strconv.Itoa(dist.High) + "\n")
	sb.WriteString("dist_path_index_low=" + strconv.Itoa(dist.Low) + "\n")
	sb.WriteString("dist_write_file_count=" + strconv.Itoa(dist.Count) + "\n")
	return atomicfile.WriteFile(s.path, []byte(sb.String()), fileMode)
}

// snapshot returns a copy of the counters.
func (s *stats) snapshot() protocol.StatBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b
}

// update runs f on the counters under the lock.
func (s *stats) update(f func(b *protocol.StatBlock)) {
	s.mu.Lock()
	f(&s.b)
	s.mu.Unlock()
}

func (s *stats) connOpened() {
	s.update(func(b *protocol.StatBlock) {
		b.CurrentCount++
		b.AllocCount++
		b.MaxCount = max(b.MaxCount, b.CurrentCount)
	})
}

func (s *stats) connClosed() {
	s.update(func(b *protocol.StatBlock) { b.CurrentCount-- })
}
