//go:build unix

package fdfsnet

import (
	"net"
	"syscall"
)

// peekAlive reports whether an idle connection is still open and has no
// unexpected bytes waiting, with one non-blocking MSG_PEEK recv: EAGAIN
// means alive and quiet; 0 bytes means the peer closed it; data means the
// peer sent something unsolicited and the stream cannot be trusted.
func peekAlive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
