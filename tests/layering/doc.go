// Package layering holds the dependency test of the module: the client
// engine (fdfsengine) stays below the servers, the tracker and the storage
// server do not reach into each other or into the gateway, and the fdfs
// binary links no test code. The rules are checked on the import graph
// that `go list` reports, so they hold however an import gets in, directly
// or through another package.
package layering
