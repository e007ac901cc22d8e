//go:build !linux

package storagenode

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// readOnlyFS reports whether statfs says the file system is mounted
// read-only.
func readOnlyFS(sfs *unix.Statfs_t) bool { return sfs.Flags&unix.MNT_RDONLY != 0 }

// diskFaultErrnos are the errors of a disk failing to give data it holds,
// as on Linux but for EUCLEAN, which only Linux has.
var diskFaultErrnos = []syscall.Errno{syscall.EIO, syscall.ENXIO, syscall.ENODEV, syscall.ESTALE, syscall.ENOTCONN, syscall.EBADMSG}
