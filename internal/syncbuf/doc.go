// Package syncbuf is a byte buffer safe for concurrent use: what a server
// logs, or a child process writes, gathered while a test reads it.
package syncbuf
