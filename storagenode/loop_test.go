package storagenode

import (
	"bytes"
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
