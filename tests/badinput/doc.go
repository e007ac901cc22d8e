// Package badinput holds end-to-end tests that send malformed requests over
// raw TCP to a running tracker and storage (started with tests/cluster) and
// check that every one ends in a FastDFS error status or a closed connection
// — never a hang, a crash or a file outside the store paths — and that the
// servers keep serving normal clients afterwards.
package badinput
