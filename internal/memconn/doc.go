// Package memconn connects a server and a client of the same process with
// in-memory, buffered, full-duplex net.Conns: the server serves a Listener
// as it would a TCP one and the client dials it, with no socket in
// between, so nothing outside the process can connect. The gateway uses it
// for the gRPC server behind its JSON routes, which must be reachable only
// through the HTTP middleware that authenticated the request.
//
// Unlike net.Pipe, each direction has a buffer of a fixed size: a write
// returns once its bytes are buffered rather than when the peer has read
// them. HTTP/2 (gRPC) needs that slack: each end writes frames while its
// peer is busy writing too, and with synchronous pipes every frame would be
// a hand-off between goroutines, or two ends waiting on each other's
// writes would stall.
//
// The connections behave like TCP ones where it matters to net/http and
// gRPC: read and write deadlines end blocked calls with an error whose
// Timeout() is true (os.ErrDeadlineExceeded), Close wakes blocked calls on
// both ends, the peer reads what was buffered and then io.EOF, and calls
// on a closed end fail with net.ErrClosed.
package memconn
