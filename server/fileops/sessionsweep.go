package fileops

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
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
	case errors.Is(err, protocol.ErrNotFound):
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

// Checksum is the digest a write's content must have: Algorithm is one of
// ChecksumAlgorithms, Digest the raw digest bytes.
type Checksum struct {
	Algorithm string
	Digest    []byte
}

// ChecksumAlgorithms are the algorithms of Checksum, as tus names them.
var ChecksumAlgorithms = []string{"sha1", "md5", "crc32", "sha256"}

// NewChecksumHash returns the hash of algorithm, or false for an
// unsupported one.
func NewChecksumHash(algorithm string) (hash.Hash, bool) {
	switch algorithm {
	case "sha1":
		return sha1.New(), true
	case "md5":
		return md5.New(), true
	case "crc32":
		return crc32.NewIEEE(), true
	case "sha256":
		return sha256.New(), true
	}
	return nil, false
}

// CommitChecked reads c to its end into a spool file, checks its digest
// against sum and only then commits it in segments: content that does not
// match commits nothing (INVALID_ARGUMENT, ReasonChecksumMismatch). A
// c.Size of -1 takes whatever c.R holds, up to the session's size.
func (w *Writer) CommitChecked(ctx context.Context, c Content, sum Checksum) error {
	h, ok := NewChecksumHash(sum.Algorithm)
	if !ok {
		return ToStatus(InvalidField("checksum", "unsupported checksum algorithm "+strconv.Quote(sum.Algorithm)), w.sess.FileID)
	}
	f, err := os.CreateTemp(w.s.cfg.SpoolDir, "fdfs-upload-*")
	if err != nil {
		return ToStatus(fmt.Errorf("spool file: %w", err), w.sess.FileID)
	}
	os.Remove(f.Name()) // freed on Close, even if the process dies first
	defer f.Close()
	limit := int64(1<<63 - 1)
	if w.sess.Size >= 0 {
		limit = w.sess.Size - w.sess.Offset
	}
	if max := w.s.cfg.MaxSize; max > 0 {
		limit = min(limit, max-w.sess.Offset)
	}
	if c.Size >= 0 {
		if err := w.s.checkMax("size", w.sess.Offset+c.Size); err != nil {
			return err
		}
		limit = min(limit, c.Size)
	}
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(c.R, limit))
	if err != nil {
		if cerr := c.failed(); cerr != nil {
			return cerr
		}
		return ToStatus(fmt.Errorf("spool file: %w", err), w.sess.FileID)
	}
	if c.Size >= 0 && n < c.Size {
		if cerr := c.failed(); cerr != nil {
			return cerr
		}
		return ToStatus(InvalidField("body", fmt.Sprintf("the content ended after %d of %d bytes", n, c.Size)), w.sess.FileID)
	}
	if c.Size < 0 && n == limit {
		var one [1]byte
		if m, _ := io.ReadFull(c.R, one[:]); m > 0 {
			if w.sess.Size < 0 {
				return w.s.checkMax("size", w.sess.Offset+n+1)
			}
			return ToStatus(sizeExceeded("size", w.sess.Offset+n+1, w.sess.Size), w.sess.FileID)
		}
	}
	if got := h.Sum(nil); !bytes.Equal(got, sum.Digest) {
		return ToStatus(checksumMismatch("checksum", fmt.Sprintf("the content's %s is %x, not %x: nothing was written", sum.Algorithm, got, sum.Digest)), w.sess.FileID)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ToStatus(fmt.Errorf("spool file: %w", err), w.sess.FileID)
	}
	return w.CommitSegments(ctx, Content{R: f, Size: n})
}
