// Package trackernode is the FastDFS tracker server: it keeps the cluster
// map (groups, storages, their statuses, disk usage and sync progress) that
// storages report over the storage↔tracker protocol, answers client queries
// (where to upload, where to download, cluster listings) and persists the map
// under base_path/data in upstream's file names and formats.
//
// One mutex guards the whole map; every connection is served by its own
// goroutine, bounded by max_connections. A single tracker is its own leader:
// it fills the change notifications of beat replies the way the upstream
// leader does. Multi-tracker leader election is not implemented yet; the
// leader identity is kept in one place (Server.leaderAddr) for it.
package trackernode
