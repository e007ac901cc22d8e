// Package atomicfile replaces files so that after a crash or power loss a
// reader finds either the old content or the new one, whole: the data goes
// to a temp file in the same directory, the temp file is fsynced, renamed
// over the target, and the directory is fsynced so the rename itself is on
// disk. It is the one way the servers write state files (binlog index, mark
// files, cluster state, sync marks) and the CLI writes downloads.
package atomicfile
