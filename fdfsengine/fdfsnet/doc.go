// Package fdfsnet is one TCP connection speaking the FastDFS protocol, as
// its client side: the engine's client uses it towards trackers and
// storages, and the servers use it for their own outbound calls (a storage
// to its trackers and to its peers), so there is one way to dial, one
// deadline discipline and one way to tell an answer from a broken
// connection.
//
// A Conn serves one exchange at a time. A context bound to it (Bind)
// aborts blocked I/O when it ends; every I/O step has a deadline of the
// network timeout, or the context's deadline if that comes first, so no
// call hangs. A non-zero status in a reply is a *protocol.StatusError and
// leaves the connection usable (Clean); any other error means the
// connection is out of step and must be closed.
package fdfsnet
