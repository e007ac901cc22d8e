// Package storagenode is the FastDFS storage server: it keeps files under
// the store paths in the upstream on-disk layout (store_pathN/data/HH/LL),
// answers the client commands of the V6 protocol (upload, download, delete,
// metadata, file info, appender operations), records every local change in
// the upstream binlog format and reports itself to every configured tracker
// (join, beats with real counters, disk usage).
//
// File payloads are streamed between the socket and a temporary file in the
// target directory through a buffer of buff_size bytes, then renamed into
// place, so memory use does not grow with file size and an interrupted
// upload leaves nothing behind. Every file name arriving from the network is
// validated with fileid.Parse and Check before it is turned into a path.
//
// Replication (sync_*.go) follows upstream: one worker per peer of the group,
// started and stopped from the membership lists of the trackers' beat
// replies, replays the binlog on the peer from a per-peer mark file
// (data/sync/<ip>_<port>.mark, or <id>.mark in id mode). A storage joining
// a group gets the old files from the source the tracker picked, which
// reports it SYNCING and then OFFLINE so it becomes ACTIVE. The receiving
// side applies the sync commands crash-safely, logs them as replica
// (lower-case) binlog records and reports per-source sync timestamps
// (SYNC_REPORT) for the trackers' read routing. A record the peer refuses
// for now is deferred (sync_defer.go). The position each answered record
// reached is written past the mark (sync_progress.go), so a storage that
// died sends nothing again; a create sent again after a power loss whose
// file the peer has deleted since is not sent (sync_gaps.go). A
// peer's copy or delete of a metadata file older than the change here is
// dropped, so crossing sets converge (sync_meta.go).
//
// Disk recovery (recovery.go): a store path found wiped at start-up while
// the storage had finished its initial sync is refilled from an ACTIVE peer
// (FETCH_ONE_PATH_BINLOG, then DOWNLOAD_FILE / GET_METADATA per file),
// resumably, while the trackers hold the storage in RECOVERY.
//
// A client's read of a file made by a peer a moment ago that has not
// reached this storage yet is answered from that peer (source_read.go),
// where upstream answers ENOENT. A store path whose disk goes or fails
// under the running storage is passed over by uploads, and reads of its
// files are asked of the group's other storages until it is back
// (pathhealth.go), or, a new disk mounted in its place, refilled from
// them as the storage runs (pathrefill.go).
//
// Beyond upstream (commands 120 and 121, which upstream answers with
// EINVAL): an index of the files held here, built by walking the store
// paths at start and kept current by every binlog record and recovered
// file, serves LIST_FILES pages (fileindex.go); a scrubber re-reads the
// files at scrub_bytes_per_second, checks normal files against the size
// and CRC32 of their names and repairs bad ones from a verified peer copy
// without ever overwriting a healthy file (scrub.go), then fetches the
// files its peers hold that never reached it (scrub_peers.go).
package storagenode
