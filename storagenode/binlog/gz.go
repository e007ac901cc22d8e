package binlog

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// Upstream's storage gzips the binlog files every sync reader is done with
// (compress_binlog, on by default in the stock storage.conf: once a day
// at compress_binlog_time, binlog.NNN becomes binlog.NNN.gz by running
// gzip) and unpacks one again with gzip -d when a reader needs it: a peer
// back after a long outage, a new storage getting the group's old files.
// A storage that takes over such a data directory must read those files
// too, or the records in them (every file of that period) would never
// reach a new peer. Ours does both, in-process and crash-safely: the new
// form is written beside the old one, fsynced and renamed into place, and
// only then is the old form removed, so a crash leaves at least one whole
// copy (possibly both: the plain file is then the one read).

// GzSuffix is the suffix of a compressed binlog file, as gzip names it.
const GzSuffix = ".gz"

// gzMu serializes packing and unpacking: they are rare (once a day, or when
// a reader goes back in time), and a reader unpacking a file the compressor
// is packing must see one of the two whole.
var gzMu sync.Mutex

// OpenFile opens the binlog file at path for reading. When only path.gz is
// there, it is unpacked first, as upstream's reader does.
func OpenFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	if uerr := Unpack(path); uerr != nil {
		if errors.Is(uerr, fs.ErrNotExist) {
			return nil, err // neither form: the file's own error
		}
		return nil, uerr
	}
	return os.Open(path)
}

// OpenStream opens the binlog file at path for one reading from its
// start: path itself, else path.gz read through gzip without unpacking it.
func OpenStream(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	zf, zerr := os.Open(path + GzSuffix)
	if zerr != nil {
		return nil, err // neither form: the file's own error
	}
	zr, zerr := gzip.NewReader(zf)
	if zerr != nil {
		zf.Close()
		return nil, fmt.Errorf("binlog: %s%s: %w", path, GzSuffix, zerr)
	}
	return gzStream{zr, zf}, nil
}

// gzStream is a gzipped file read through gzip; Close closes both.
type gzStream struct {
	*gzip.Reader
	f *os.File
}

func (s gzStream) Close() error {
	err := s.Reader.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Unpack replaces path.gz by path, the binlog file it holds. It does
// nothing when path is already there; the error wraps fs.ErrNotExist when
// neither is.
func Unpack(path string) error {
	gzMu.Lock()
	defer gzMu.Unlock()
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	zf, err := os.Open(path + GzSuffix)
	if err != nil {
		return err
	}
	defer zf.Close()
	zr, err := gzip.NewReader(zf)
	if err != nil {
		return fmt.Errorf("binlog: %s%s: %w", path, GzSuffix, err)
	}
	err = atomicfile.Write(path, 0o644, func(w io.Writer) error {
		if _, err := io.Copy(w, zr); err != nil {
			return fmt.Errorf("binlog: unpacking %s%s: %w", path, GzSuffix, err)
		}
		return zr.Close()
	})
	if err != nil {
		return err
	}
	return os.Remove(path + GzSuffix)
}

// Pack replaces the binlog file at path by path.gz (gzip's format, which
// upstream's gzip -d reads). A reader with path open keeps reading it.
func Pack(path string) error {
	gzMu.Lock()
	defer gzMu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = atomicfile.Write(path+GzSuffix, 0o644, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		if _, err := io.Copy(zw, f); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("binlog: packing %s: %w", path, err)
	}
	return os.Remove(path)
}

// Size is the size in bytes of binlog file index of dir, packed or not (a
// packed file's size is its gzip trailer's: binlog files stay under 4
// GiB); 0 when it is in neither form.
func Size(dir string, index int) int64 {
	path := Path(dir, index)
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	f, err := os.Open(path + GzSuffix)
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < 4 {
		return 0
	}
	var isize [4]byte
	if _, err := f.ReadAt(isize[:], fi.Size()-4); err != nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(isize[:]))
}
