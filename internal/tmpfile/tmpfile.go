//go:build unix

package tmpfile

import (
	"bufio"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// How a Dir's files get their names.
const (
	modeNamed     = iota // named temporary file, renamed into place
	modeEmptyPath        // O_TMPFILE, linkat(fd, "", AT_EMPTY_PATH)
	modeProcLink         // O_TMPFILE, linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW)
)

// Dir makes files under one directory tree (one file system), in the way
// New found that file system and this process's privileges allow.
type Dir struct {
	pattern string // named temporary files: its last "*" is replaced by a random string
	perm    os.FileMode
	chmod   bool // the umask takes bits of perm away: set them with fchmod
	mode    int
}

// New probes the file system of root (an existing, writable directory) and
// returns a Dir whose files are created with exactly perm (whatever the
// umask) and, where they must be named, named by pattern (as
// os.CreateTemp's). Unnamed files need O_TMPFILE and one of the two ways to
// link them: linkat(AT_EMPTY_PATH), open to a process with
// CAP_DAC_READ_SEARCH (and to any on recent kernels), or /proc/self/fd.
func New(root, pattern string, perm os.FileMode) *Dir {
	d := &Dir{pattern: pattern, perm: perm.Perm(), chmod: umaskTakes(perm.Perm())}
	for _, m := range []int{modeEmptyPath, modeProcLink} {
		if d.probe(root, m) {
			d.mode = m
			break
		}
	}
	return d
}

// Named returns a Dir that always uses named temporary files (for file
// systems known to lack O_TMPFILE, and for tests of that path).
func Named(pattern string, perm os.FileMode) *Dir {
	return &Dir{pattern: pattern, perm: perm.Perm(), chmod: umaskTakes(perm.Perm())}
}

// Mode says how the files get their names, for logs.
func (d *Dir) Mode() string {
	switch d.mode {
	case modeEmptyPath:
		return "unnamed (O_TMPFILE, linkat AT_EMPTY_PATH)"
	case modeProcLink:
		return "unnamed (O_TMPFILE, linkat /proc/self/fd)"
	}
	return "named temporary files"
}

// File is a file being written under a Dir. It has no name, or a
// temporary one, until Link or Replace places it. It is its descriptor
// alone, not an *os.File, whose making costs a fcntl.
type File struct {
	fd   int // -1 once closed
	name string
	d    *Dir
	temp string // the temporary name while it has one
}

// Create makes a new file in dir (inside the tree the Dir was made for),
// open for writing.
func (d *Dir) Create(dir string) (*File, error) {
	if d.mode == modeNamed {
		return d.createNamed(dir)
	}
	return d.createUnnamed(dir)
}

// createNamed creates a temporary file named by the pattern in dir.
func (d *Dir) createNamed(dir string) (*File, error) {
	fd, name, err := openTemp(dir, d.pattern, d.perm)
	if err != nil {
		return nil, err
	}
	return d.wrap(fd, name, name)
}

// CreateTemp creates a new file in dir for writing, named by pattern with
// its last "*" replaced by a random string (as os.CreateTemp), with mode
// perm before the umask, for a caller that removes it itself. Unlike
// os.CreateTemp it opens the file in blocking mode, so the *os.File is
// never offered to the network poller: one fcntl instead of four and a
// failing epoll_ctl.
func CreateTemp(dir, pattern string, perm os.FileMode) (*os.File, error) {
	fd, name, err := openTemp(dir, pattern, perm)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// openTemp creates and opens a new file named by pattern in dir.
func openTemp(dir, pattern string, perm os.FileMode) (int, string, error) {
	prefix, suffix := pattern, ""
	if i := strings.LastIndexByte(pattern, '*'); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+randomPart()+suffix)
		fd, err := unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, uint32(perm.Perm()))
		switch {
		case err == nil:
			return fd, name, nil
		case err == unix.EINTR, err == unix.EEXIST && try < 10000:
			continue
		}
		return -1, "", &os.PathError{Op: "createtemp", Path: name, Err: err}
	}
}

func (d *Dir) wrap(fd int, name, temp string) (*File, error) {
	if d.chmod {
		if err := unix.Fchmod(fd, uint32(d.perm)); err != nil {
			unix.Close(fd)
			if temp != "" {
				os.Remove(temp)
			}
			return nil, &os.PathError{Op: "chmod", Path: name, Err: err}
		}
	}
	return &File{fd: fd, name: name, d: d, temp: temp}, nil
}

// Name is the file's temporary name, or its directory and "(unnamed)".
func (f *File) Name() string { return f.name }

// Write writes all of p (io.Writer).
func (f *File) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(f.fd, p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: f.name, Err: err}
		}
		n += m
	}
	return n, nil
}

// Sync flushes the file's content to the disk (fsync).
func (f *File) Sync() error {
	if err := unix.Fsync(f.fd); err != nil {
		return &os.PathError{Op: "fsync", Path: f.name, Err: err}
	}
	return nil
}

// Truncate sets the file's size to size bytes (a sparse extension when it
// grows: no blocks are written).
func (f *File) Truncate(size int64) error {
	for {
		err := unix.Ftruncate(f.fd, size)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "ftruncate", Path: f.name, Err: err}
		}
		return nil
	}
}

// ModTime is the file's modification time: when it was last written.
func (f *File) ModTime() (time.Time, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return time.Time{}, &os.PathError{Op: "fstat", Path: f.name, Err: err}
	}
	return time.Unix(st.Mtim.Unix()), nil
}

// Link gives the file the name path, which must not exist: an error
// matching fs.ErrExist if it does, and the file keeps no name then.
func (f *File) Link(path string) error {
	if f.d.mode == modeNamed {
		if err := RenameNoReplace(f.temp, path); err != nil {
			return err
		}
		f.temp, f.name = "", path
		return nil
	}
	if err := linkFD(f.fd, path, f.d.mode); err != nil {
		return err
	}
	f.name = path
	return nil
}

// Replace gives the file the name path, replacing what path names. An
// unnamed file gets a temporary name first: rename is the only atomic
// replacement.
func (f *File) Replace(path string) error {
	if f.d.mode != modeNamed {
		for try := 0; f.temp == ""; try++ {
			temp := filepath.Join(filepath.Dir(path), strings.Replace(f.d.pattern, "*", randomPart(), 1))
			err := linkFD(f.fd, temp, f.d.mode)
			if err == nil {
				f.temp = temp
			} else if !errors.Is(err, fs.ErrExist) || try >= 100 {
				return err
			}
		}
	}
	if err := os.Rename(f.temp, path); err != nil {
		return err
	}
	f.temp, f.name = "", path
	return nil
}

// Close closes the file and removes its temporary name if it still has
// one: a file never placed leaves nothing behind.
func (f *File) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if f.temp != "" {
		os.Remove(f.temp)
		f.temp = ""
	}
	return err
}

// errNoRenameNoReplace is renameNoReplace's answer where the system or the
// file system cannot rename without replacing.
var errNoRenameNoReplace = errors.New("tmpfile: no rename without replace")

// RenameNoReplace moves temp to path unless path exists (fs.ErrExist then).
// One renameat2(RENAME_NOREPLACE) where there is one; elsewhere a link and
// an unlink, which give the same guarantee.
func RenameNoReplace(temp, path string) error {
	err := renameNoReplace(temp, path)
	if err != errNoRenameNoReplace {
		if err != nil {
			return &os.LinkError{Op: "rename", Old: temp, New: path, Err: err}
		}
		return nil
	}
	if err := os.Link(temp, path); err != nil {
		return err
	}
	os.Remove(temp)
	return nil
}

// umaskTakes reports whether this process's umask clears bits of perm, read
// from /proc (umask(2) can only be read by setting it, a race with every
// other goroutine creating files); true when it cannot be read.
func umaskTakes(perm os.FileMode) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return err != nil || os.FileMode(mask)&perm != 0
		}
	}
	return true
}

// randomPart is the random middle of a temporary name.
func randomPart() string { return strconv.FormatUint(rand.Uint64(), 36) }
