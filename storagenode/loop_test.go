package storagenode

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// TestLoopDownloads follows one connection from the event loop (small
// downloads, their errors, pipelined requests) through its handoff (a
// download too large for the loop, sent by sendfile) and its detaching
// (an upload), and checks the counters of both paths.
func TestLoopDownloads(t *testing.T) {
	s := startServer(t, testConfig(t))
	up := dial(t, s)
	small := bytes.Repeat([]byte("small file "), 100)
	big := bytes.Repeat([]byte("0123456789"), 20_000) // 200,000 bytes: over smallDownload
	smallName := up.upload(protocol.CmdUploadFile, 0, "txt", small)
	bigName := up.upload(protocol.CmdUploadFile, 0, "bin", big)

	rc := dial(t, s)
	rc.alive()
	steps := []struct {
		name           string
		file           string
		offset, length int64
		status         byte
		want           []byte
	}{
		{"small", smallName, 0, 0, 0, small},
		{"range", smallName, 6, 4, 0, small[6:10]},
		{"missing", smallName[:len(smallName)-5] + "X.txt", 0, 0, protocol.ENOENT, nil},
		{"offset past the end", smallName, int64(len(small)), 0, protocol.EINVAL, nil},
		{"big, handed off", bigName, 0, 0, 0, big},
		{"small again, detached", smallName, 0, 0, 0, small},
	}
	for _, st := range steps {
		status, body := rc.download(st.file, st.offset, st.length)
		if status != st.status || !bytes.Equal(body, st.want) {
			t.Fatalf("%s: status %d, %d bytes; want %d, %d bytes", st.name, status, len(body), st.status, len(st.want))
		}
	}
	rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("after"))
	rc.alive()

	// Pipelined: three downloads in one write, answered in order.
	pc := dial(t, s)
	var reqs []byte
	for _, off := range []int64{0, 1, 2} {
		req := protocol.DownloadRequest{Offset: off, Length: 3, Group: "group1", Name: smallName}
		reqs = append(reqs, wiretest.Packet(protocol.CmdDownloadFile, 0, req.Encode())...)
	}
	if _, err := pc.Conn.Write(reqs); err != nil {
		t.Fatal(err)
	}
	for off := range 3 {
		if h, body := pc.Read(); h.Status != 0 || !bytes.Equal(body, small[off:off+3]) {
			t.Fatalf("pipelined download %d: status %d, %q", off, h.Status, body)
		}
	}

	// 2 + 2 + 3 successful; neither the missing file nor the offset past
	// the end is counted (upstream counts a download that got to its disk
	// read), on the loop as on the goroutine.
	waitFor(t, "download counters", func() bool { return s.stats.snapshot().SuccessDownloadCount == 7 })
	snap := s.stats.snapshot()
	wantBytes := int64(len(small) + 4 + len(big) + len(small) + 9)
	if snap.TotalDownloadCount != 7 || snap.SuccessDownloadBytes != wantBytes {
		t.Fatalf("downloads total %d, success bytes %d; want 7 and %d", snap.TotalDownloadCount, snap.SuccessDownloadBytes, wantBytes)
	}
}

// TestLoopFileInfoAndMetadata: QUERY_FILE_INFO and GET_METADATA are
// answered on the loop, byte for byte as a detached connection answers
// them, and the connection stays on the loop; a file info that needs the
// whole file's CRC32 (an appender file) and a metadata file larger than
// smallDownload are handed off, answered the same.
func TestLoopFileInfoAndMetadata(t *testing.T) {
	cfg := testConfig(t)
	cfg.BuffSize = 256 << 10 // room for metadata over smallDownload
	s := startServer(t, cfg)
	up := dial(t, s)
	normal := up.upload(protocol.CmdUploadFile, 0, "jpg", []byte("a picture"))
	appender := up.upload(protocol.CmdUploadAppenderFile, 0, "log", []byte("a log"))
	bigMeta := up.upload(protocol.CmdUploadFile, 0, "bin", []byte("much metadata"))
	if st := up.setMeta(normal, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"width": "640", "height": "480"})); st != 0 {
		t.Fatalf("set metadata: status %d", st)
	}
	large := map[string]string{} // values are cut at 256 bytes: many keys
	for i := range 300 {
		large[fmt.Sprintf("key%03d", i)] = string(bytes.Repeat([]byte("m"), 250))
	}
	if st := up.setMeta(bigMeta, protocol.MetaOverwrite, protocol.PackMeta(large)); st != 0 {
		t.Fatalf("set large metadata: status %d", st)
	}
	missing := normal[:len(normal)-5] + "X.jpg"
	info := func(name string, flags byte) []byte {
		return wiretest.Packet(protocol.CmdQueryFileInfo, flags, (&protocol.FileRequest{Group: "group1", Name: name}).Encode())
	}
	meta := func(group, name string) []byte {
		return wiretest.Packet(protocol.CmdGetMetadata, 0, (&protocol.FileRequest{Group: group, Name: name}).Encode())
	}
	detached := dial(t, s)
	detached.upload(protocol.CmdUploadFile, 0, "txt", []byte("detaches this connection"))
	cases := []struct {
		name    string
		req     []byte
		status  byte
		handoff bool // answered off the loop: the connection is detached after
	}{
		{"info of a normal file", info(normal, 0), 0, false},
		{"info of a missing file", info(missing, 0), protocol.ENOENT, false},
		{"info of an appender file without its CRC32", info(appender, protocol.FileInfoNoCRC), 0, false},
		{"metadata", meta("group1", normal), 0, false},
		{"metadata of a file without any", meta("group1", appender), protocol.ENOENT, false},
		{"metadata of a missing file", meta("group1", missing), protocol.ENOENT, false},
		{"metadata in another group", meta("group2", normal), protocol.EINVAL, false},
		{"info of an appender file with its CRC32", info(appender, 0), 0, true},
		{"metadata over smallDownload", meta("group1", bigMeta), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := dial(t, s)
			rc.alive()
			h, body := rc.Raw(c.req)
			dh, dbody := detached.Raw(c.req)
			if h.Status != c.status || dh.Status != c.status || !bytes.Equal(body, dbody) {
				t.Fatalf("status %d and %d bytes, detached %d and %d bytes; want status %d, the same bytes", h.Status, len(body), dh.Status, len(dbody), c.status)
			}
			rc.alive()
			if got := isDetached(s, rc); got != c.handoff {
				t.Fatalf("connection detached from the loop: %v, want %v", got, c.handoff)
			}
		})
	}
}

// isDetached reports whether rc's connection is served off the loop.
func isDetached(s *Server, rc *rawClient) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.RemoteAddr().String() == rc.Conn.LocalAddr().String() {
			return true
		}
	}
	return false
}
