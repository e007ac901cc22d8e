// Package faults runs the real fdfs binary (built once per package run)
// as tracker, storage and gateway processes and injects faults:
//   - TestStorageKill9: kill -9 of a storage in the middle of concurrent
//     small and 20 MB uploads (127.0.0.150–152).
//   - TestTrackerKill9: kill -9 of the only tracker in the middle of uploads
//     and appends (127.0.0.153–155).
//   - TestConnectionFloods: floods of idle and slowloris connections on the
//     tracker, storage and storage HTTP ports with max_connections 64
//     (tracker .156, storage .157 with HTTP on 8080, floods from .158).
//   - TestTornWrites: a storage's binlog and sync mark damaged as a crash or
//     a power loss leaves them (half a record, zeros, garbage, an empty mark,
//     a mark inside a record or past the binlog's end); its peer must end up
//     with every acknowledged file (tracker .160, storages .161–.162).
//   - TestDiskFull: tmpfs store paths filled by concurrent small and large
//     uploads: ENOSPC only, nothing partial on disk, the reserve kept,
//     uploads placed where there is room, service back once space is freed,
//     a disk filled by another program mid-upload (tracker .163, storages
//     .164–.165 of two groups).
//   - TestStorePathLost: a store path turned read-only and its directory
//     renamed away under the running storage, and back (tracker .166,
//     storage .167). The two disk tests mount tmpfs and skip without root.
//   - TestNetPartitions, TestNetSlowAndStuckPeers: a fault-injecting TCP
//     proxy (faultProxy: hold bytes one way or both, add latency, cap
//     bandwidth, refuse or hang new connections or let their connects time
//     out, pass half an answer and stall) on every link of a tracker and
//     two storages in id mode, under uploads and reads routed by the
//     tracker: storage 0's tracker link cut (both ways, beats lost, answers
//     lost), its peer links cut (both ways, one way, answers lost), the peer
//     slow, hung and half-answering for the sync, storage 0 hung and
//     half-answering for clients. No routed read gets other bytes, or
//     ENOENT beyond what a source OFFLINE at the tracker explains; no end
//     waits on a held connection for the whole fault (tracker .170 on an
//     ephemeral port with its links on 22122–22125, storages .171–.172,
//     their public addresses .173–.174 where the proxies listen, storage
//     ports 23000 and 23001).
//   - TestHostileInput: hostile input on every listener (framing, absurd
//     lengths, traversal in every encoding, forged tokens and keys) with
//     sentinel files beside the store path that no answer may carry
//     (tracker .180, storage .181 with HTTP on 8080, gateway .182).
//   - TestRapidReset: the HTTP/2 rapid reset attack on the gateway's gRPC
//     and TLS REST ports (.183–.185, .188).
//   - TestGatewayFloods: floods of idle, slowloris (HTTP/1.1 headers, the
//     HTTP/2 preface, TLS handshakes trickled; a preface without SETTINGS)
//     and stalled-upload connections (a REST body, a gRPC UploadFile
//     stream) on the gateway's gRPC and REST ports, cleartext and TLS,
//     while gRPC and REST clients upload and download (tracker .207,
//     storage .208, gateway .209, the TLS gateway on .208's ports 9090
//     and 8080; floods from .207).
//   - TestGatewayKill9: kill -9 of the gateway in the middle of gRPC and REST
//     uploads and downloads (.186, .187, .189).
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
//     storages restarted at another address and back, then a full check;
//     20 s, or FDFS_SOAK=<duration> (make soak) (trackers .200–.202,
//     storages .203–.206 and .213–.216).
//
// The kill tests and the soak count what the clients saw (acknowledged,
// failed-but-retried, landed despite the error) and then check the
// servers' state against the acknowledged operations, on every storage of
// the group, byte for byte and metadata too: lost, corrupt and deleted
// files served again must be 0, and no upload temp file may remain.
// TestConnectionFloods checks that max_connections is honoured, that
// service resumes once the servers drop the flood, and a generous VmRSS
// bound. docs/reliability.md gives the figures of runs of every test.
//
// The daemons listen on 127.0.0.150–219, which no other package uses (the
// random addresses of devcluster.RandomIP are 127.1.0.0 and up), each test
// on addresses of its own, so they cannot collide even if run at the same
// time; they do not call t.Parallel and run one after the other.
// FDFS_FAULTS_DIR=DIR keeps the daemons' data and logs under DIR for a
// post-mortem.
package faults
