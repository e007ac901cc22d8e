// Package multitracker tests clusters with several trackers: leader
// election over the tracker-to-tracker commands, storages reporting to
// every tracker, client failover when the leader dies, re-election, and a
// restarted tracker rejoining as a follower with its persisted state.
// Everything runs in-process on loopback addresses with real TCP.
package multitracker
