// Package faults runs the real fdfs binary (built once per package run)
// as tracker and storage processes and injects faults:
//   - TestStorageKill9: kill -9 of a storage in the middle of concurrent
//     small and 20 MB uploads (127.0.0.150–152).
//   - TestTrackerKill9: kill -9 of the only tracker in the middle of uploads
//     and appends (127.0.0.153–155).
//   - TestConnectionFloods: floods of idle and slowloris connections on the
//     tracker, storage and storage HTTP ports with max_connections 64
//     (tracker .156, storage .157 with HTTP on 8080, floods from .158).
//   - TestTrackerLeaderKill9: kill -9 of the tracker leader among three,
//     six times under uploads: a new leader, uploads go on, the old one
//     follows (trackers .190–.192, storages .193–.194).
//   - TestStorageKill9Mutations: kill -9 of a random storage of three,
//     twenty times, in the middle of appends, modifies, truncates, deletes
//     and metadata overwrites and merges sent to each file's source; every
//     failed operation is settled on every storage before the next
//     (tracker .195, storages .196–.198).
//   - TestSoak: 2 groups of 2 storages and 2 trackers (3 in a long run)
//     under mixed load (uploads small and large, slaves, appender changes,
//     metadata, whole and ranged downloads, deletes under a cap of content
//     kept) with kill -9 and SIGTERM restarts of storages and trackers,
//     then a full check; 20 s, or FDFS_SOAK=<duration> (make soak)
//     (trackers .200–.202, storages .203–.206).
//
// The kill tests and the soak count what the clients saw (acknowledged,
// failed-but-retried, landed despite the error) and then check the
// servers' state against the acknowledged operations, on every storage of
// the group, byte for byte and metadata too: lost, corrupt and deleted
// files served again must be 0, and no upload temp file may remain.
// TestConnectionFloods checks that max_connections is honoured, that
// service resumes once the servers drop the flood, and a generous VmRSS
// bound. docs/reliability.md ("Crashes: kill -9", "Floods of
// connections", "Soak") gives the figures of runs.
//
// The daemons listen on 127.0.0.150–159 and 127.0.0.190–219, which no
// other package uses (the random addresses of devcluster.RandomIP are
// 127.1.0.0 and up), each test on addresses of its own, so they cannot
// collide even if run at the same time; they do not call t.Parallel and
// run one after the other. FDFS_FAULTS_DIR=DIR keeps the daemons' data and
// logs under DIR for a post-mortem.
package faults
