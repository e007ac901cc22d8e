// Package connstate is the graceful shutdown both servers share: each
// client connection is idle (waiting for a request header), busy (serving
// a request) or dropped (closed by Shutdown while idle), and Drain closes
// the idle ones until none is busy, so that every request that was read
// gets its answer and no new one is taken.
package connstate
