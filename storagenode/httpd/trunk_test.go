package httpd

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/storagenode/trunk/trunktest"
)

// TestServeTrunkFiles serves the files of a store path that upstream wrote
// with trunks on: whole, ranged (fast path and net/http's multipart), HEAD;
// a deleted slot and a corrupt one are 404 and serve nothing.
func TestServeTrunkFiles(t *testing.T) {
	store, files := trunktest.Unpack(t)
	cfg := baseConfig(store)
	cfg.SubdirCount = 1
	cfg.IsLocal = func(fileid.Source) bool { return true }
	srv := newServer(t, cfg)
	var live []trunktest.File
	for _, f := range files {
		url := srv.URL + "/" + f.ID
		resp, body := get(t, "GET", url, nil)
		if f.Deleted {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("deleted %s: %d", f.ID, resp.StatusCode)
			}
			continue
		}
		live = append(live, f)
		if resp.StatusCode != 200 || !bytes.Equal(body, f.Content) {
			t.Fatalf("GET %s: %d, %d bytes, want %d", f.ID, resp.StatusCode, len(body), len(f.Content))
		}
		if len(f.Content) < 20 {
			continue
		}
		resp, body = get(t, "GET", url, map[string]string{"Range": "bytes=5-14"})
		if resp.StatusCode != 206 || !bytes.Equal(body, f.Content[5:15]) {
			t.Errorf("range of %s: %d %q", f.ID, resp.StatusCode, body)
		}
		resp, body = get(t, "GET", url, map[string]string{"Range": "bytes=0-1,-3"})
		want := fmt.Sprintf("Content-Range: bytes %d-%d/%d", len(f.Content)-3, len(f.Content)-1, len(f.Content))
		if resp.StatusCode != 206 || !strings.Contains(string(body), want) {
			t.Errorf("multi-range of %s: %d %q", f.ID, resp.StatusCode, body)
		}
		resp, body = get(t, "HEAD", url, nil)
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(f.Content)) || len(body) != 0 {
			t.Errorf("HEAD %s: %d length %d", f.ID, resp.StatusCode, resp.ContentLength)
		}
	}
	_, name, _ := fileid.Split(live[2].ID)
	n, err := fileid.Parse(name)
	if err != nil || !n.Trunk {
		t.Fatalf("%s: %v", live[2].ID, err)
	}
	f, err := os.OpenFile(trunk.Of(n).Path(store), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xFF}, int64(n.TrunkOffset)+9) // the CRC32 in the header
	f.Close()
	if resp, body := get(t, "GET", srv.URL+"/"+live[2].ID, nil); resp.StatusCode != http.StatusNotFound || bytes.Contains(body, live[2].Content) {
		t.Errorf("corrupt slot: %d %q", resp.StatusCode, body)
	}
}
