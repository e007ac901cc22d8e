// Package client is the FastDFS client engine: it talks to trackers to
// locate storage servers and to storages to move file content, speaking the
// V6 wire protocol of package protocol.
//
// A Client keeps a bounded pool of idle connections per server address,
// checks pooled connections before reuse (a cheap liveness peek, plus an
// ACTIVE_TEST round trip for connections idle for long), and never returns
// a connection to the pool unless the last response was read completely.
// Tracker requests fail over to the next configured tracker on connection
// errors (not on FastDFS status errors such as ENOENT, which are answers).
//
// File content is streamed: uploads copy an io.Reader of known size
// straight to the socket (an *os.File goes out with sendfile) and downloads
// copy from the socket to an io.Writer, so no file is ever held in memory.
// Every I/O step runs under a deadline (Config.NetworkTimeout, tightened by
// the context's deadline) and a cancelled context aborts the step in
// progress by expiring the connection's deadline.
//
// Routing follows the upstream C client: uploads query the tracker with
// QUERY_STORE (101, or 104 with a group), reads (download, file info,
// get metadata) with QUERY_FETCH_ONE (102), and changes (delete, set
// metadata, append, modify, truncate, regenerate, slave upload) with
// QUERY_UPDATE (103) so that they reach the file's source storage.
//
// Errors are *OpError values naming the operation and file ID; they wrap
// *protocol.StatusError, so errors.Is(err, protocol.ErrNotFound) works.
package client
