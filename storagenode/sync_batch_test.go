package storagenode

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// A storage that joins after its peer stored files catches up with
// pipelined batches (its records are older than batchLag), and the
// records a batch cannot carry in the middle of the run (a file larger
// than the send buffer takes, a deleted file, metadata, an appender and
// its append) still arrive in order: the two copies end up the same.
func TestSyncCatchUpPipelined(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.14", 2)
	a := c.start(0)
	c.waitActive(0)
	rc := dial(t, a)
	var names []string
	for i := range 150 {
		switch i {
		case 40:
			big := rc.upload(protocol.CmdUploadFile, 0, "dat", bytes.Repeat([]byte("big"), 100_000))
			names = append(names, big)
		case 60:
			gone := rc.upload(protocol.CmdUploadFile, 0, "bin", []byte("deleted"))
			if st, _ := rc.fileCmd(protocol.CmdDeleteFile, gone); st != 0 {
				t.Fatalf("delete: %d", st)
			}
		case 80:
			if st := rc.setMeta(names[0], protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"w": "1"})); st != 0 {
				t.Fatalf("set meta: %d", st)
			}
		case 100:
			app := rc.upload(protocol.CmdUploadAppenderFile, 0, "log", []byte("12345"))
			if st, _ := rc.Do(protocol.CmdAppendFile, appendReq(app, []byte("678")), []byte("678")); st != 0 {
				t.Fatalf("append: %d", st)
			}
			names = append(names, app)
		}
		names = append(names, rc.upload(protocol.CmdUploadFile, 0, "txt", []byte(fmt.Sprintf("small file %d", i))))
	}
	time.Sleep(batchLag) // every record is behind by batchLag when the peer comes

	b := c.start(1)
	c.waitActive(1)
	files := c.waitSame(0, 1)
	if want := len(names) + 1; len(files) != want { // + the metadata file
		t.Errorf("%d files synced, want %d: %s", len(files), want, describe(files))
	}
	if piped := pipelined(a); piped < 100 {
		t.Errorf("%d records pipelined, want most of the 150 small files", piped)
	}
	// Each record was scanned once: the mark a session of this run wrote
	// is not taken back to the binlog's end at start by the next session
	// (that resent every record of the run to a peer that joined).
	records := int64(len(binlogOps(t, a)))
	markFile := filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", c.cfgs[1].BindAddr, c.port))
	var scanned int64
	eventually(t, "the source's mark to reach the end of its binlog", func() bool {
		m, err := loadMark(markFile)
		scanned = m.ScanRows
		return err == nil && m.ScanRows >= records && b.Status() == protocol.StatusActive
	})
	time.Sleep(500 * time.Millisecond) // a session started by the ACTIVE status has saved its mark
	if m, err := loadMark(markFile); err != nil || m.ScanRows != records {
		t.Errorf("mark scanned %d records (%d when caught up), the binlog has %d (err %v)", m.ScanRows, scanned, records, err)
	}

	// Changes made now reach the peer too.
	rb := dial(t, b)
	fromB := rb.upload(protocol.CmdUploadFile, 0, "jpg", []byte("from b"))
	fromA := rc.upload(protocol.CmdUploadFile, 0, "jpg", []byte("from a"))
	files = c.waitSame(0, 1)
	if files[dataKey(fromB)] != "from b" || files[dataKey(fromA)] != "from a" {
		t.Errorf("after new uploads: %s", describe(files))
	}
}

// pipelined is how many records s has sent in pipelined batches.
func pipelined(s *Server) int64 {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	var n int64
	for _, w := range s.repl.workers {
		n += w.nPipelined.Load()
	}
	return n
}

// Our storage answers the pipelining probe with the probe's status; a
// plain ACTIVE_TEST still gets 0 (upstream's answer to both).
func TestPipelineProbe(t *testing.T) {
	s := startServer(t, testConfig(t))
	wc := wiretest.Dial(t, s.Addr())
	for _, tc := range []struct{ status, want byte }{{0, 0}, {protocol.PipelineProbe, protocol.PipelineProbe}, {0, 0}} {
		h, body := wc.Raw(wiretest.Packet(protocol.CmdActiveTest, tc.status))
		if h.Status != tc.want || len(body) != 0 {
			t.Errorf("ACTIVE_TEST with status %d: status %d, %d body bytes; want %d", tc.status, h.Status, len(body), tc.want)
		}
	}
}
