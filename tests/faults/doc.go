// Package faults runs the real fdfs binary (built once per package run)
// as tracker and storage processes and injects faults: kill -9 of a
// storage in the middle of concurrent uploads (TestStorageKill9), kill -9
// of the tracker in the middle of uploads and appends (TestTrackerKill9),
// floods of idle and slowloris connections on the tracker, storage and
// storage HTTP ports with max_connections 64 (TestConnectionFloods).
// The kill tests count what the clients saw (acknowledged, failed-but-retried)
// and then checks the servers' state against the acknowledged operations:
// lost and corrupt must be 0, on every storage of the group, byte for byte. docs/reliability.md
// ("Crashes: kill -9") gives the figures of a run.
//
// The daemons listen on 127.0.0.150–159, which no other package uses
// (the random addresses of devcluster.RandomIP are 127.1.0.0 and up):
// TestStorageKill9 on .150–152, TestTrackerKill9 on .153–155,
// TestConnectionFloods on .156 (tracker) and .157 (storage, HTTP on 8080)
// with its floods dialed from .158, so they cannot collide even if run at
// the same time; they do not call t.Parallel and run one after the other.
// TestConnectionFloods counts what its well-behaved client saw and checks
// that max_connections is honoured, that service resumes once the servers
// drop the flood, and a generous VmRSS bound; docs/reliability.md ("Floods
// of connections") gives the figures.
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
