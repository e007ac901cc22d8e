package fdfsnet

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// serve accepts one connection on 127.0.0.1 and runs handle on it.
func serve(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		handle(c)
	}()
	return ln.Addr().String()
}

// reply reads one request and answers with status and body.
func reply(status byte, body []byte) func(c net.Conn) {
	return func(c net.Conn) {
		h, err := protocol.ReadHeader(c)
		if err != nil {
			return
		}
		io.CopyN(io.Discard, c, h.Length)
		protocol.WritePacket(c, protocol.CmdResp, status, body)
		io.Copy(io.Discard, c) // until the client closes
	}
}

func TestDial(t *testing.T) {
	ok := serve(t, reply(0, nil))
	_, port, _ := net.SplitHostPort(ok)
	tests := []struct {
		name    string
		d       Dialer
		addr    string
		wantErr string
	}{
		{"plain", Dialer{}, ok, ""},
		// 127.0.0.2 listens on nothing: refused at once, the second host answers.
		{"dual IP, first refused", Dialer{}, "127.0.0.2,127.0.0.1:" + port, ""},
		{"from a local address", Dialer{LocalIP: "127.0.0.1"}, ok, ""},
		{"no port", Dialer{}, "127.0.0.1", "no port"},
		{"bad local address", Dialer{LocalIP: "nowhere"}, ok, "not an IP"},
		{"all refused", Dialer{ConnectTimeout: time.Second}, "127.0.0.2:" + port, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.d.Dial(context.Background(), tt.addr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Addr() != tt.addr || !c.Clean() {
				t.Fatalf("Addr %q Clean %v, want %q and clean", c.Addr(), c.Clean(), tt.addr)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(c net.Conn)
		wantBody   string
		wantStatus byte // 0 = success expected
		wantClean  bool
	}{
		{"answer", reply(0, []byte("hello")), "hello", 0, true},
		{"status, connection stays usable", reply(2, nil), "", 2, true},
		{"status with a body", reply(28, []byte("ignored")), "", 28, true},
		{"wrong reply command", func(c net.Conn) {
			protocol.ReadHeader(c)
			protocol.WritePacket(c, protocol.CmdActiveTest, 0, nil)
		}, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Dialer{NetworkTimeout: 5 * time.Second}
			c, err := d.Dial(context.Background(), serve(t, tt.handle))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			release := c.Bind(context.Background())
			body, err := c.RoundTrip(protocol.CmdActiveTest, []byte("req"), 64)
			if !release() {
				t.Fatal("release reported a cancelled exchange")
			}
			var se *protocol.StatusError
			switch {
			case tt.wantStatus != 0:
				if !errors.As(err, &se) || se.Code != tt.wantStatus || !IsStatus(err) {
					t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
				}
			case tt.wantClean:
				if err != nil || string(body) != tt.wantBody {
					t.Fatalf("body %q err %v, want %q", body, err, tt.wantBody)
				}
			default:
				if err == nil {
					t.Fatal("no error for a reply out of step")
				}
			}
			if c.Clean() != tt.wantClean {
				t.Fatalf("Clean = %v, want %v", c.Clean(), tt.wantClean)
			}
		})
	}
}

// A bound context that ends aborts a read blocked on a silent server, and
// the error says it was the context.
func TestCancelAbortsBlockedRead(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	addr := serve(t, func(c net.Conn) { <-hold })
	d := Dialer{NetworkTimeout: time.Minute}
	c, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	release := c.Bind(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.RoundTrip(protocol.CmdActiveTest, nil, 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if release() {
		t.Fatal("release reported a usable connection after cancellation")
	}
}

// The network timeout bounds each step: a silent server fails the call.
func TestNetworkTimeout(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	addr := serve(t, func(c net.Conn) { <-hold })
	d := Dialer{NetworkTimeout: 50 * time.Millisecond}
	c, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer c.Bind(context.Background())()
	_, err = c.RoundTrip(protocol.CmdActiveTest, nil, 0)
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// Alive tells an open quiet connection from one the server closed.
func TestAlive(t *testing.T) {
	closed := make(chan struct{})
	addr := serve(t, func(c net.Conn) {
		<-closed
	})
	d := Dialer{}
	c, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Alive() {
		t.Fatal("open connection not alive")
	}
	close(closed) // the server closes its side
	deadline := time.Now().Add(5 * time.Second)
	for c.Alive() {
		if time.Now().After(deadline) {
			t.Fatal("connection closed by the server still alive after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// countingConn counts the writes made to a connection.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

// Small content goes out with the header in one write (one segment, one
// wake-up of the server), unless the connection writes like the C client.
func TestSendInlinesSmallContent(t *testing.T) {
	for _, tc := range []struct {
		size   int
		split  bool
		writes int
	}{
		{0, false, 1},
		{5120, false, 1},
		{InlineMax, false, 1},
		{InlineMax + 1, false, 2},
		{0, true, 1},
		{5120, true, 2},
	} {
		got := make(chan []byte, 1)
		addr := serve(t, func(c net.Conn) {
			b, _ := io.ReadAll(c)
			got <- b
		})
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cc := &countingConn{Conn: nc}
		c := NewConn(cc, addr, time.Second)
		c.split = tc.split
		content := strings.Repeat("c", tc.size)
		if err := c.Send(protocol.CmdUploadFile, 0, []byte("fixed"), strings.NewReader(content), int64(tc.size)); err != nil {
			t.Fatal(err)
		}
		nc.Close()
		b := <-got
		if want := protocol.HeaderSize + len("fixed") + tc.size; len(b) != want || string(b[protocol.HeaderSize:protocol.HeaderSize+5]) != "fixed" {
			t.Errorf("%d bytes (split %v): the server got %d bytes, want %d", tc.size, tc.split, len(b), want)
		}
		if cc.writes != tc.writes {
			t.Errorf("%d bytes (split %v): %d writes, want %d", tc.size, tc.split, cc.writes, tc.writes)
		}
	}
}

// Content shorter than announced is an error, and nothing is sent.
func TestSendShortInlineContent(t *testing.T) {
	addr := serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cc := &countingConn{Conn: nc}
	err = NewConn(cc, addr, time.Second).Send(protocol.CmdUploadFile, 0, nil, strings.NewReader("abc"), 10)
	if !errors.Is(err, io.ErrUnexpectedEOF) || cc.writes != 0 {
		t.Fatalf("short content: %v after %d writes, want io.ErrUnexpectedEOF and none", err, cc.writes)
	}
}
