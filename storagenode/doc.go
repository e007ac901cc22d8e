// Package storagenode is the FastDFS storage server: it keeps files under
// the store paths in the upstream on-disk layout (store_pathN/data/HH/LL),
// answers the client commands of the V6 protocol (upload, download, delete,
// metadata, file info, appender operations), records every local change in
// the upstream binlog format and reports itself to every configured tracker
// (join, beats with real counters, disk usage).
//
// File payloads are streamed between the socket and a temporary file in the
// target directory through a buffer of buff_size bytes, then renamed into
// place, so memory use does not grow with file size and an interrupted
// upload leaves nothing behind. Every file name arriving from the network is
// validated with fileid.Parse and Check before it is turned into a path.
package storagenode
