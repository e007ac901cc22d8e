package trunk

import (
	"bytes"
	"os"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestWholeTrunkDownload: a DOWNLOAD_FILE of a trunk file's own name
// ("M00/HH/LL/NNNNNN"), which upstream's disk recovery sends its peer for
// every trunk file, is answered with the trunk file's bytes to a member of
// the group (whole, or a range), and EPERM to anybody else: the trunk file
// holds every file in it, to be read without their IDs.
func TestWholeTrunkDownload(t *testing.T) {
	c := startCluster(t, 2)
	id := rawUpload(t, storageAt(t, c, 0), payload.Bytes(1, 3000))
	waitReplicated(t, c, map[string][]byte{id: payload.Bytes(1, 3000)}, 0, 1)
	loc := trunk.Of(parse(t, id)).Trunk()
	want, err := os.ReadFile(loc.Path(c.StorageConf(0).StorePaths[0]))
	if err != nil {
		t.Fatal(err)
	}
	name := loc.Name()
	member := c.Storages[1].IP
	for _, tc := range []struct {
		name           string
		from           string
		offset, length int64
		status         byte
		want           []byte
	}{
		{"member, whole", member, 0, 0, 0, want},
		{"member, range", member, 100, 50, 0, want[100:150]},
		{"stranger", "127.0.0.1", 0, 0, protocol.EPERM, nil},
		{"member, past the end", member, int64(len(want)), 0, protocol.EINVAL, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := wiretest.DialFrom(t, tc.from, c.StorageAddrs()[0]) // a new connection: the loop hands it off
			req := protocol.DownloadRequest{Group: "group1", Name: name, Offset: tc.offset, Length: tc.length}
			st, got := rc.Do(protocol.CmdDownloadFile, req.Encode())
			if st != tc.status || !bytes.Equal(got, tc.want) {
				t.Fatalf("%s from %s: status %d, %d bytes; want %d, %d bytes", name, tc.from, st, len(got), tc.status, len(tc.want))
			}
		})
	}
	// A name that is not a trunk file's is refused as before.
	rc := wiretest.DialFrom(t, member, c.StorageAddrs()[0])
	if st, _ := rc.Do(protocol.CmdDownloadFile, (&protocol.DownloadRequest{Group: "group1", Name: "M00/00/00/00001"}).Encode()); st != protocol.EINVAL {
		t.Fatalf("a short name: status %d, want EINVAL", st)
	}
}
