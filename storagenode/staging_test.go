package storagenode

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/tmpfile"
)

// Every way a new file reaches a store path (upload, slave upload, replica
// create and update) gives the same files whether they are written
// without a name (O_TMPFILE, where the file system has it) or through a
// named temp file (the fallback), each world-readable and none leaving a
// temp file behind.
func TestNewFilesEitherWay(t *testing.T) {
	for _, named := range []bool{false, true} {
		t.Run(map[bool]string{false: "probed", true: "named temp files"}[named], func(t *testing.T) {
			cfg := testConfig(t)
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if named {
				for i := range s.staging {
					s.staging[i] = tmpfile.Named(s.tempPattern, fileMode)
				}
			}
			t.Logf("new files written as %s", s.staging[0].Mode())
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			allowSyncFrom(s, "127.0.0.1")
			rc := dial(t, s)
			want := map[string][]byte{}

			master := bytes.Repeat([]byte("m"), 5000)
			name := rc.upload(protocol.CmdUploadFile, 0, "bin", master)
			want[name] = master

			slave := []byte("slave content")
			req := protocol.UploadSlaveRequest{MasterName: name, FileSize: int64(len(slave)), Prefix: "_s", Ext: "bin"}
			st, body := rc.Do(protocol.CmdUploadSlaveFile, req.Encode(), slave)
			r, err := protocol.DecodeFileResponse(body)
			if st != 0 || err != nil {
				t.Fatalf("slave upload: status %d, %v", st, err)
			}
			want[r.Name] = slave

			src, _ := fileid.SourceFromIP("127.0.0.9")
			replica, err := fileid.Generate(0, 1, 1, fileid.Fields{Source: src, Timestamp: time.Now().Unix(), Size: 7, CRC32: 7}, "bin")
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []struct {
				cmd     byte
				content []byte
			}{{protocol.CmdSyncCreateFile, []byte("replica")}, {protocol.CmdSyncUpdateFile, []byte("updated")}} {
				req := protocol.SyncFileRequest{Name: replica, FileSize: int64(len(step.content)), Timestamp: 1, Group: "group1"}
				if st, _ := rc.Do(step.cmd, req.Encode(), step.content); st != 0 {
					t.Fatalf("sync cmd %d: status %d", step.cmd, st)
				}
				want[replica] = step.content
			}
			// A replica of a file we hold already is refused and changes nothing.
			req2 := protocol.SyncFileRequest{Name: replica, FileSize: 7, Timestamp: 1, Group: "group1"}
			if st, _ := rc.Do(protocol.CmdSyncCreateFile, req2.Encode(), []byte("again!!")); st != protocol.EEXIST {
				t.Errorf("sync create of an existing file: status %d, want EEXIST", st)
			}

			for n, content := range want {
				if st, got := rc.download(n, 0, 0); st != 0 || !bytes.Equal(got, content) {
					t.Errorf("%s: status %d, %q; want %q", n, st, got, content)
				}
				_, path, err := s.store.resolve(n)
				if err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != fileMode {
					t.Errorf("%s: mode %v, %v; want %v", n, fi.Mode().Perm(), err, fileMode)
				}
			}
			files := dataFiles(t, cfg.StorePaths[0])
			for _, f := range files {
				if strings.HasPrefix(filepath.Base(f), ".upload-") {
					t.Errorf("temp file left: %s", f)
				}
			}
			if len(files) != len(want) {
				t.Errorf("%d files in the data directories, want %d: %v", len(files), len(want), files)
			}
		})
	}
}
