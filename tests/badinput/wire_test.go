package badinput_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// answerWait bounds how long a server may take to answer or close the
// connection after a malformed request. On loopback a correct server needs
// milliseconds; reaching the bound means the server is stuck waiting for
// bytes that will never come (a hang), which is the failure these tests look
// for, not a performance assertion.
const answerWait = 10 * time.Second

// packet returns a header announcing len(body) followed by body.
func packet(cmd byte, body []byte) []byte {
	return packetLen(cmd, int64(len(body)), body)
}

// packetLen returns a header announcing length (whatever body really is)
// followed by body.
func packetLen(cmd byte, length int64, body []byte) []byte {
	b := make([]byte, protocol.HeaderSize, protocol.HeaderSize+len(body))
	binary.BigEndian.PutUint64(b, uint64(length))
	b[8] = cmd
	return append(b, body...)
}

// reply is what came back for one malformed request.
type reply struct {
	closed bool // the server closed the connection without a header
	cmd    byte
	status byte
	length int64
}

// isClosed reports whether err means the peer closed or reset the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// exchange sends req on a fresh connection to addr (half-closing it after
// the request when closeWrite is set, as a client that dies mid-request
// would) and returns the first response header or the fact that the server
// closed the connection. A server that does neither within answerWait fails
// the test.
func exchange(t *testing.T, addr string, req []byte, closeWrite bool) reply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, answerWait)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(answerWait)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(req); err != nil {
		if isClosed(err) {
			return reply{closed: true}
		}
		t.Fatalf("write request: %v", err)
	}
	if closeWrite {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil && !isClosed(err) {
			t.Fatalf("half-close: %v", err)
		}
	}
	var h [protocol.HeaderSize]byte
	n, err := io.ReadFull(conn, h[:])
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("%s neither answered nor closed the connection within %v: the server hangs on this input", addr, answerWait)
	case n == 0 && isClosed(err):
		return reply{closed: true}
	default:
		t.Fatalf("reading response header (%d of %d bytes): %v", n, protocol.HeaderSize, err)
	}
	return reply{cmd: h[8], status: h[9], length: int64(binary.BigEndian.Uint64(h[:8]))}
}

// expect checks r: an error status from want (any non-zero status when want
// is empty) with an empty body, or a closed connection if mayClose.
func expect(t *testing.T, r reply, want []byte, mayClose bool) {
	t.Helper()
	switch {
	case r.closed && mayClose:
	case r.closed:
		t.Errorf("connection closed, want an error status %v", want)
	case r.cmd != protocol.CmdResp:
		t.Errorf("response cmd %d, want %d", r.cmd, protocol.CmdResp)
	case r.status == 0:
		t.Errorf("request accepted (status 0, %d body bytes), want an error status %v", r.length, want)
	case len(want) > 0 && !slices.Contains(want, r.status):
		t.Errorf("status %d, want one of %v", r.status, want)
	case r.length != 0:
		t.Errorf("error status %d with a %d-byte body, want an empty body", r.status, r.length)
	}
}
