package tcpopt

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// QuickAck makes the kernel acknowledge what c has received so far at
// once, and the next segments too, instead of delaying the ACK (the mode
// lasts until the kernel sees the exchange as interactive again, so call
// it after each request header). Errors are ignored: the option only
// saves latency.
func QuickAck(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
