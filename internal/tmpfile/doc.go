// Package tmpfile writes new files that get their final name only once
// they are whole, so that no reader and no crash ever sees a partial file
// under that name.
//
// Where the file system allows it (ext4, xfs, btrfs, tmpfs) the file is
// created without a name (open with O_TMPFILE) and linked into place with
// linkat, which fails if the name is taken: one directory entry is made,
// none removed, and a process or machine that dies mid-write leaves
// nothing behind (the kernel frees an unnamed inode with its last
// descriptor; ext4 replays its orphan list after a power cut). Elsewhere
// it falls back to a named temporary file placed with
// renameat2(RENAME_NOREPLACE) (a link and an unlink where there is none:
// other systems than Linux, whose files are all named this way), whose
// leftovers the caller must sweep.
// CreateTemp makes such a named temporary file for a caller that uses and
// removes it itself (a storage's staged appends).
//
// On a 5 KB file on ext4 the unnamed way costs 8.8 µs of CPU against
// 10.5 µs for a named temporary and a rename (create, write, place; see
// BenchmarkCreate).
package tmpfile
