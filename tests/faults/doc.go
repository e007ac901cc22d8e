// Package faults runs the real fdfs binary (built once per package run)
// as tracker, storage and gateway processes and injects faults: kill -9
// of a storage in the middle of concurrent uploads (TestStorageKill9), kill -9
// of the tracker in the middle of uploads and appends (TestTrackerKill9),
// floods of idle and slowloris connections on the tracker, storage and
// storage HTTP ports with max_connections 64 (TestConnectionFloods),
// kill -9 of the gateway in the middle of gRPC and REST uploads and
// downloads (TestGatewayKill9), hostile input on every listener
// (TestHostileInput) and the HTTP/2 rapid reset attack on the gateway
// (TestRapidReset).
// The kill tests count what the clients saw (acknowledged, failed-but-retried)
// and then checks the servers' state against the acknowledged operations:
// lost and corrupt must be 0, on every storage of the group, byte for byte. docs/reliability.md
// ("Crashes: kill -9") gives the figures of a run.
//
// The daemons listen on 127.0.0.150–169 and 127.0.0.180–189, which no
// other package uses (the random addresses of devcluster.RandomIP are
// 127.1.0.0 and up):
// TestStorageKill9 on .150–152, TestTrackerKill9 on .153–155,
// TestConnectionFloods on .156 (tracker) and .157 (storage, HTTP on 8080)
// with its floods dialed from .158, TestHostileInput on .180–182 (tracker,
// storage with HTTP on 8080, gateway), TestRapidReset on .183–185 and .188
// (a gateway with TLS), TestGatewayKill9 on .186, .187 and .189, so they
// cannot collide even if run at the same time; they do not call t.Parallel
// and run one after the other.
// TestConnectionFloods counts what its well-behaved client saw and checks
// that max_connections is honoured, that service resumes once the servers
// drop the flood, and a generous VmRSS bound; docs/reliability.md ("Floods
// of connections") gives the figures.
// TestHostileInput plants sentinel files beside the store path and checks
// that no answer carries them, that they are unchanged and that no file
// appears outside the store path; every hostile request must end in an
// error (FastDFS status, HTTP 4xx, gRPC code) or a closed connection.
// docs/reliability.md ("Hostile input") gives the figures of both.
//
// The disk and durability tests use 127.0.0.160–169. TestTornWrites
// (.160 tracker, .161–.162 storages) damages a storage's binlog and its
// sync mark as a crash or a power loss leaves them (half a record, zeros,
// garbage, an empty mark, a mark inside a record or past the binlog's end),
// restarts it and checks that its peer ends up with every acknowledged
// file. TestDiskFull (.163 tracker, .164–.165 storages of two groups) fills
// tmpfs store paths with concurrent small and large uploads: ENOSPC only,
// nothing partial on disk, the reserve kept, uploads placed where there is
// room, service back once space is freed, and a disk filled by another
// program mid-upload. TestStorePathLost (.166 tracker, .167 storage) turns
// a store path read-only and renames its directory away under the running
// storage, and back. The two disk tests mount tmpfs and skip without root.
// docs/reliability.md ("Disks", "Torn writes") gives the figures.
//
// The network tests put a fault-injecting TCP proxy (faultProxy: hold
// bytes one way or both, add latency, cap bandwidth, refuse or hang new
// connections or let their connects time out, pass half an answer and
// stall) on every link of a tracker and two storages in id mode, under
// uploads to both storages and reads routed by the tracker
// (QUERY_FETCH_ONE, then a download there). TestNetPartitions cuts
// storage 0's tracker link (both ways, beats lost, answers lost) and its
// links with its peer (both ways, one way, answers lost);
// TestNetSlowAndStuckPeers makes the peer slow (100 ms RTT, 128 KB/s),
// hung (accepts, never answers) and half-answering for the sync, then
// storage 0 hung and half-answering for clients. Each checks that no read
// routed by the tracker gets other bytes, or ENOENT beyond what a source
// OFFLINE at the tracker explains; that no end waits on a held connection
// for the whole fault; that the tracker turns a storage cut from it
// OFFLINE and both ACTIVE after the heal; and that both replicas end with
// every acknowledged file, byte for byte. docs/reliability.md ("Network
// faults") gives the figures. They use 127.0.0.170 (the tracker on an
// ephemeral port, the tracker links on 22122–22125), .171–.172 (the
// storages' own addresses) and .173–.174 (their public addresses, where
// the proxies listen), storage ports 23000 and 23001.
package faults
