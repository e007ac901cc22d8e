package storagenode

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// nameAt makes the name a storage would give content at ts (unix
// seconds) in store path 0, directory 01/02, with src in it.
func nameAt(t *testing.T, src fileid.Source, ts int64, content []byte) string {
	t.Helper()
	return nameOn(t, 0, src, ts, content)
}

// sourceOf is what storage i of c puts in its file names: its IP, or its
// id in id mode; for an i past the storages, a source that is no member.
func (c *syncCluster) sourceOf(i int, idMode bool) fileid.Source {
	c.t.Helper()
	ip := "127.0.0.250"
	if i < len(c.cfgs) {
		ip = c.cfgs[i].BindAddr
	}
	src, err := fileid.SourceFromIP(ip)
	if idMode {
		src, err = fileid.SourceFromID(fmt.Sprint(100001 + i))
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return src
}

// plantFile writes content straight into storage i's store path under
// name, with no binlog record: a file uploaded there that has not been
// replicated.
func (c *syncCluster) plantFile(i int, name string, content []byte) string {
	c.t.Helper()
	p := mustParse(c.t, name).Path(c.cfgs[i].StorePaths)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return name
}

// downloadCase is a download and the answer it must get.
type downloadCase struct {
	what           string
	name           string
	offset, length int64
	status         byte
	want           []byte
}

// downloads sends each case's download and checks its answer; what
// prefixes the errors.
func (rc *rawClient) downloads(what string, cases []downloadCase) {
	rc.t.Helper()
	for _, tc := range cases {
		st, body := rc.download(tc.name, tc.offset, tc.length)
		if st != tc.status || !bytes.Equal(body, tc.want) {
			rc.t.Errorf("%s%s: status %d, %d bytes; want %d, %d bytes", what, tc.what, st, len(body), tc.status, len(tc.want))
		}
	}
}

// A client's read (download, metadata, file info) of a file that has not
// reached this storage yet is answered from the file's source storage;
// what cannot be on its way (a source that is no member, a file older
// than storage_sync_file_max_delay, a member asking) is ENOENT, as from
// upstream, without asking anyone.
func TestReadFromSource(t *testing.T) {
	for _, idMode := range []bool{false, true} {
		t.Run(map[bool]string{false: "ip", true: "id"}[idMode], func(t *testing.T) { readFromSource(t, idMode) })
	}
}

func readFromSource(t *testing.T, idMode bool) {
	c := newSyncClusterMode(t, "127.0.0.17", 2, idMode)
	c.start(0)
	c.waitActive(0)
	c.start(1)
	c.waitActive(1)
	a := c.nodes[0]
	now := time.Now().Unix()
	small := []byte("uploaded to storage 1 a moment ago")
	large := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // past smallDownload: sendfile's path
	b := c.sourceOf(1, idMode)
	smallName := c.plantFile(1, nameAt(t, b, now, small), small)
	largeName := c.plantFile(1, nameAt(t, b, now, large), large)
	neverMade := nameAt(t, b, now, []byte("nowhere"))
	forged := c.plantFile(1, nameAt(t, c.sourceOf(8, idMode), now, small), small) // its source is no member
	old := c.plantFile(1, nameAt(t, b, now-25*3600, small), small)                // past sync_file_max_delay (24 h)

	cl := dial(t, a)
	cl.downloads("", []downloadCase{
		{"small file", smallName, 0, 0, 0, small},
		{"large file", largeName, 0, 0, 0, large},
		{"range of the large file", largeName, 70_000, 1_000, 0, large[70_000:71_000]},
		{"offset past the end", smallName, 1_000, 0, protocol.EINVAL, nil},
		{"never made", neverMade, 0, 0, protocol.ENOENT, nil},
		{"source no member", forged, 0, 0, protocol.ENOENT, nil},
		{"older than sync_file_max_delay", old, 0, 0, protocol.ENOENT, nil},
	})
	// Metadata and file info of a file not here come from its source too;
	// a file here without its metadata yet is answered here.
	meta := protocol.PackMeta(map[string]string{"width": "640"})
	c.plantFile(1, smallName+metaSuffix, meta)
	if st, got := cl.fileCmd(protocol.CmdGetMetadata, smallName); st != 0 || !bytes.Equal(got, meta) {
		t.Errorf("metadata of a file not here: status %d, %q", st, got)
	}
	if st, info := cl.fileInfo(smallName, 0); st != 0 || info.Size != int64(len(small)) {
		t.Errorf("file info of a file not here: status %d, %+v", st, info)
	}
	here := c.plantFile(0, nameAt(t, b, now, []byte("here")), []byte("here"))
	c.plantFile(1, here+metaSuffix, meta)
	if st, _ := cl.fileCmd(protocol.CmdGetMetadata, here); st != protocol.ENOENT {
		t.Errorf("metadata of a file here, its metadata only at the source: status %d, want ENOENT", st)
	}
	cl.alive()
	// A member asking gets this storage's own answer.
	member := &rawClient{Client: wiretest.DialFrom(t, c.cfgs[1].BindAddr, a.Addr()), t: t}
	if st, _ := member.download(smallName, 0, 0); st != protocol.ENOENT {
		t.Errorf("a member's download: status %d, want ENOENT", st)
	}
	// The source gone (something else at its address hangs up on every
	// request): this storage's own answer again, and for the next
	// sourceRetryAfter without trying the source again. Only downloads
	// are counted: storage 0's replication may dial that address too.
	c.stop(1)
	srcAddr := net.JoinHostPort(c.cfgs[1].BindAddr, fmt.Sprint(c.port))
	ln, err := net.Listen("tcp", srcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var asked atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				if h, err := protocol.ReadHeader(conn); err == nil && h.Cmd == protocol.CmdDownloadFile {
					asked.Add(1)
				}
			}()
		}
	}()
	for i := range 2 {
		if st, _ := cl.download(smallName, 0, 0); st != protocol.ENOENT {
			t.Errorf("source gone, read %d: status %d, want ENOENT", i+1, st)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("the gone source was asked %d times, want once (then not for %v)", n, sourceRetryAfter)
	}
	cl.alive()
	if ok, refused, failed := a.sourceReads.ok.Load(), a.sourceReads.refused.Load(), a.sourceReads.failed.Load(); ok != 5 || refused != 2 || failed != 2 {
		t.Errorf("source reads ok/refused/failed %d/%d/%d, want 5/2/2 (refused: the offset past the end, the name never made)", ok, refused, failed)
	}
	if _, err := os.Stat(filepath.Join(c.cfgs[0].BasePath, dataKey(smallName))); err == nil {
		t.Error("a file read from its source was stored here: replication's job")
	}
}
