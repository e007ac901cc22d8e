package engine

import (
	"context"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestStatSource reads an appender file's size, metadata and (on demand)
// CRC32 at its source storage, as upload sessions do.
func TestStatSource(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	id, err := cl.UploadAppender(ctx, strings.NewReader("abc"), 3, client.UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.StatSource(ctx, id, false)
	if err != nil || st.Size != 3 || st.Meta != nil || st.CRC32 != 0 {
		t.Fatalf("without metadata: %+v, %v", st, err)
	}
	if err := cl.Modify(ctx, id, 3, strings.NewReader("defg"), 4); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetMetadata(ctx, id, map[string]string{"k": "v"}, protocol.MetaOverwrite); err != nil {
		t.Fatal(err)
	}
	st, err = cl.StatSource(ctx, id, true)
	if err != nil || st.Size != 7 || st.Meta["k"] != "v" || st.CRC32 != crc32.ChecksumIEEE([]byte("abcdefg")) {
		t.Fatalf("after a modify at the end: %+v, %v", st, err)
	}
	if err := cl.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.StatSource(ctx, id, false); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("deleted file: %v, want ENOENT", err)
	}
}
