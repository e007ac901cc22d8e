// Package logbuf batches log output: a Writer that gathers log lines and
// writes them out every interval, or at once when a line is important
// (Handler), so that a busy server's access log costs one write syscall
// per batch instead of one per request.
package logbuf
