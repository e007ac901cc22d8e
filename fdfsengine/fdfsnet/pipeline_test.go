package fdfsnet

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// pipelineServer reads requests one at a time, as a FastDFS server does,
// and answers each with the next of replies (raw bytes, written at once
// when together, else one write per request); the bodies it read come out
// of the returned channel when the client closes.
func pipelineServer(t *testing.T, replies [][]byte, together bool) (string, chan []string) {
	got := make(chan []string, 1)
	addr := serve(t, func(c net.Conn) {
		var bodies []string
		var held []byte
		for i := 0; ; i++ {
			h, err := protocol.ReadHeader(c)
			if err != nil {
				break
			}
			b := make([]byte, h.Length)
			if _, err := io.ReadFull(c, b); err != nil {
				break
			}
			bodies = append(bodies, string([]byte{h.Cmd, h.Status})+string(b))
			if i < len(replies) {
				held = append(held, replies[i]...)
			}
			if !together || i == len(replies)-1 {
				c.Write(held)
				held = nil
			}
		}
		got <- bodies
	})
	return addr, got
}

func okReply(status byte) []byte {
	return protocol.Header{Cmd: protocol.CmdResp, Status: status}.Bytes()
}

func pipelineRequests() []Request {
	var reqs []Request
	for i, content := range []string{"first", "", strings.Repeat("x", 5000), "last"} {
		reqs = append(reqs, Request{Cmd: protocol.CmdSyncCreateFile, Status: byte(i), Fixed: []byte("head"),
			Content: strings.NewReader("<<" + content + ">>"), Off: 2, N: int64(len(content))})
	}
	return reqs
}

// Every request goes out in one write and reaches the server whole and
// in order; the statuses come back in order, whether the server answers
// each request at once or all of them together.
func TestPipeline(t *testing.T) {
	for _, together := range []bool{false, true} {
		statuses := []byte{0, protocol.EEXIST, 0, protocol.ENOSPC}
		var replies [][]byte
		for _, st := range statuses {
			replies = append(replies, okReply(st))
		}
		addr, got := pipelineServer(t, replies, together)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cc := &countingConn{Conn: nc}
		c := NewConn(cc, addr, time.Second)
		reqs := pipelineRequests()
		st, err := c.Pipeline(reqs)
		if err != nil || !bytes.Equal(st, statuses) || !c.Clean() || cc.writes != 1 {
			t.Errorf("together %v: statuses %v, %v, clean %v, %d writes; want %v, one write", together, st, err, c.Clean(), cc.writes, statuses)
		}
		nc.Close()
		bodies := <-got
		for i, r := range reqs {
			content := make([]byte, r.N)
			r.Content.ReadAt(content, r.Off)
			if want := string([]byte{r.Cmd, r.Status}) + "head" + string(content); i >= len(bodies) || bodies[i] != want {
				t.Errorf("together %v: request %d reached the server as %q, want %q", together, i, bodies[min(i, len(bodies)-1)], want)
			}
		}
	}
}

// A reply with a body, a byte after the last reply, a reply that is no
// response or a server gone before the last reply leave the connection
// unusable; the statuses read before the fault are returned.
func TestPipelineBadReplies(t *testing.T) {
	withBody := append(protocol.Header{Length: 2, Cmd: protocol.CmdResp}.Bytes(), "hi"...)
	for _, tc := range []struct {
		name    string
		replies [][]byte // written together once all four requests are read; then the server closes
		want    []byte
		err     error
	}{
		{"reply with a body", [][]byte{okReply(0), withBody, okReply(0), okReply(0)}, []byte{0}, protocol.ErrInvalid},
		{"bytes after the last reply", [][]byte{okReply(0), okReply(0), okReply(0), append(okReply(0), 'x')}, []byte{0, 0, 0, 0}, protocol.ErrInvalid},
		{"not a response", [][]byte{okReply(0), protocol.Header{Cmd: protocol.CmdActiveTest}.Bytes(), okReply(0), okReply(0)}, []byte{0}, protocol.ErrInvalid},
		{"server gone", [][]byte{okReply(0), okReply(protocol.ENOENT)}, []byte{0, protocol.ENOENT}, io.ErrUnexpectedEOF},
	} {
		addr := serve(t, func(c net.Conn) {
			for range 4 {
				h, err := protocol.ReadHeader(c)
				if err != nil {
					return
				}
				io.CopyN(io.Discard, c, h.Length)
			}
			c.Write(bytes.Join(tc.replies, nil))
		})
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := NewConn(nc, addr, time.Second)
		st, err := c.Pipeline(pipelineRequests())
		if !errors.Is(err, tc.err) || !bytes.Equal(st, tc.want) || c.Clean() {
			t.Errorf("%s: statuses %v, %v, clean %v; want %v, %v, not clean", tc.name, st, err, c.Clean(), tc.want, tc.err)
		}
		nc.Close()
	}
}

// Requests that cannot be sent whole (content shorter than announced,
// more than PipelineMax together) are an error before anything is written.
func TestPipelineRefusedBeforeWriting(t *testing.T) {
	big := strings.Repeat("b", PipelineMax)
	for _, tc := range []struct {
		name string
		reqs []Request
	}{
		{"short content", []Request{{Cmd: 1, Content: strings.NewReader("abc"), N: 10}}},
		{"too large", []Request{{Cmd: 1, Content: strings.NewReader(big), N: int64(len(big))}}},
	} {
		addr := serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cc := &countingConn{Conn: nc}
		if _, err := NewConn(cc, addr, time.Second).Pipeline(tc.reqs); err == nil || cc.writes != 0 {
			t.Errorf("%s: %v after %d writes, want an error and none", tc.name, err, cc.writes)
		}
		nc.Close()
	}
}
