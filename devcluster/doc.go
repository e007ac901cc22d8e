// Package devcluster runs a whole FastDFS cluster — one tracker and any
// number of storage servers in one or more groups — inside the current
// process, each server on its own 127.x.y.z loopback address so that the
// classic IP mode (where a storage is known by its IP) works unchanged.
//
// It is the all-in-one cluster behind `fdfs dev` and, through tests/cluster,
// the harness of the cluster-level tests. It lives outside tests/ because the
// fdfs binary links it, and production code imports no test code (see
// tests/layering).
//
// Every server is configured the way a real deployment is: devcluster
// writes upstream-format tracker.conf, storageN.conf, client.conf (and, in
// storage-id mode, storage_ids.conf) and loads them with fdfsengine/conf, so
// the files can be reused with the C tools or `fdfs --config`.
package devcluster
