package fileops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// CommitChecked reads c to its end into a spool file, checks its digest
// against sum and only then commits it in segments: content that does not
// match commits nothing (INVALID_ARGUMENT, ReasonChecksumMismatch). A
// c.Size of -1 takes whatever c.R holds, up to the session's size.
func (w *Writer) CommitChecked(ctx context.Context, c Content, sum *Checksum) error {
	h, err := sum.newHash()
	if err != nil {
		return ToStatus(err, w.sess.FileID)
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
	if got := h.Sum(nil); !bytes.Equal(got, sum.Value) {
		return ToStatus(checksumMismatch(sum.Field, fmt.Sprintf("the content's %s is %x, not %x: nothing was written", sum.Algorithm, got, sum.Value)), w.sess.FileID)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ToStatus(fmt.Errorf("spool file: %w", err), w.sess.FileID)
	}
	return w.CommitSegments(ctx, Content{R: f, Size: n})
}
