// Package testwait is the one way tests wait for a condition: polled, and
// always bounded, so a server that never gets there fails the test with
// what was awaited instead of hanging until the go test timeout (10 min).
// Only tests import it.
package testwait
