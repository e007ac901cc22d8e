package wiretest

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Timeout bounds every exchange of a Client: a server that neither
// answers nor closes fails the test instead of hanging it.
const Timeout = 30 * time.Second

// maxBody bounds the answers a Client reads (bytes).
const maxBody = 64 << 20

// Client is one raw connection to a server. It reads nothing ahead, so a
// test may go on reading Conn itself (a streamed answer) after any call.
type Client struct {
	t    testing.TB
	Conn net.Conn
}

// Dial connects to addr; it is closed when the test ends.
func Dial(t testing.TB, addr string) *Client { return DialFrom(t, "", addr) }

// DialFrom connects to addr from the loopback address srcIP ("" = any):
// servers that admit peers by address (trackers, sync) see it.
func DialFrom(t testing.TB, srcIP, addr string) *Client {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if srcIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(srcIP)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Client{t: t, Conn: c}
}

// Packet is a header announcing the parts' total length with cmd and
// status, followed by the parts.
func Packet(cmd, status byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(protocol.Header{Length: int64(len(body)), Cmd: cmd, Status: status}.Bytes(), body...)
}

// Raw sends pkt as is and returns the answer's header and body.
func (c *Client) Raw(pkt []byte) (protocol.Header, []byte) {
	c.t.Helper()
	c.Conn.SetDeadline(time.Now().Add(Timeout))
	if _, err := c.Conn.Write(pkt); err != nil {
		c.t.Fatal(err)
	}
	return c.Read()
}

// Read reads one answer: its header and body.
func (c *Client) Read() (protocol.Header, []byte) {
	c.t.Helper()
	c.Conn.SetReadDeadline(time.Now().Add(Timeout))
	h, err := protocol.ReadHeader(c.Conn)
	if err != nil {
		c.t.Fatalf("reading the answer: %v", err)
	}
	if h.Cmd != protocol.CmdResp {
		c.t.Fatalf("answer cmd %d, want %d", h.Cmd, protocol.CmdResp)
	}
	body, err := protocol.ReadBody(c.Conn, h, maxBody)
	if err != nil {
		c.t.Fatalf("reading the answer's body: %v", err)
	}
	return h, body
}

// Do sends cmd with the concatenated parts and returns the answer's
// status and body.
func (c *Client) Do(cmd byte, parts ...[]byte) (byte, []byte) {
	c.t.Helper()
	h, body := c.Raw(Packet(cmd, 0, parts...))
	return h.Status, body
}

// OK is Do failing the test on a non-zero status.
func (c *Client) OK(cmd byte, parts ...[]byte) []byte {
	c.t.Helper()
	st, body := c.Do(cmd, parts...)
	if st != 0 {
		c.t.Fatalf("cmd %d: status %d", cmd, st)
	}
	return body
}

// Closed reports whether the server closes the connection (EOF or reset)
// within wait rather than sending anything.
func (c *Client) Closed(wait time.Duration) bool {
	c.Conn.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Conn.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

// Discard reads and drops n bytes of a streamed answer.
func (c *Client) Discard(n int64) {
	c.t.Helper()
	c.Conn.SetReadDeadline(time.Now().Add(Timeout))
	if _, err := io.CopyN(io.Discard, c.Conn, n); err != nil {
		c.t.Fatal(err)
	}
}

// Shot sends pkts on a new connection from srcIP ("" = any), reading the
// whole answer to each but the last and, of the last, at most the start
// of one within wait: what comes back does not matter, only what the
// server does next (fuzz targets). The connection is closed with a reset,
// not left in TIME_WAIT, as fuzz targets make tens of thousands of them
// from one address.
func Shot(t testing.TB, srcIP, addr string, wait time.Duration, pkts ...[]byte) {
	t.Helper()
	c := DialFrom(t, srcIP, addr)
	defer c.Conn.Close()
	c.Conn.(*net.TCPConn).SetLinger(0)
	for _, p := range pkts[:len(pkts)-1] {
		c.Raw(p)
	}
	c.Conn.SetDeadline(time.Now().Add(wait))
	if _, err := c.Conn.Write(pkts[len(pkts)-1]); err == nil {
		protocol.ReadHeader(c.Conn)
	}
}

// Answers fails t unless a new connection to addr gets status 0 for cmd
// (with no body) within Timeout: the server still serves. The connection
// is closed with a reset, as Shot's.
func Answers(t testing.TB, addr string, cmd byte) {
	t.Helper()
	c := Dial(t, addr)
	defer c.Conn.Close()
	c.Conn.(*net.TCPConn).SetLinger(0)
	if h, _ := c.Raw(Packet(cmd, 0)); h.Status != 0 {
		t.Fatalf("cmd %d: status %d", cmd, h.Status)
	}
}

// RefusedAddr returns an address on ip (a loopback address) that nothing
// listens on: a connection to it is refused, until something binds it.
func RefusedAddr(t testing.TB, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
