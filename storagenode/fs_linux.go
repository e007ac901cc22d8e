package storagenode

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// readOnlyFS reports whether statfs says the file system is mounted
// read-only.
func readOnlyFS(sfs *unix.Statfs_t) bool { return sfs.Flags&unix.ST_RDONLY != 0 }

// diskFaultErrnos are the errors of a disk failing to give data it holds:
// an I/O error, a device gone, a stale or disconnected network mount, or
// a file system that found itself corrupt (ext4: EUCLEAN, and EBADMSG for
// a bad checksum).
var diskFaultErrnos = []syscall.Errno{syscall.EIO, syscall.ENXIO, syscall.ENODEV, syscall.ESTALE, syscall.ENOTCONN, syscall.EUCLEAN, syscall.EBADMSG}
