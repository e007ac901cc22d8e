//go:build linux

package evloop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sockPair returns a sockConn made as detach makes one, from an accepted
// non-blocking descriptor, and the client's end.
func sockPair(t *testing.T) (*sockConn, net.Conn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lfd, err := dupListener(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	var fd int
	var remote *net.TCPAddr
	for range 100 {
		if fd, remote, err = accept4(lfd); !errors.Is(err, unix.EAGAIN) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := newSockConn(fd, remote)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, client
}

// A detached connection behaves as a *net.TCPConn does: data both ways,
// the addresses, EOF, deadlines as timeouts, net.ErrClosed once closed,
// even for a read blocked at the time.
func TestSockConn(t *testing.T) {
	c, client := sockPair(t)
	if c.RemoteAddr().String() != client.LocalAddr().String() || c.LocalAddr().String() != client.RemoteAddr().String() {
		t.Errorf("addresses %v -> %v, the client's %v -> %v", c.LocalAddr(), c.RemoteAddr(), client.RemoteAddr(), client.LocalAddr())
	}
	client.Write([]byte("ping"))
	buf := make([]byte, 16)
	if n, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(client, buf[:4]); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("client read %q, %v", buf[:n], err)
	}

	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past the deadline: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})

	done := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("read blocked when closed: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v, want net.ErrClosed", err)
	}

	c2, client2 := sockPair(t)
	client2.Close()
	if _, err := c2.Read(buf); err != io.EOF {
		t.Errorf("read after the peer left: %v, want io.EOF", err)
	}
}

// ReadFrom sends a file from its offset by sendfile, more than the
// socket buffers hold (it waits for room), and moves the offset past it;
// other readers are copied; past the write deadline it times out.
func TestSockConnReadFrom(t *testing.T) {
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, client := sockPair(t)
	got := make(chan []byte, 1)
	const off, n = 100, 2 << 20
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, n+5))
		got <- b
	}()
	f.Seek(off, io.SeekStart)
	lr := &io.LimitedReader{R: f, N: n}
	if w, err := io.Copy(c, lr); err != nil || w != n {
		t.Fatalf("sent %d, %v; want %d", w, err, n)
	}
	if lr.N != 0 {
		t.Errorf("limit left at %d", lr.N)
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != off+n {
		t.Errorf("file offset %d after sending, want %d", pos, off+n)
	}
	if w, err := io.Copy(c, bytes.NewReader([]byte("tail!"))); err != nil || w != 5 {
		t.Fatalf("copied %d, %v", w, err)
	}
	b := <-got
	if want := append(append([]byte(nil), data[off:off+n]...), "tail!"...); !bytes.Equal(b, want) {
		t.Errorf("client got %d bytes, not the file's %d at %d and the tail", len(b), n, off)
	}

	// 64 MiB (sparse) is more than the socket buffers take: nobody
	// reads, so the send waits until the deadline.
	big, err := os.Create(filepath.Join(t.TempDir(), "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	big.Truncate(64 << 20)
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	w, err := io.Copy(c, big)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || w >= 64<<20 {
		t.Errorf("sending with nobody reading: %d bytes, %v; want a timeout", w, err)
	}
	c.SetWriteDeadline(time.Time{})
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, big)
		sent <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-sent; !errors.Is(err, net.ErrClosed) {
		t.Errorf("send cut short by Close: %v, want net.ErrClosed", err)
	}
}
