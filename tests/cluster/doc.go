// Package cluster is the in-process cluster harness of the end-to-end tests:
// Start brings up a tracker and storages (via devcluster) in a test's
// temporary directory, waits until every storage is ACTIVE and stops
// everything when the test ends. Server logs go to a file and are printed
// only when the test fails.
package cluster
