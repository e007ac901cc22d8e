package binlog

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// MaxFileSize is the size at which the writer moves to the next
// binlog.NNN file, as upstream (1 GiB).
const MaxFileSize = 1 << 30

// IndexFile is the name of the file holding the current binlog index.
const IndexFile = "binlog_index.dat"

// Writer appends records to <dir>/binlog.NNN. Each Write reaches the
// operating system before it returns (no user-space buffering), so a
// record is durable against a process crash once the client got its reply.
type Writer struct {
	mu      sync.Mutex
	dir     string
	index   int
	f       *os.File
	size    int64
	maxSize int64
	packed  int     // current_compress: the files before it were gzipped (gz.go)
	lastTS  int64   // timestamp of the last record written since Open, 0 = none
	dirty   bool    // written since the last fsync
	repair  *Repair // what Open cut from the current file, nil if nothing
	opened  Pos     // where the binlog ended when Open found it
}

// Open opens (creating dir if needed) the binlog in dir, usually
// <base_path>/data/sync, continuing the file named by binlog_index.dat.
// Bytes after the last complete record of that file (a torn write) are
// cut first, so that the next record does not continue them; Repaired
// says what was cut.
func Open(dir string) (*Writer, error) {
	return open(dir, MaxFileSize)
}

func open(dir string, maxSize int64) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, maxSize: maxSize}
	idx, packed, err := readIndex(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, err
	}
	w.index, w.packed = idx, packed
	if w.repair, err = repairTail(w.Path(idx)); err != nil {
		return nil, err
	}
	if err := w.openCurrent(); err != nil {
		return nil, err
	}
	w.opened = Pos{w.index, w.size}
	return w, nil
}

// readIndex returns current_write and current_compress from the index
// file, 0 for one that is absent. An unreadable current_compress is taken
// as 0: it only says where the daily packing may start looking.
func readIndex(path string) (write, packed int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		n, nerr := strconv.Atoi(strings.TrimSpace(v))
		switch strings.TrimSpace(k) {
		case "current_write":
			if nerr != nil || n < 0 || n > 999 {
				return 0, 0, fmt.Errorf("binlog: %s line %d: bad current_write %q", path, line, v)
			}
			write = n
		case "current_compress":
			if nerr == nil && n >= 0 {
				packed = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		// A line past the scanner's limit: garbage, named with its file.
		return 0, 0, fmt.Errorf("binlog: reading %s: %w", path, err)
	}
	return write, min(packed, write), nil
}

// Path returns the path of binlog file number index in dir.
func Path(dir string, index int) string {
	return filepath.Join(dir, fmt.Sprintf("binlog.%03d", index))
}

// Path returns the path of binlog file number index.
func (w *Writer) Path(index int) string { return Path(w.dir, index) }

// Repaired returns what Open cut from the end of the binlog, nil if it
// ended with a complete record.
func (w *Writer) Repaired() *Repair { return w.repair }

// Opened returns where the binlog ended when Open found it (after the
// repair): the records from there on were written by this writer.
func (w *Writer) Opened() Pos { return w.opened }

// Index returns the number of the file currently written.
func (w *Writer) Index() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index
}

func (w *Writer) openCurrent() error {
	f, err := os.OpenFile(w.Path(w.index), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, st.Size()
	return w.writeIndex()
}

// writeIndex replaces binlog_index.dat crash-safely (temp file, fsync,
// rename, fsync of the directory): after a crash the index names either
// the old file or the new one, never nothing.
func (w *Writer) writeIndex() error {
	data := fmt.Appendf(nil, "current_write=%d\ncurrent_compress=%d\n", w.index, w.packed)
	return atomicfile.WriteFile(filepath.Join(w.dir, IndexFile), data, 0o644)
}

// Write appends one record. extra is "" or the op-specific trailing fields
// (see the Op constants).
func (w *Writer) Write(ts int64, op Op, name, extra string) error {
	line := Format(ts, op, name, extra) + "\n"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("binlog: closed")
	}
	if w.size > 0 && w.size+int64(len(line)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.WriteString(line)
	w.size += int64(n)
	w.dirty = w.dirty || n > 0
	if err == nil {
		w.lastTS = ts
	}
	return err
}

// Packed returns current_compress: the files before it have been
// gzipped (some may have been unpacked since, as upstream counts it).
func (w *Writer) Packed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packed
}

// SetPacked records that the files before index have been gzipped, in the
// index file too (upstream's storage reads it there after a rollback).
func (w *Writer) SetPacked(index int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if index == w.packed || index > w.index {
		return nil
	}
	w.packed = index
	return w.writeIndex()
}

// Stat returns the number of the file being written, its size in bytes
// and the timestamp (unix seconds) of the last record written since Open,
// 0 when none was.
func (w *Writer) Stat() (index int, size, lastTS int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index, w.size, w.lastTS
}

// rotate moves to the next file; the one left is fsynced first, since
// Sync only covers the current file.
func (w *Writer) rotate() error {
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	w.index++
	return w.openCurrent()
}

// Sync flushes the records written so far to stable storage; it does
// nothing when nothing was written since the last one (so a writer whose
// record another caller's Sync covered does not fsync again).
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil || !w.dirty {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.dirty = false
	return nil
}

// Dirty reports whether records were written since the last fsync.
func (w *Writer) Dirty() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirty
}

// Close syncs and closes the current file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
