package storagenode

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// FuzzRequests sends one request of any command and body to a running
// storage, from an address it takes sync commands from, and checks that
// no request panics (a panic is recovered per connection, but one under
// a lock would leave the storage stuck) and that the storage still
// answers an ACTIVE_TEST on a new connection afterwards.
func FuzzRequests(f *testing.F) {
	var logs syncbuf.Buffer
	s, err := New(testConfig(f), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	allowSyncFrom(s, "127.0.0.1")
	up := protocol.UploadRequest{FileSize: 5, Ext: "txt"}
	st, body := wiretest.Dial(f, s.Addr()).Do(protocol.CmdUploadAppenderFile, up.Encode(), []byte("hello"))
	r, err := protocol.DecodeFileResponse(body)
	if st != 0 || err != nil {
		f.Fatalf("upload: status %d, %v", st, err)
	}
	name, g := r.Name, "group1"
	for _, seed := range []struct {
		cmd  byte
		body []byte
	}{
		{protocol.CmdUploadFile, append(up.Encode(), "hello"...)},
		{protocol.CmdDownloadFile, (&protocol.DownloadRequest{Offset: 1, Length: 3, Group: g, Name: name}).Encode()},
		{protocol.CmdQueryFileInfo, (&protocol.FileRequest{Group: g, Name: name}).Encode()},
		{protocol.CmdGetMetadata, (&protocol.FileRequest{Group: g, Name: name}).Encode()},
		{protocol.CmdSetMetadata, (&protocol.SetMetadataRequest{Name: name, Flag: 'O', Group: g, Meta: []byte("a\x02b")}).Encode()},
		{protocol.CmdAppendFile, append((&protocol.AppendRequest{Name: name, Length: 2}).Encode(), "ab"...)},
		{protocol.CmdModifyFile, append((&protocol.ModifyRequest{Name: name, Offset: 1, Length: 2}).Encode(), "xy"...)},
		{protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name, NewSize: 2}).Encode()},
		{protocol.CmdUploadSlaveFile, append((&protocol.UploadSlaveRequest{MasterName: name, FileSize: 2, Prefix: "_s", Ext: "txt"}).Encode(), "ab"...)},
		{protocol.CmdRegenerateAppenderFilename, []byte(name)},
		{protocol.CmdSyncCreateFile, append((&protocol.SyncFileRequest{Name: "M00/00/00/x.txt", FileSize: 2, Timestamp: 1, Group: g}).Encode(), "ab"...)},
		{protocol.CmdSyncAppendFile, append((&protocol.SyncRangeRequest{Name: name, Offset: 5, Length: 2, Timestamp: 1, Group: g}).Encode(), "ab"...)},
		{protocol.CmdSyncDeleteFile, (&protocol.SyncDeleteRequest{Timestamp: 1, Group: g, Name: name}).Encode()},
		{protocol.CmdSyncCreateLink, (&protocol.SyncTwoNamesRequest{First: "M00/00/00/y.txt", Second: name, Timestamp: 1, Group: g}).Encode()},
		{protocol.CmdFetchOnePathBinlog, []byte("group1\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
		{protocol.CmdDeleteFile, (&protocol.FileRequest{Group: g, Name: name}).Encode()},
	} {
		f.Add(seed.cmd, seed.body)
	}
	f.Fuzz(func(t *testing.T, cmd byte, body []byte) {
		c := wiretest.DialFrom(t, "127.0.0.1", s.Addr())
		// Closed with a reset, not left in TIME_WAIT: a fuzz run makes
		// tens of thousands of connections from the one bound address.
		c.Conn.(*net.TCPConn).SetLinger(0)
		c.Conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Conn.Write(wiretest.Packet(cmd, 0, body)); err != nil {
			t.Fatal(err)
		}
		// Whatever comes back, or the connection closed, or nothing for
		// 2 s (a request that waits for more): only the storage's state
		// afterwards matters.
		protocol.ReadHeader(c.Conn)
		c.Conn.Close()
		if l := logs.String(); strings.Contains(l, `msg="panic serving`) {
			t.Fatalf("cmd %d, body %q: the storage logged a panic:\n%s", cmd, body, l)
		}
		alive := wiretest.Dial(t, s.Addr())
		alive.Conn.(*net.TCPConn).SetLinger(0)
		alive.Conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := alive.Conn.Write(wiretest.Packet(protocol.CmdActiveTest, 0)); err != nil {
			t.Fatalf("cmd %d, body %q: ACTIVE_TEST afterwards: %v", cmd, body, err)
		}
		if h, err := protocol.ReadHeader(alive.Conn); err != nil || h.Status != 0 {
			t.Fatalf("cmd %d, body %q: ACTIVE_TEST afterwards: status %d, %v", cmd, body, h.Status, err)
		}
	})
}
