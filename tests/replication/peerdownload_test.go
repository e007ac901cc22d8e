package replication

import (
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestEmptyFileDownload: upstream's disk recovery downloads every file of
// its peer's binlog, empty ones too, and retries a refused one for good.
// A member of the group gets an empty file as 0 bytes; anybody else gets
// EINVAL (an offset at the end), as upstream answers, on a fresh
// connection (the event loop hands it over) and on a used one.
func TestEmptyFileDownload(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	id := upload(t, c.Client, nil, client.UploadOptions{Ext: "txt"})
	full := upload(t, c.Client, []byte("content"), client.UploadOptions{Ext: "txt"})
	want := newFiles()
	want.add(id, nil)
	want.add(full, []byte("content"))
	waitEverywhere(t, c.Storages, want.snapshot())
	src, err := c.Client.QueryFetch(opCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var member string
	for _, s := range c.Storages {
		if s.Addr() != src.Addr() {
			member = s.IP
		}
	}
	g, name, _ := fileid.Split(id)
	req := (&protocol.DownloadRequest{Group: g, Name: name}).Encode()
	for _, tc := range []struct {
		from   string
		status byte
	}{
		{member, 0},
		{"127.0.0.1", protocol.EINVAL},
	} {
		rc := wiretest.DialFrom(t, tc.from, src.Addr())
		for i := range 2 { // the second on a used connection
			if st, body := rc.Do(protocol.CmdDownloadFile, req); st != tc.status || len(body) != 0 {
				t.Fatalf("download %d of the empty file from %s: status %d, %d bytes; want %d", i, tc.from, st, len(body), tc.status)
			}
		}
		// Other files as ever.
		g, name, _ := fileid.Split(full)
		if st, body := rc.Do(protocol.CmdDownloadFile, (&protocol.DownloadRequest{Group: g, Name: name}).Encode()); st != 0 || string(body) != "content" {
			t.Fatalf("download of a file from %s: status %d, %q", tc.from, st, body)
		}
	}
}
