//go:build linux

package tmpfile

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// probe creates an unnamed file in root and links it to a probe name with
// mode m, then removes it: true if both worked.
func (d *Dir) probe(root string, m int) bool {
	fd, err := unix.Open(root, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, uint32(d.perm))
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	name := filepath.Join(root, ".tmpfile-probe-"+randomPart())
	if linkFD(fd, name, m) != nil {
		return false
	}
	return os.Remove(name) == nil
}

// createUnnamed opens a new file without a name in dir (O_TMPFILE).
func (d *Dir) createUnnamed(dir string) (*File, error) {
	for {
		fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, uint32(d.perm))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
		}
		return d.wrap(fd, filepath.Join(dir, "(unnamed)"), "")
	}
}

// linkFD gives the unnamed file fd the name path, the way mode says.
func linkFD(fd int, path string, mode int) error {
	var err error
	for {
		if mode == modeEmptyPath {
			err = unix.Linkat(fd, "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
		} else {
			err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
		}
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: "(unnamed)", New: path, Err: err}
	}
	return nil
}

// renameNoReplace is renameat2(RENAME_NOREPLACE); errNoRenameNoReplace
// where the file system lacks it.
func renameNoReplace(temp, path string) error {
	err := unix.Renameat2(unix.AT_FDCWD, temp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		return errNoRenameNoReplace
	}
	return err
}
