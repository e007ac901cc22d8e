// Package procs tests the real `fdfs` binary: it builds cmd/fdfs, starts the
// tracker and storage daemons as separate processes from upstream-format conf
// files, talks to them with the client engine and checks that they stop
// cleanly on SIGTERM and refuse bad conf files; `fdfs upload-resumable`
// interrupted by its own death, the gateway process's and a storage
// restart.
package procs
