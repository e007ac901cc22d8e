// Package trackernode is the FastDFS tracker server: it keeps the cluster
// map (groups, storages, their statuses, disk usage and sync progress) that
// storages report over the storage↔tracker protocol, answers client queries
// (where to upload, where to download, cluster listings) and persists the map
// under base_path/data in upstream's file names and formats.
//
// One mutex guards the whole map; every connection is served by its own
// goroutine, bounded by max_connections. Trackers learn each other from the
// storages' JOIN lines and elect a leader (leader.go, relationship.go),
// answering the tracker-to-tracker commands only to each other
// (peerauth.go); only the leader fills the change notifications of beat
// replies, and a new or long-stopped tracker copies the data files from a
// peer (sysfiles.go).
package trackernode
