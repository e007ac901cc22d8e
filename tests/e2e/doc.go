// Package e2e holds the end-to-end tests: every client operation through
// fdfsengine/client against a real tracker and real storage servers running
// in-process on loopback addresses (tests/cluster), with files on disk.
package e2e
