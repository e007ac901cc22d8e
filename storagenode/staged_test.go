package storagenode

import (
	"bytes"
	"net"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// An append or modify is applied only once its whole content is in: while
// it is half received the file is served as it was, and a transfer cut
// there (a client gone, or the storage killed) leaves it so. Before, the
// content went into the file as it arrived.
func TestChangeAppliedWhole(t *testing.T) {
	const n = 1 << 20
	for _, tc := range []struct {
		name string
		req  func(file string) []byte
	}{
		{"append", func(file string) []byte {
			return withHeader(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: file, Length: n}).Encode(), n)
		}},
		{"modify", func(file string) []byte {
			return withHeader(protocol.CmdModifyFile, (&protocol.ModifyRequest{Name: file, Offset: 1, Length: n}).Encode(), n)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, testConfig(t))
			names, landed := appenders(t, s)
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(append(tc.req(names[0]), bytes.Repeat([]byte("x"), n/2)...)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "half the content received", func() bool { return landed(0) >= n/4 })
			rc := dial(t, s)
			if st, got := rc.download(names[0], 0, 0); st != 0 || string(got) != "base" {
				t.Fatalf("while half received: status %d, %d bytes %.8q; want the old 4 bytes", st, len(got), got)
			}
			c.Close()
			waitFor(t, "the cut transfer's temp file removed", func() bool { return landed(0) == 0 })
			if st, got := rc.download(names[0], 0, 0); st != 0 || string(got) != "base" {
				t.Fatalf("after the cut: status %d, %d bytes; want the old 4 bytes", st, len(got))
			}
		})
	}
}

// A change that fits one buff_size buffer is received whole before one
// write: half received, or cut there, the file is as it was, and the next
// change (it waits for the cut one's name lock) lands right after the old
// content.
func TestSmallChangeAppliedWhole(t *testing.T) {
	const n = 4 << 10 // under testConfig's 8 KiB buff_size
	s := startServer(t, testConfig(t))
	names, _ := appenders(t, s)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := withHeader(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: names[0], Length: n}).Encode(), n)
	if _, err := c.Write(append(req, bytes.Repeat([]byte("x"), n/2)...)); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, s)
	if st, got := rc.download(names[0], 0, 0); st != 0 || string(got) != "base" {
		t.Fatalf("while half received: status %d, %d bytes %.8q; want the old 4 bytes", st, len(got), got)
	}
	c.Close()
	if st, _ := rc.Do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: names[0], Length: 1}).Encode(), []byte("y")); st != 0 {
		t.Fatalf("append after the cut: status %d", st)
	}
	if st, got := rc.download(names[0], 0, 0); st != 0 || string(got) != "basey" {
		t.Fatalf("after the cut and one more append: status %d, %d bytes %.8q; want \"basey\"", st, len(got), got)
	}
}
