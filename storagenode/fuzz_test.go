package storagenode

import (
	"log/slog"
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
		// Whatever comes back, or the connection closed, or nothing for
		// 2 s (a request that waits for more): only the storage's state
		// afterwards matters.
		wiretest.Shot(t, "127.0.0.1", s.Addr(), 2*time.Second, wiretest.Packet(cmd, 0, body))
		if l := logs.String(); strings.Contains(l, `msg="panic serving`) {
			t.Fatalf("cmd %d, body %q: the storage logged a panic:\n%s", cmd, body, l)
		}
		wiretest.Answers(t, s.Addr(), protocol.CmdActiveTest)
	})
}
