package storagenode

import (
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A create whose binlog record cannot be written is answered EIO and
// leaves nothing behind: no placed file (it would be an orphan no client
// knows the name of, never replicated), no temp file; a regenerate whose
// rename record fails keeps the file under its old name.
//
// The binlog writer keeps its file open, so taking write permission away
// from the file or its directory would not make a record fail (and would
// not stop root anyway); closing the writer under the running server does,
// for every user, the way a failed write or rotation would.
func TestBinlogFailureLeavesNothing(t *testing.T) {
	s := startServer(t, testConfig(t))
	rc := dial(t, s)
	master := rc.upload(protocol.CmdUploadFile, 0, "jpg", []byte("master"))
	appender := rc.upload(protocol.CmdUploadAppenderFile, 0, "log", []byte("appender"))
	before := dataFiles(t, s.cfg.StorePaths[0])
	records := binlogOps(t, s)

	if err := s.bl.Close(); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []byte{protocol.CmdUploadFile, protocol.CmdUploadAppenderFile} {
		req := protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: 5, Ext: "txt"}
		if st, body := rc.Do(cmd, req.Encode(), []byte("hello")); st != protocol.EIO || len(body) != 0 {
			t.Errorf("cmd %d with a failing binlog: status %d body %q, want EIO", cmd, st, body)
		}
	}
	slave := protocol.UploadSlaveRequest{MasterName: master, FileSize: 5, Prefix: "_s", Ext: "jpg"}
	if st, _ := rc.Do(protocol.CmdUploadSlaveFile, slave.Encode(), []byte("slave")); st != protocol.EIO {
		t.Errorf("slave upload with a failing binlog: status %d, want EIO", st)
	}
	if st, _ := rc.Do(protocol.CmdRegenerateAppenderFilename, []byte(appender)); st != protocol.EIO {
		t.Errorf("regenerate with a failing binlog: status %d, want EIO", st)
	}

	if after := dataFiles(t, s.cfg.StorePaths[0]); !slices.Equal(before, after) {
		t.Errorf("files after the failed requests:\n%v\nbefore:\n%v", after, before)
	}
	if st, b := rc.download(appender, 0, 0); st != 0 || string(b) != "appender" {
		t.Errorf("appender after a failed regenerate: %d %q", st, b)
	}
	if got := binlogOps(t, s); !slices.Equal(got, records) {
		t.Errorf("binlog records %v, want still %v", got, records)
	}
	rc.alive()
}
