package gateway

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestLimitConns checks that a connection beyond the limit is closed at
// once and that closing an accepted one frees its slot.
func TestLimitConns(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitConns(raw, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// refused reports whether the server closed c: a read sees EOF.
	refused := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	dial()
	dial()
	first, second := <-accepted, <-accepted
	if third := dial(); !refused(third) {
		t.Fatal("a third connection beyond max_connections 2 was not closed")
	}
	first.Close()
	first.Close() // a second Close must not free a second slot
	fourth := dial()
	c := <-accepted
	c.Write([]byte("x"))
	if _, err := fourth.Read(make([]byte, 1)); err != nil {
		t.Fatalf("a connection after one was closed: %v", err)
	}
	if fifth := dial(); !refused(fifth) {
		t.Fatal("a connection beyond the limit after a double Close was not closed")
	}
	second.Close()
	c.Close()
}
