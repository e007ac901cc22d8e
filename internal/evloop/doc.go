// Package evloop serves FastDFS connections from a few goroutines, each
// waiting on its own epoll set, the way upstream's libserverframe serves
// them from its nio threads.
//
// It exists for the requests that cost less than Go's per-connection
// goroutine model around them: a tracker query is a 10-byte header, a
// 150-byte body, a map lookup and a 40-byte answer, and under
// test_download Go's netpoller (a read that finds nothing, a park, a wake,
// the scheduler looking for work) cost as much as the query itself. A loop
// reads a connection when epoll says it has data, answers every whole
// request in what it read, writes the answers in one call and goes back to
// epoll_wait; level-triggered, so nothing is read twice to find out it is
// empty.
//
// Only the requests the Handler calls inline are served there. The first
// request it does not (a storage's JOIN, a large body, anything unusual)
// detaches the connection: it becomes a net.Conn (the same descriptor,
// moved into Go's network poller), handed to the Handler with the bytes
// already read, and is served from then on by the
// Handler's own goroutine as before. So the loop holds only the hot path
// and every rule of the protocol stays in one place.
//
// Linux only (epoll); elsewhere, or with FDFS_EVLOOP=off (EnvOff), New
// returns no Server and the servers keep their goroutine per connection.
package evloop
