// Package regfile opens regular files for reading with fewer syscalls than
// os.Open: on Linux os.Open tries to register every file with the network
// poller, which fails for regular files after four fcntl and an epoll_ctl
// calls. For a storage serving small files those were a third of the
// syscalls of a download. OpenFile makes no *os.File at all: open and
// fstat, then pread and close; File.OS hands the descriptor to an *os.File
// only where one is needed (sendfile of a large file).
package regfile
