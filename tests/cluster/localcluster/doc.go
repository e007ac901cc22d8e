// Package localcluster runs a whole FastDFS cluster — one tracker and any
// number of storage servers in one or more groups — inside the current
// process, each server on its own 127.x.y.z loopback address so that the
// classic IP mode (where a storage is known by its IP) works unchanged.
//
// Every server is configured the way a real deployment is: localcluster
// writes upstream-format tracker.conf, storageN.conf, client.conf (and, in
// storage-id mode, storage_ids.conf) and loads them with fdfsengine/conf, so
// the files can be reused with the C tools or `fdfs --config`. It backs both
// `fdfs dev` and the test harness in tests/cluster.
package localcluster
