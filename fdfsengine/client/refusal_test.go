package client

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// startRefuser is a storage that refuses every request as soon as its
// header arrives: it answers status and closes the connection without
// reading the body, as the C storage does when an upload does not fit
// (the unread body makes the close a reset).
func startRefuser(t *testing.T, ip string, status byte) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
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
			if _, err := protocol.ReadHeader(c); err == nil {
				protocol.WritePacket(c, protocol.CmdResp, status, nil)
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A storage that refuses a large write before reading its content and
// resets the connection: the client reports the storage's status, not the
// reset it got while still sending.
func TestWriteRefusedBeforeItsEnd(t *testing.T) {
	// More than the socket buffers of both ends hold (bytes): the client is
	// still writing when the connection is reset.
	const size = 32 << 20
	content := func() io.Reader { return io.LimitReader(zeroReader{}, size) }
	tests := []struct {
		name string
		op   func(cl *Client) error
	}{
		{"upload", func(cl *Client) error {
			_, err := cl.Upload(context.Background(), content(), size, UploadOptions{})
			return err
		}},
		{"upload appender", func(cl *Client) error {
			_, err := cl.UploadAppender(context.Background(), content(), size, UploadOptions{})
			return err
		}},
		{"upload slave", func(cl *Client) error {
			_, err := cl.UploadSlave(context.Background(), content(), size, "group1/"+contentName, "_s", "txt")
			return err
		}},
		{"append", func(cl *Client) error {
			return cl.Append(context.Background(), "group1/"+contentName, content(), size)
		}},
		{"modify", func(cl *Client) error {
			return cl.Modify(context.Background(), "group1/"+contentName, 0, content(), size)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := fakeTracker(t, "127.0.0.2", startRefuser(t, "127.0.0.3", protocol.ENOSPC))
			cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
			err := tc.op(cl)
			if !errors.Is(err, protocol.ErrNoSpace) {
				t.Fatalf("err = %v, want ENOSPC", err)
			}
			if !strings.Contains(err.Error(), "answered before the whole request was sent") {
				t.Fatalf("err = %v, want it to say the storage answered early", err)
			}
		})
	}
}
