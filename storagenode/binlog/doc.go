// Package binlog writes the storage server's change log in the upstream
// FastDFS format: <base>/data/sync/binlog.NNN, one record per line
// "<unix_ts> <op> <logical filename>[ <extra>]", with the current file index
// kept in binlog_index.dat. Sync threads of peer storages replay it.
package binlog
