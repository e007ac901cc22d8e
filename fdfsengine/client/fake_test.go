package client

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// handler answers one request on a fake server; returning false closes the
// connection.
type handler func(h protocol.Header, body []byte, c net.Conn) bool

// fakeServer is a real TCP server speaking FastDFS framing with canned
// behaviour, for tests of the client's framing, pooling and failover
// independent of the real tracker and storage.
type fakeServer struct {
	ln      net.Listener
	handle  handler
	accepts atomic.Int32

	mu    sync.Mutex
	cmds  []byte
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startFake(t testing.TB, ip string, handle handler) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, handle: handle, conns: make(map[net.Conn]bool)}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *fakeServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepts.Add(1)
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			for {
				h, err := protocol.ReadHeader(c)
				if err != nil {
					return
				}
				body, err := protocol.ReadBody(c, h, 64<<20)
				if err != nil {
					return
				}
				s.mu.Lock()
				s.cmds = append(s.cmds, h.Cmd)
				s.mu.Unlock()
				if !s.handle(h, body, c) {
					return
				}
			}
		}()
	}
}

// commands returns the command codes received so far.
func (s *fakeServer) commands() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.cmds...)
}

// dropConns closes the server side of every open connection.
func (s *fakeServer) dropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *fakeServer) close() {
	s.ln.Close()
	s.dropConns()
	s.wg.Wait()
}

func trace(t testing.TB, name string) *tracefile.Exchange {
	t.Helper()
	ex, err := tracefile.Named("ip", name)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// replayStorage answers every request that is byte-identical to the
// request of one of the named traces with that trace's response, and
// anything else with EINVAL, so a test passes only if the client sends
// exactly the bytes the C client sent.
func replayStorage(t testing.TB, names ...string) *fakeServer {
	var exs []*tracefile.Exchange
	for _, n := range names {
		exs = append(exs, trace(t, n))
	}
	return startFake(t, "127.0.0.3", func(h protocol.Header, body []byte, c net.Conn) bool {
		if h.Cmd == protocol.CmdActiveTest {
			return protocol.WriteResponse(c, nil) == nil
		}
		req := append(h.Bytes(), body...)
		for _, ex := range exs {
			if bytes.Equal(req, ex.Request) {
				_, err := c.Write(ex.Response)
				return err == nil
			}
		}
		t.Errorf("storage: unexpected request %x", req)
		return protocol.WritePacket(c, protocol.CmdResp, protocol.EINVAL, nil) == nil
	})
}

// fakeTracker answers the store/fetch/update queries with the captured
// replies, the storage port patched to storagePort, and the other
// commands with the named traces' replies.
func fakeTracker(t testing.TB, ip string, storagePort int, names ...string) *fakeServer {
	resp := map[byte][]byte{}
	for _, n := range []string{"QUERY_STORE_WITHOUT_GROUP_ONE", "QUERY_STORE_WITH_GROUP_ONE"} {
		b := bytes.Clone(trace(t, n).Response)
		binary.BigEndian.PutUint64(b[len(b)-9:], uint64(storagePort))
		resp[trace(t, n).Cmd] = b
	}
	for _, n := range []string{"QUERY_FETCH_ONE", "QUERY_UPDATE"} {
		b := bytes.Clone(trace(t, n).Response)
		binary.BigEndian.PutUint64(b[len(b)-8:], uint64(storagePort))
		resp[trace(t, n).Cmd] = b
	}
	for _, n := range names {
		ex := trace(t, n)
		resp[ex.Cmd] = ex.Response
	}
	return startFake(t, ip, func(h protocol.Header, body []byte, c net.Conn) bool {
		if h.Cmd == protocol.CmdActiveTest {
			return protocol.WriteResponse(c, nil) == nil
		}
		r, ok := resp[h.Cmd]
		if !ok {
			return protocol.WritePacket(c, protocol.CmdResp, protocol.EINVAL, nil) == nil
		}
		_, err := c.Write(r)
		return err == nil
	})
}

func newTestClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	cl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// contentStorage is a fake storage that keeps uploaded content in memory
// under a fixed name and serves it back, for streaming tests.
type contentStorage struct {
	mu   sync.Mutex
	data []byte
}

const contentName = "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"

func (s *contentStorage) handle(h protocol.Header, body []byte, c net.Conn) bool {
	switch h.Cmd {
	case protocol.CmdUploadFile:
		s.mu.Lock()
		s.data = bytes.Clone(body[protocol.UploadHeadLen:])
		s.mu.Unlock()
		return protocol.WriteResponse(c, (&protocol.FileResponse{Group: "group1", Name: contentName}).Encode()) == nil
	case protocol.CmdDownloadFile:
		req, err := protocol.DecodeDownloadRequest(body)
		s.mu.Lock()
		data := s.data
		s.mu.Unlock()
		if err != nil || req.Offset >= int64(len(data)) {
			return protocol.WritePacket(c, protocol.CmdResp, protocol.EINVAL, nil) == nil
		}
		end := int64(len(data))
		if req.Length > 0 {
			end = min(end, req.Offset+req.Length)
		}
		return protocol.WriteResponse(c, data[req.Offset:end]) == nil
	}
	return protocol.WritePacket(c, protocol.CmdResp, protocol.EINVAL, nil) == nil
}

// failWriter fails every write, like a full disk.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }
