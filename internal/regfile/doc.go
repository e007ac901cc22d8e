// Package regfile opens regular files for reading with fewer syscalls than
// os.Open: on Linux os.Open tries to register every file with the network
// poller, which fails for regular files after four fcntl and an epoll_ctl
// calls. For a storage serving small files those were a third of the
// syscalls of a download. File goes further for files read whole in one
// call (small downloads): no *os.File at all, only open, fstat, pread and
// close.
package regfile
