package storagenode

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A FETCH_ONE_PATH_BINLOG reply announces an endless body (pkg_len
// recoveryStreamLen, upstream's INFINITE_FILE_SIZE): its sender cannot
// know the length before it has read every binlog. Upstream's sender
// (storage_server_fetch_one_path_binlog_dealer) ends the records with
// their length in 8 bytes, big-endian, then closes; its receiver
// (libfastcommon's tcprecvfile) reads to the close and takes the stream
// only if the last 8 bytes give the length of what came before them. The
// trailer is what tells a complete stream from one cut short by a
// crash or a reset: records missing there would be files never restored.

// streamTrailerLen is the length trailer's size (bytes).
const streamTrailerLen = 8

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeStreamTrailer ends a stream of n bytes.
func writeStreamTrailer(w io.Writer, n int64) error {
	var b [streamTrailerLen]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	_, err := w.Write(b[:])
	return err
}

// trailerWriter writes to w all but the last streamTrailerLen bytes it is
// given, which it holds back: at the end they are the trailer. It copies
// no more than those bytes (a recovery binlog can be gigabytes).
type trailerWriter struct {
	w    io.Writer
	hold []byte // at most streamTrailerLen bytes
	n    int64  // bytes passed on to w
}

func (t *trailerWriter) pass(p []byte) error {
	n, err := t.w.Write(p)
	t.n += int64(n)
	return err
}

func (t *trailerWriter) Write(p []byte) (int, error) {
	if len(p) >= streamTrailerLen {
		// Everything held and all of p but its end go out.
		if err := t.pass(t.hold); err != nil {
			return 0, err
		}
		if err := t.pass(p[:len(p)-streamTrailerLen]); err != nil {
			return 0, err
		}
		t.hold = append(t.hold[:0], p[len(p)-streamTrailerLen:]...)
		return len(p), nil
	}
	t.hold = append(t.hold, p...)
	if extra := len(t.hold) - streamTrailerLen; extra > 0 {
		if err := t.pass(t.hold[:extra]); err != nil {
			return 0, err
		}
		t.hold = t.hold[:copy(t.hold, t.hold[extra:])]
	}
	return len(p), nil
}

// check says whether the held bytes are the trailer of what was passed.
func (t *trailerWriter) check() error {
	if len(t.hold) < streamTrailerLen {
		return fmt.Errorf("recovery binlog stream of %d bytes ended without its length: %w", t.n+int64(len(t.hold)), protocol.ErrInvalid)
	}
	if got := int64(binary.BigEndian.Uint64(t.hold)); got != t.n {
		return fmt.Errorf("recovery binlog stream cut short: %d bytes, its end says %d: %w", t.n, got, protocol.ErrInvalid)
	}
	return nil
}

// copyRecoveryBinlog copies a FETCH_ONE_PATH_BINLOG body of length bytes
// to w: for recoveryStreamLen up to the close, checking and leaving out
// the trailer, at most maxRecoveryBinlog. It returns the bytes written.
func copyRecoveryBinlog(w io.Writer, rd io.Reader, length int64) (int64, error) {
	if length != recoveryStreamLen {
		return io.CopyN(w, rd, length)
	}
	tw := &trailerWriter{w: w}
	n, err := io.Copy(tw, io.LimitReader(rd, maxRecoveryBinlog+streamTrailerLen+1))
	switch {
	case err != nil:
		return tw.n, err
	case n > maxRecoveryBinlog+streamTrailerLen:
		return tw.n, fmt.Errorf("recovery binlog over %d bytes: %w", maxRecoveryBinlog, protocol.ErrNoSpace)
	}
	return tw.n, tw.check()
}
