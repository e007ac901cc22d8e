package evloop

import (
	"log/slog"
	"net"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Handler is what a server plugs into the loop. Every method but Detach's
// continuation runs on a loop goroutine, so none may block for long: a
// loop serves many connections one request at a time.
type Handler interface {
	// Open is called for each accepted connection before anything is
	// read from it; false closes it at once (allow_hosts,
	// max_connections).
	Open(c *Conn) bool
	// Inline reports whether the request whose header is h is answered
	// on the loop. The loop then waits for the whole body, so only small
	// bodies should be inline.
	Inline(c *Conn, h protocol.Header) bool
	// Serve answers an inline request: it appends the whole reply
	// (header included) to out and returns it with Next. Close drops the
	// connection once the replies before are written; Handoff detaches
	// it with this request unserved, as if Inline had refused it (out
	// returned as it came). body is the loop's buffer: Serve must not
	// keep it.
	Serve(c *Conn, h protocol.Header, body, out []byte) ([]byte, Action)
	// Detach takes c over at a request Inline refused: nc is c's socket
	// and pending the bytes read from it and not served, that request's
	// header first. Every earlier reply has been written. Detach must
	// serve nc on a goroutine of its own and return.
	Detach(c *Conn, nc net.Conn, pending []byte)
	// Closed is called once for each connection the loop closes (the
	// peer left, an error, the idle timeout, Close), never for a
	// detached one.
	Closed(c *Conn)
}

// Action is what the loop does after Serve.
type Action int

const (
	// Next serves the next request.
	Next Action = iota
	// Close drops the connection after the replies so far.
	Close
	// Handoff detaches the connection at this request.
	Handoff
)

// loopCount is how many loops to run for a server configured with
// work_threads: at most half of GOMAXPROCS (gomaxprocs), at least one. A
// loop blocks its thread in epoll_wait, and Go's sysmon takes the P of a
// thread in a system call away after 20 µs unless another P is idle, and
// keeps waking every 20 µs while it does: with every P in a loop the
// tracker spent 40% more CPU per query under test_download than with
// one loop on two Ps.
func loopCount(workThreads, gomaxprocs int) int {
	return min(max(workThreads, 1), max(gomaxprocs/2, 1))
}

// EnvOff is the environment variable that turns the loops off: with
// FDFS_EVLOOP=off, New returns nil and the servers give every connection
// a goroutine of its own, as on systems without epoll (an escape hatch
// for a host where the loops misbehave, and the tests of that path).
const EnvOff = "FDFS_EVLOOP"

// Config sets up a Server.
type Config struct {
	// Listener is taken over: New duplicates its socket and closes it.
	Listener *net.TCPListener
	// WorkThreads is the daemon's work_threads: it bounds the number of
	// loops (loopCount).
	WorkThreads int
	// Idle closes a connection that has not completed a request for this
	// long since the last one (or since it was accepted): a client
	// trickling a request byte by byte does not keep its slot.
	Idle time.Duration
	// Park makes the loops wait for events parked in Go's netpoller
	// instead of blocked in epoll_wait. A goroutine blocked in a system
	// call keeps its P, and while it does Go's monitor takes the P of any
	// other goroutine in a system call longer than 20 µs, waking every
	// 20 µs to look and a thread to run what that P had: for a server
	// whose other goroutines make such calls (the storage's file calls)
	// while its loop wakes a few times a millisecond (a new connection
	// per request), a seventh of its CPU. Where no other goroutine does
	// (the tracker), a wake through the netpoller costs more than the
	// blocking wait.
	Park bool
	// Handler serves the requests.
	Handler Handler
	// Log gets accept failures.
	Log *slog.Logger
}

// Conn is one connection served by a loop. Its fields other than Data
// belong to the loop.
type Conn struct {
	fd     int
	remote *net.TCPAddr
	in     []byte    // bytes read and not yet served (nil when none)
	out    []byte    // replies not yet written
	seen   time.Time // accepted, or its last request served
	closed bool
	quit   bool // Serve said Close: closed once out is written
	// Data is the Handler's per-connection state.
	Data any
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() *net.TCPAddr { return c.remote }
