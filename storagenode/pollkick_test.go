package storagenode

import (
	"bytes"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/pollkick"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// Requests that come back to back, each already there when the last is
// answered, make the connection's goroutine kick the runtime into polling
// the network (internal/pollkick): 300 uploads written at once are served
// without a wait for well over the 100 µs a streak may last.
func TestBackToBackRequestsKick(t *testing.T) {
	s := startServer(t, testConfig(t))
	c := wiretest.Dial(t, s.Addr())
	up := protocol.UploadRequest{FileSize: 5, Ext: "txt"}
	var batch bytes.Buffer
	const n = 300
	for range n {
		batch.Write(wiretest.Packet(protocol.CmdUploadFile, 0, up.Encode(), []byte("hello")))
	}
	before := pollkick.Count()
	if _, err := c.Conn.Write(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if h, _ := c.Read(); h.Status != 0 {
			t.Fatalf("upload %d: status %d", i, h.Status)
		}
	}
	if pollkick.Count() == before {
		t.Error("300 uploads served back to back kicked the poller not once")
	}
}
