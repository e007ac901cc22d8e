//go:build unix

package regfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is returned (wrapped, and matching fs.ErrNotExist) for a
// path that names something other than a regular file.
var ErrNotRegular = fmt.Errorf("not a regular file: %w", fs.ErrNotExist)

// Open opens path read-only and returns the file and its FileInfo, or
// ErrNotRegular (with the file closed) if it is not a regular file. A
// symbolic link to a regular file is followed.
//
// The file is opened with O_NONBLOCK, so that a FIFO planted in its place
// cannot block the caller in open(2) (os.Open would wait for a writer).
// The flag means nothing to regular files, and os.NewFile then makes one
// failed attempt to register the file with the poller: four syscalls in
// all (open, fcntl, epoll_ctl, fstat) against seven for os.Open and Stat.
func Open(path string) (*os.File, os.FileInfo, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	return f, fi, nil
}
