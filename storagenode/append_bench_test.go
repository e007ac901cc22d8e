package storagenode

import (
	"fmt"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// BenchmarkAppend measures APPEND_FILE over loopback into one appender
// file (the content is received into a temp file, then copied in: see
// writeAt), per chunk size; SetBytes makes -bench report MB/s.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.BuffSize = 256 << 10
			s := startServer(b, cfg)
			c := wiretest.Dial(b, s.Addr())
			st, body := c.Do(protocol.CmdUploadAppenderFile, (&protocol.UploadRequest{Ext: "bin"}).Encode())
			if st != 0 {
				b.Fatalf("upload appender: status %d", st)
			}
			name := string(body[protocol.GroupNameLen:])
			chunk := make([]byte, size)
			head := (&protocol.AppendRequest{Name: name, Length: int64(size)}).Encode()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				if st, _ := c.Do(protocol.CmdAppendFile, head, chunk); st != 0 {
					b.Fatalf("append: status %d", st)
				}
			}
		})
	}
}
