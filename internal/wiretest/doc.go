// Package wiretest is the tests' one raw FastDFS protocol client: it
// writes packets exactly as given (malformed ones included) from a chosen
// loopback source address and reads the answer, failing the test on
// anything but an answer. Servers' unit tests use it where the engine's
// client would refuse to send what the test needs. It also hands out
// loopback addresses nothing listens on (RefusedAddr), for a peer that is
// down or a daemon to start there later. Only tests import it.
package wiretest
