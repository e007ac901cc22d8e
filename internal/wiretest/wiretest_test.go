package wiretest

import (
	"net"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// echoStatus answers every request with its own status byte and body, and
// closes the connection on CmdQuit; on any number of connections.
func echoStatus(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go echo(c)
		}
	}()
	return ln.Addr().String()
}

func echo(c net.Conn) {
	defer c.Close()
	for {
		h, err := protocol.ReadHeader(c)
		if err != nil || h.Cmd == protocol.CmdQuit {
			return
		}
		body, err := protocol.ReadBody(c, h, 1<<20)
		if err != nil {
			return
		}
		protocol.WritePacket(c, protocol.CmdResp, h.Status, body)
	}
}

func TestClient(t *testing.T) {
	c := DialFrom(t, "127.0.0.1", echoStatus(t))
	tests := []struct {
		status byte
		parts  [][]byte
		want   string
	}{
		{0, nil, ""},
		{0, [][]byte{[]byte("ab"), []byte("cd")}, "abcd"},
		{2, [][]byte{[]byte("x")}, "x"},
	}
	for _, tt := range tests {
		h, body := c.Raw(Packet(protocol.CmdActiveTest, tt.status, tt.parts...))
		if h.Status != tt.status || string(body) != tt.want {
			t.Fatalf("status %d body %q, want %d %q", h.Status, body, tt.status, tt.want)
		}
	}
	if got := c.OK(protocol.CmdActiveTest, []byte("ok")); string(got) != "ok" {
		t.Fatalf("OK body %q", got)
	}
	if c.Closed(20 * time.Millisecond) {
		t.Fatal("an open, quiet connection reported closed")
	}
	c.Conn.Write(Packet(protocol.CmdQuit, 0))
	if !c.Closed(5 * time.Second) {
		t.Fatal("the server's close was not seen")
	}
}

// Shot's packets go out on one connection (the echo answers the first,
// which Shot reads whole), and the server serves a new one afterwards.
func TestShotAndAnswers(t *testing.T) {
	addr := echoStatus(t)
	for range 3 {
		Shot(t, "127.0.0.1", addr, time.Second, Packet(protocol.CmdActiveTest, 0, []byte("first")), Packet(protocol.CmdActiveTest, 0, []byte("x")))
		Answers(t, addr, protocol.CmdActiveTest)
	}
}
