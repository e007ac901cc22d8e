package storagenode

import (
	"hash/crc32"
	"io"
	"runtime"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// patternReader yields n bytes of a repeating pattern without allocating.
type patternReader struct{ n, off int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = byte((r.off + int64(i)) % 251)
	}
	r.off += int64(len(p))
	return len(p), nil
}

// Uploading and downloading a file much larger than buff_size allocates
// far less than the file size: payloads are streamed, never buffered.
func TestStreamingMemory(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	const size = 32 << 20
	buf := make([]byte, 64<<10)
	want := crc32.NewIEEE()
	io.CopyBuffer(want, &patternReader{n: size}, buf)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	req := protocol.UploadRequest{FileSize: size, Ext: "bin"}
	hdr := protocol.Header{Length: protocol.UploadHeadLen + size, Cmd: protocol.CmdUploadFile}.Bytes()
	if _, err := rc.Conn.Write(append(hdr, req.Encode()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyBuffer(rc.Conn, &patternReader{n: size}, buf); err != nil {
		t.Fatal(err)
	}
	body, err := protocol.ReadResponse(rc.Conn, 1024)
	if err != nil {
		t.Fatal(err)
	}
	r, err := protocol.DecodeFileResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := protocol.WritePacket(rc.Conn, protocol.CmdDownloadFile, 0, (&protocol.DownloadRequest{Group: "group1", Name: r.Name}).Encode()); err != nil {
		t.Fatal(err)
	}
	h, err := protocol.ReadHeader(rc.Conn)
	if err != nil || h.Status != 0 || h.Length != size {
		t.Fatalf("download header %+v %v", h, err)
	}
	got := crc32.NewIEEE()
	if _, err := io.CopyBuffer(got, io.LimitReader(rc.Conn, size), buf); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got.Sum32() != want.Sum32() || mustParse(t, r.Name).CRC32 != want.Sum32() {
		t.Errorf("content CRC %08x, name CRC %08x, want %08x", got.Sum32(), mustParse(t, r.Name).CRC32, want.Sum32())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("moving %d MiB allocated %d bytes", 2*size>>20, alloc)
	}
}
