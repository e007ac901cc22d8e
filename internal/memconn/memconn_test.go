package memconn

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// dial returns both ends of a connection of l.
func dial(t *testing.T, l *Listener) (client, server net.Conn) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err := l.Dial()
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// The net.Conn contract as x/net's conformance suite checks it: data in
// both directions, deadlines, Close waking blocked calls, concurrency. The
// suite echoes through writes that must fit the buffers whole (a real
// socket buffers that much too); see TestFullDuplexThroughSmallBuffer for
// small buffers.
func TestConnContract(t *testing.T) {
	for _, size := range []int{64 << 10, 1 << 20} {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			l := Listen(size)
			accepted := make(chan net.Conn, 1)
			go func() {
				c, _ := l.Accept()
				accepted <- c
			}()
			if c1, err = l.Dial(); err != nil {
				return nil, nil, nil, err
			}
			c2 = <-accepted
			return c1, c2, func() { c1.Close(); c2.Close(); l.Close() }, nil
		})
	}
}

// Content much larger than the buffer arrives whole and in order while
// both ends write at once, as HTTP/2 peers do.
func TestFullDuplexThroughSmallBuffer(t *testing.T) {
	c, s := dial(t, Listen(1000))
	up, down := make([]byte, 3<<20+7), make([]byte, 2<<20+3)
	rand.Read(up)
	rand.Read(down)
	var wg sync.WaitGroup
	var gotUp, gotDown []byte
	var errUp, errDown error
	wg.Add(4)
	go func() { defer wg.Done(); _, errUp = c.Write(up) }()
	go func() { defer wg.Done(); _, errDown = s.Write(down) }()
	go func() { defer wg.Done(); gotUp, _ = io.ReadAll(io.LimitReader(s, int64(len(up)))) }()
	go func() { defer wg.Done(); gotDown, _ = io.ReadAll(io.LimitReader(c, int64(len(down)))) }()
	wg.Wait()
	if errUp != nil || errDown != nil {
		t.Fatalf("writes: %v, %v", errUp, errDown)
	}
	if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
		t.Fatalf("content differs: %d of %d bytes up, %d of %d down", len(gotUp), len(up), len(gotDown), len(down))
	}
}

// A write returns once buffered, before the peer reads: the slack net.Pipe
// does not have.
func TestWriteIsBuffered(t *testing.T) {
	c, s := dial(t, Listen(64))
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 64))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write that fits the buffer blocked")
	}
	// A full buffer makes the next write wait for a read.
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := c.Write([]byte("x")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a full buffer: %d, %v", n, err)
	}
	if n, err := s.Read(make([]byte, 100)); n != 64 || err != nil {
		t.Fatalf("read: %d, %v", n, err)
	}
}

// Close: the peer reads what was buffered, then EOF, and cannot write;
// this end's calls fail with net.ErrClosed.
func TestClose(t *testing.T) {
	c, s := dial(t, Listen(1<<10))
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if got, err := io.ReadAll(s); err != nil || string(got) != "last words" {
		t.Errorf("peer read %q, %v", got, err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("write to a closed peer: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestListenerClose(t *testing.T) {
	l := Listen(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.DialContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("dial with a canceled context: %v", err)
	}
	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	l.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("accept on a closed listener: %v", err)
	}
	if _, err := l.Dial(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("dial to a closed listener: %v", err)
	}
	if l.Addr().String() != "memconn" || l.Addr().Network() != "memconn" {
		t.Errorf("addr %v", l.Addr())
	}
}
