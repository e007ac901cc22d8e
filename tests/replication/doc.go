// Package replication holds the end-to-end tests of storage-to-storage
// replication and disk recovery on real in-process servers (tests/cluster):
// every file on every storage of a group, catch-up after an abrupt stop, the
// full sync of a new storage, recovery of a wiped store path and reads
// routed by the tracker right after an upload.
package replication
