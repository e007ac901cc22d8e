package fileops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// recordExt names the session records of RecordDir.
const recordExt = ".session"

// recordPath is the record of the session of file id: a name derived from
// the ID (file IDs hold slashes).
func (s *Sessions) recordPath(id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(s.cfg.RecordDir, hex.EncodeToString(sum[:16])+recordExt)
}

// record notes a new session for Sweep: "<file ID> <expiry unix seconds>".
// A record that cannot be written only means the sweep will not see the
// session; a request naming it after its expiry still reclaims it.
func (s *Sessions) record(id string, expires time.Time) {
	if s.cfg.RecordDir == "" {
		return
	}
	line := id + " " + strconv.FormatInt(expires.Unix(), 10) + "\n"
	err := os.MkdirAll(s.cfg.RecordDir, 0o700)
	if err == nil {
		err = atomicfile.WriteFile(s.recordPath(id), []byte(line), 0o600)
	}
	if err != nil {
		s.log.Warn("could not record an upload session for the sweep", "file_id", id, "err", err)
	}
}

// dropRecord forgets the session of file id (finished, cancelled or
// reclaimed); another gateway's record of it is dropped by that gateway's
// sweep, which finds the file gone or finished.
func (s *Sessions) dropRecord(id string) {
	if s.cfg.RecordDir == "" {
		return
	}
	if err := os.Remove(s.recordPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("could not remove an upload session record", "file_id", id, "err", err)
	}
}

// Sweep goes through the records of the sessions created here and
// deletes the files of those that expired unfinished; records of sessions
// that are finished or gone are dropped. It returns how many files it
// deleted.
func (s *Sessions) Sweep(ctx context.Context) (int, error) {
	if s.cfg.RecordDir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(s.cfg.RecordDir)
	if err != nil {
		return 0, fmt.Errorf("upload sessions: %w", err)
	}
	n := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if !strings.HasSuffix(e.Name(), recordExt) {
			continue
		}
		if s.sweepOne(ctx, filepath.Join(s.cfg.RecordDir, e.Name())) {
			n++
		}
	}
	return n, nil
}

// sweepOne handles one record; it reports whether it deleted a file.
func (s *Sessions) sweepOne(ctx context.Context, path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	id, exp, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	unix, perr := strconv.ParseInt(exp, 10, 64)
	if !ok || perr != nil {
		s.log.Warn("removing an unreadable upload session record", "path", path)
		os.Remove(path)
		return false
	}
	if s.cfg.Now().Before(time.Unix(unix, 0)) {
		return false
	}
	st, err := s.f.eng.StatSource(ctx, id, false)
	switch {
	case fileGone(err):
		os.Remove(path)
		return false
	case err != nil:
		s.log.Warn("upload session sweep: cannot check a session's file", "file_id", id, "err", err)
		return false
	}
	if _, open := st.Meta[metaExpires]; !open {
		os.Remove(path) // finished through another gateway
		return false
	}
	s.reclaim(ctx, id)
	return true
}

// Run sweeps every interval until ctx ends.
func (s *Sessions) Run(ctx context.Context, every time.Duration) {
	if s.cfg.RecordDir == "" || every <= 0 {
		return
	}
	if err := os.MkdirAll(s.cfg.RecordDir, 0o700); err != nil {
		s.log.Error("upload sessions: no record directory, no sweep", "dir", s.cfg.RecordDir, "err", err)
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("upload session sweep", "err", err)
			}
		}
	}
}
