package storagenode

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// TestSyncIntoTrunkFile: a replica of a trunk file (SYNC_CREATE_FILE) is
// taken whatever state this storage's copy of its trunk file is in: none
// yet, empty or shorter than the slot (the state another writer creating
// it left before: a permanent EINVAL then, and the senders skipped the
// record for good), with what the file already holds kept. Replicas of
// many slots of a new trunk file arriving at once are all taken.
func TestSyncIntoTrunkFile(t *testing.T) {
	const slot = 512 // bytes, header included
	src, _ := fileid.SourceFromIP("127.0.0.9")
	replica := func(t *testing.T, i int) (string, []byte) {
		content := bytes.Repeat([]byte{byte('a' + i)}, 100+i)
		name, err := fileid.Generate(0, 1, 2, fileid.Fields{Source: src, Timestamp: time.Now().Unix(), Size: int64(len(content)),
			CRC32: crc32.ChecksumIEEE(content), Trunk: true, TrunkFileID: 1, TrunkOffset: uint32((i + 1) * slot), TrunkAllocSize: slot}, "bin")
		if err != nil {
			t.Fatal(err)
		}
		return name, content
	}
	send := func(t *testing.T, rc *rawClient, name string, content []byte) byte {
		req := protocol.SyncFileRequest{Name: name, FileSize: int64(len(content)), Timestamp: 1, Group: "group1"}
		st, _ := rc.Do(protocol.CmdSyncCreateFile, req.Encode(), content)
		return st
	}
	neighbour := bytes.Repeat([]byte{0xAA}, slot)
	for _, tt := range []struct {
		name   string
		before []byte // the trunk file's content before; nil: no file
	}{{"no trunk file", nil}, {"empty trunk file", []byte{}}, {"short trunk file", neighbour}} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, testConfig(t))
			allowSyncFrom(s, "127.0.0.1")
			rc := dial(t, s)
			name, content := replica(t, 3)
			path := trunk.Of(mustParse(t, name)).Path(s.store.paths[0])
			if tt.before != nil {
				if err := os.MkdirAll(path[:len(path)-len("000001")], 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tt.before, fileMode); err != nil {
					t.Fatal(err)
				}
			}
			if st := send(t, rc, name, content); st != 0 {
				t.Fatalf("sync create: status %d", st)
			}
			if st, got := rc.download(name, 0, 0); st != 0 || !bytes.Equal(got, content) {
				t.Errorf("download: status %d, %d bytes", st, len(got))
			}
			b, err := os.ReadFile(path)
			if err != nil || len(b) < 5*slot {
				t.Fatalf("trunk file: %d bytes, %v", len(b), err)
			}
			if !bytes.Equal(b[:len(tt.before)], tt.before) {
				t.Error("what the trunk file held changed")
			}
		})
	}
	t.Run("slots of a new trunk file at once", func(t *testing.T) {
		s := startServer(t, testConfig(t))
		allowSyncFrom(s, "127.0.0.1")
		const n = 8
		names, contents := make([]string, n), make([][]byte, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			rc := dial(t, s)
			name, content := replica(t, i)
			names[i], contents[i] = name, content
			wg.Go(func() {
				if st := send(t, rc, name, content); st != 0 {
					errs <- fmt.Errorf("sync create of slot %d: status %d", i, st)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		rc := dial(t, s)
		for i, name := range names {
			if st, got := rc.download(name, 0, 0); st != 0 || !bytes.Equal(got, contents[i]) {
				t.Errorf("slot %d: status %d, %d bytes", i, st, len(got))
			}
		}
	})
}
