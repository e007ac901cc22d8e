// Package binlog is the storage server's change log in the upstream
// FastDFS format: <base>/data/sync/binlog.NNN, one record per line
// "<unix_ts> <op> <logical filename>[ <extra>]", with the current file index
// kept in binlog_index.dat.
//
// Writer appends records (and rotates at MaxFileSize); Reader reads them
// back for the sync workers of peer storages, following the rotation;
// Parse and Format convert between a line and a Record; Op is the
// operation letter, upper case for a change made here and lower case for
// one replayed from a peer. Files done with may be gzipped (Pack,
// binlog.NNN.gz, as upstream's compress_binlog leaves them): a Reader
// unpacks one it comes to (OpenFile), EachRecord reads it through gzip.
//
// Torn writes (a crash or a power loss in the middle of an append) are
// survived: Open cuts what follows the last complete record and keeps it
// aside (Repaired), the Reader hands back bytes that cannot be a record as
// Garbage instead of stopping at them, and Align moves a saved reader
// position that is past the binlog's end or inside a record to where no
// record is missed.
package binlog
