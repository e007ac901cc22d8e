// Package mounts tells whether a directory's file system, as /etc/fstab
// lists it, is mounted now. A storage started while the disk of one of its
// store paths failed to mount (an fstab entry with nofail, a dead disk)
// would otherwise take the empty mount point on the root file system for
// a wiped store path: create its data directories there and refill it
// from its peers onto the root disk.
package mounts
