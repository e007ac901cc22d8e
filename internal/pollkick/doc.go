// Package pollkick keeps the Go runtime polling the network while a
// goroutine serves a peer that never makes it wait.
//
// The runtime sees that a socket became readable only when one of its
// threads looks for work: a thread with nothing to run blocks in epoll,
// and when epoll gives it a goroutine it runs that goroutine itself; no
// other thread takes the polling over until some goroutine blocks (the
// runtime's monitor polls too, but only after 10 ms without a poll). A
// goroutine whose every read finds the next request already there (a
// peer storage replaying files one after another while both CPUs are
// busy: each side is slower than the other's reply) never blocks, and a
// client whose request arrives meanwhile waits for it. Measured on a
// storage under FastDFS's one-thread clients, during replication: the
// client's upload header waited 1.5 ms (99th percentile) to be read,
// against 0.2 ms for upstream's storage, and the client, which writes the
// body after the header with Nagle's algorithm on, held its body until
// the ACK the storage sends once it has read the header (internal/tcpopt).
//
// Kick readies a parked goroutine, which makes the runtime start an idle
// thread when a processor is idle (runtime.wakep); that thread finds
// nothing to run and blocks in epoll: the network is polled again. A kick
// costs a thread's wake-up (a kick at every file a storage replays added
// about a fifth to its CPU per upload), so a Streak kicks only once a
// goroutine has gone a while without waiting for its peer.
package pollkick
