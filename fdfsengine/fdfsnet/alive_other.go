//go:build !unix

package fdfsnet

import "net"

// peekAlive cannot peek without blocking on this platform; pooled
// connections are then checked only by ACTIVE_TEST after a long idle.
func peekAlive(net.Conn) bool { return true }
