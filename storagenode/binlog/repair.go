package binlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// scanChunk is how much of a binlog file is read at a time when looking
// for a record boundary (bytes).
const scanChunk = 64 << 10

// Repair says what Open cut from the end of the binlog file it continues:
// the bytes after the last complete record (a half-written line, or the
// zeros a power loss leaves in a file whose size reached the disk before
// its data). They are kept in SavedTo for inspection.
type Repair struct {
	File    string
	Offset  int64 // where the cut bytes began; the file's new size
	Bytes   int64
	SavedTo string
}

func (r *Repair) String() string {
	return fmt.Sprintf("cut %d bytes after the last complete record of %s at offset %d (saved to %s)", r.Bytes, r.File, r.Offset, r.SavedTo)
}

// repairTail truncates path after its last newline, so that the next
// record does not continue a torn one, and saves the cut bytes beside it
// as <path>.torn.<unix nanoseconds>. nil when the file ends with a whole
// record (or is empty or absent).
func repairTail(path string) (*Repair, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end, err := RecordEnd(f, st.Size())
	if err != nil || end == st.Size() {
		return nil, err
	}
	rep := &Repair{File: path, Offset: end, Bytes: st.Size() - end,
		SavedTo: fmt.Sprintf("%s.torn.%d", path, time.Now().UnixNano())}
	err = atomicfile.Write(rep.SavedTo, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, io.NewSectionReader(f, end, rep.Bytes))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("binlog: saving the torn tail of %s: %w", path, err)
	}
	if err := f.Truncate(end); err != nil {
		return nil, fmt.Errorf("binlog: cutting the torn tail of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return rep, nil
}

// RecordEnd returns the offset just past the last newline before limit
// in f (0 if there is none): where the record holding byte limit-1
// begins, or limit itself when a record ends there.
func RecordEnd(f io.ReaderAt, limit int64) (int64, error) {
	buf := make([]byte, scanChunk)
	for hi := limit; hi > 0; {
		lo := max(0, hi-scanChunk)
		n, err := f.ReadAt(buf[:hi-lo], lo)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return lo + int64(i) + 1, nil
		}
		hi = lo
	}
	return 0, nil
}

// Pos is a position in a binlog: file binlog.<Index>, byte Offset.
type Pos struct {
	Index  int
	Offset int64
}

// Align returns a position in the binlog of dir from which a reader sees
// every record at or after p and starts at a record boundary, p being a
// position a mark file held before this run of the writer, which appends
// to file current and found the binlog ending at opened. A mark is
// fsynced, the binlog's tail may not be: after a power loss a mark can be
// past the end of the binlog, and p is then moved back to opened (the
// records this run wrote from there on were never sent). A position in a
// file the writer has left and past its end moves to the start of the
// next file; one inside a record (a damaged mark) back to the start of
// that record, which is read again. why is "" when p is fine as it is.
func Align(dir string, current int, opened, p Pos) (Pos, string, error) {
	if p.Index > current || p.Index == opened.Index && p.Offset > opened.Offset {
		return opened, fmt.Sprintf("%d/%d is past the end of the binlog at start (%d/%d)", p.Index, p.Offset, opened.Index, opened.Offset), nil
	}
	f, err := os.Open(Path(dir, p.Index))
	if errors.Is(err, fs.ErrNotExist) {
		return p, "", nil // the reader moves past a missing file
	}
	if err != nil {
		return p, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return p, "", err
	}
	name := filepath.Base(f.Name())
	switch {
	case p.Offset > st.Size() && p.Index < current:
		return Pos{p.Index + 1, 0}, fmt.Sprintf("offset %d is past the end (%d) of %s", p.Offset, st.Size(), name), nil
	case p.Offset > st.Size():
		return Pos{p.Index, st.Size()}, fmt.Sprintf("offset %d is past the end (%d) of %s", p.Offset, st.Size(), name), nil
	case p.Offset == 0:
		return p, "", nil
	}
	start, err := RecordEnd(f, p.Offset)
	if err != nil || start == p.Offset {
		return p, "", err
	}
	return Pos{p.Index, start}, fmt.Sprintf("offset %d of %s is inside a record that begins at %d", p.Offset, name, start), nil
}
