// Package fdfsengine is the root of the FastDFS protocol implementation
// shared by every role: the wire codec (protocol), the file-ID codec (fileid),
// the upstream configuration parser (conf) and the client engine (client).
// It depends on nothing else in this module.
package fdfsengine
