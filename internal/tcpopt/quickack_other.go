//go:build !linux

package tcpopt

import "net"

// QuickAck does nothing where TCP_QUICKACK does not exist.
func QuickAck(net.Conn) {}
