package binlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Reader reads complete records from the binlog.NNN files of a directory,
// following the writer's rotation. The position only advances when the
// caller commits a record, so a record that could not be handled (a sync
// to a peer that failed) is read again.
type Reader struct {
	dir     string
	current func() int // index the writer is appending to
	index   int
	offset  int64 // start of the next uncommitted record
	f       *os.File
	buf     []byte // bytes read from offset on
}

// NewReader returns a reader of the binlog in dir from file index at
// offset. current tells the index the writer is appending to (usually
// Writer.Index): the reader moves past a file only once the writer has.
func NewReader(dir string, current func() int, index int, offset int64) *Reader {
	return &Reader{dir: dir, current: current, index: index, offset: offset}
}

// Pos returns the position of the next uncommitted record.
func (r *Reader) Pos() (index int, offset int64) { return r.index, r.offset }

// Close releases the open file; the reader may be used again after it.
func (r *Reader) Close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.buf = r.buf[:0]
}

// Next returns the next complete record (without its newline) and its
// length on disk, or io.EOF when none is available yet. Calling Next again
// without Commit returns the same record.
func (r *Reader) Next() (string, int, error) {
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= MaxLine {
			return garbage(r.buf[:i]), i + 1, nil
		} else if i >= 0 {
			return string(r.buf[:i]), i + 1, nil
		}
		if len(r.buf) >= MaxLine {
			return r.overlong()
		}
		if r.f == nil {
			more, err := r.open()
			if err != nil || !more {
				return "", 0, err
			}
			continue
		}
		more, err := r.fill()
		if err != nil {
			return "", 0, err
		}
		if !more {
			if len(r.buf) > 0 && r.index < r.current() {
				// A file the writer has left ends inside a record: a
				// torn write it will never complete.
				return garbage(r.buf), len(r.buf), nil
			}
			return "", 0, io.EOF
		}
	}
}

// Garbage is how Next returns bytes that cannot be a record: a line
// longer than MaxLine (the zeros a power loss left in the middle of the
// file, up to the next newline), or a partial record at the end of a file
// the writer has left. Parse rejects it (protocol.ErrInvalid), so the
// reader's user skips it like any malformed record, and the reader does
// not stop at it for ever.
const Garbage = "garbage"

func garbage(b []byte) string {
	return fmt.Sprintf("%s (%d bytes): %q", Garbage, len(b), b[:min(len(b), 64)])
}

// overlong returns the line that starts at the reader's position and is
// longer than MaxLine, as garbage, with its length up to and including
// the next newline; io.EOF while there is none yet in a file the writer
// still appends to.
func (r *Reader) overlong() (string, int, error) {
	chunk := make([]byte, scanChunk)
	for pos := r.offset + int64(len(r.buf)); ; {
		n, err := r.f.ReadAt(chunk, pos)
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			return garbage(r.buf), int(pos + int64(i) + 1 - r.offset), nil
		}
		pos += int64(n)
		if err == io.EOF && r.index < r.current() {
			return garbage(r.buf), int(pos - r.offset), nil
		}
		if err == io.EOF {
			return "", 0, io.EOF
		}
		if err != nil {
			return "", 0, err
		}
	}
}

// open opens the current file, unpacking it when it was gzipped
// (OpenFile). A file missing in both forms is skipped when the writer has
// moved past it (more, no file yet); a missing current one is io.EOF.
func (r *Reader) open() (more bool, err error) {
	f, err := OpenFile(Path(r.dir, r.index))
	switch {
	case errors.Is(err, fs.ErrNotExist) && r.index < r.current():
		r.index, r.offset = r.index+1, 0
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, io.EOF
	case err != nil:
		return false, err
	}
	r.f = f
	return true, nil
}

// fill reads more of the current file into buf, moving to the next file
// at the end of one the writer has rotated past. more is false when
// nothing new is available.
func (r *Reader) fill() (more bool, err error) {
	var chunk [4096]byte
	n, err := r.f.ReadAt(chunk[:], r.offset+int64(len(r.buf)))
	r.buf = append(r.buf, chunk[:n]...)
	if n > 0 {
		return true, nil
	}
	if err != nil && err != io.EOF {
		return false, err
	}
	// End of this file: move on only once the writer has rotated past it
	// and no partial record is left.
	if r.index >= r.current() || len(r.buf) != 0 {
		return false, nil
	}
	// Re-check after the rotation is visible: the writer may have
	// appended before rotating.
	if n2, _ := r.f.ReadAt(chunk[:1], r.offset); n2 > 0 {
		return true, nil
	}
	r.Close()
	r.index, r.offset = r.index+1, 0
	return true, nil
}

// Commit consumes a record of n bytes returned by Next.
func (r *Reader) Commit(n int) {
	r.buf = r.buf[min(n, len(r.buf)):]
	r.offset += int64(n)
}

// Peek returns the complete record that starts skip bytes after the next
// uncommitted one (skip: the lengths of the records returned before it)
// and its length, reading ahead in the current file if need be; false
// when none is there yet, or when it is garbage (Next returns that). It
// lets a caller take a run of records and commit them as it is done with
// each.
func (r *Reader) Peek(skip int) (string, int, bool) {
	for tries := 0; skip <= len(r.buf); tries++ {
		rest := r.buf[skip:]
		if i := bytes.IndexByte(rest, '\n'); i >= 0 && i < MaxLine {
			return string(rest[:i]), i + 1, true
		} else if i >= 0 || len(rest) >= MaxLine || r.f == nil || tries > 0 {
			return "", 0, false
		}
		if more, err := r.fill(); err != nil || !more {
			return "", 0, false
		}
	}
	return "", 0, false
}
