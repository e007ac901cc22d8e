// Package pidfile is upstream's process control by pid file
// (libfastcommon's process_ctrl): base_path/data/fdfs_trackerd.pid or
// fdfs_storaged.pid holds the running daemon's pid; a start refuses while
// the daemon it names runs, `stop` sends it SIGTERM and waits for it to
// exit (SIGKILL after 30 s, as upstream), `status` says whether it runs,
// and the daemon removes the file when it exits. Unlike upstream's, a pid
// file whose pid another program has taken since (a crash, then pid
// reuse) is seen as stale by all three: that program is not signalled.
package pidfile
