// Package listing holds the end-to-end tests of file listing (the storages'
// file index, LIST_FILES, the group merge and page tokens) and of the
// scrubber (corrupt, truncated and deleted files found and repaired from a
// peer) on real in-process servers (tests/cluster).
package listing
