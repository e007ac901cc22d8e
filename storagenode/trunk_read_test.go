package storagenode

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk/trunktest"
)

// TestTrunkReadUpstreamStore: our storage on a store path that upstream
// wrote with trunks on answers download (whole and ranged), file info,
// metadata and delete of its trunk files over the wire.
func TestTrunkReadUpstreamStore(t *testing.T) {
	store, files := trunktest.Unpack(t)
	cfg := testConfig(t)
	cfg.StorePaths, cfg.SubdirCountPerPath = []string{store}, 1
	s := startServer(t, cfg)
	rc := dial(t, s)
	var live []string
	content := map[string][]byte{}
	for _, f := range files {
		_, name, _ := fileid.Split(f.ID)
		st, body := rc.download(name, 0, 0)
		if f.Deleted {
			if st != protocol.ENOENT {
				t.Errorf("deleted %s: status %d", name, st)
			}
			continue
		}
		if st != 0 || !bytes.Equal(body, f.Content) {
			t.Fatalf("download %s: status %d, %d bytes, want %d", name, st, len(body), len(f.Content))
		}
		live, content[name] = append(live, name), f.Content
		if len(f.Content) > 40 {
			if st, body := rc.download(name, 7, 30); st != 0 || !bytes.Equal(body, f.Content[7:37]) {
				t.Errorf("range of %s: %d %q", name, st, body)
			}
		}
		if st, _ := rc.download(name, int64(len(f.Content)), 0); st != protocol.EINVAL {
			t.Errorf("offset at the end of %s: status %d", name, st)
		}
		st, fi := rc.fileInfo(name, 0)
		n := mustParse(t, name)
		if st != 0 || fi.Size != int64(len(f.Content)) || (n.Trunk && fi.CreateTime != n.Timestamp) || fi.CRC32 != n.CRC32 {
			t.Errorf("file info of %s: %d %+v", name, st, fi)
		}
		st, meta := rc.fileCmd(protocol.CmdGetMetadata, name)
		if f.Meta != nil {
			got, err := protocol.UnpackMeta(meta)
			if st != 0 || err != nil || len(got) != len(f.Meta) || got["owner"] != f.Meta["owner"] {
				t.Errorf("metadata of %s: %d %v %v", name, st, got, err)
			}
		} else if st != protocol.ENOENT {
			t.Errorf("metadata of %s without any: status %d", name, st)
		}
	}
	trunkName := slices.IndexFunc(live, func(n string) bool { return mustParse(t, n).Trunk })
	victim := live[trunkName]
	if st := rc.setMeta(victim, protocol.MetaMerge, protocol.PackMeta(map[string]string{"k": "v"})); st != 0 {
		t.Fatalf("set metadata of %s: %d", victim, st)
	}
	if st, _ := rc.fileCmd(protocol.CmdDeleteFile, victim); st != 0 {
		t.Fatalf("delete %s: %d", victim, st)
	}
	for _, cmd := range []byte{protocol.CmdDownloadFile, protocol.CmdGetMetadata, protocol.CmdQueryFileInfo, protocol.CmdDeleteFile} {
		var st byte
		if cmd == protocol.CmdDownloadFile {
			st, _ = rc.download(victim, 0, 0)
		} else {
			st, _ = rc.fileCmd(cmd, victim)
		}
		if st != protocol.ENOENT {
			t.Errorf("cmd %d on deleted %s: status %d", cmd, victim, st)
		}
	}
	want := []string{"U " + victim + "-m", "D " + victim, "D " + victim + "-m"} // it had metadata
	if got := binlogOps(t, s); len(got) < 3 || !slices.Equal(got[len(got)-3:], want) {
		t.Errorf("binlog %q, want %q", got, want)
	}
	for _, name := range live {
		if name == victim {
			continue
		}
		if st, body := rc.download(name, 0, 0); st != 0 || !bytes.Equal(body, content[name]) {
			t.Errorf("after the delete, %s: %d, %d bytes", name, st, len(body))
		}
	}
}

// TestTrunkBadInputWire: forged trunk IDs and a damaged trunk file over
// the wire: a clear status for each, no content served, the connection
// still answering, and the other files unharmed.
func TestTrunkBadInputWire(t *testing.T) {
	store, files := trunktest.Unpack(t)
	cfg := testConfig(t)
	cfg.StorePaths, cfg.SubdirCountPerPath = []string{store}, 1
	s := startServer(t, cfg)
	rc := dial(t, s)
	var live []trunktest.File
	for _, f := range files {
		if _, name, _ := fileid.Split(f.ID); !f.Deleted && mustParse(t, name).Trunk {
			live = append(live, f)
		}
	}
	_, a, _ := fileid.Split(live[2].ID)
	_, b, _ := fileid.Split(live[3].ID)
	na, nb := mustParse(t, a), mustParse(t, b)
	forge := func(n *fileid.Name, offset, size uint32) string {
		loc := make([]byte, 12)
		binary.BigEndian.PutUint32(loc, n.TrunkFileID)
		binary.BigEndian.PutUint32(loc[4:], offset)
		binary.BigEndian.PutUint32(loc[8:], size)
		return n.Name()[:fileid.PathPrefixLen+fileid.Base64Len] + fileid.EncodeBase64(loc) + n.File[fileid.Base64Len+fileid.TrunkInfoLen:]
	}
	cases := []struct {
		what string
		name string
		want byte
	}{
		{"another slot's offset", forge(na, nb.TrunkOffset, na.TrunkAllocSize), protocol.ENOENT},
		{"offset past the trunk file", forge(na, 1<<30, na.TrunkAllocSize), protocol.EINVAL},
		{"alloc size below the file size", forge(na, na.TrunkOffset, 30), protocol.EINVAL},
	}
	for _, c := range cases {
		for _, cmd := range []byte{protocol.CmdDownloadFile, protocol.CmdQueryFileInfo, protocol.CmdGetMetadata, protocol.CmdDeleteFile} {
			var st byte
			var body []byte
			if cmd == protocol.CmdDownloadFile {
				st, body = rc.download(c.name, 0, 0)
			} else {
				st, body = rc.fileCmd(cmd, c.name)
			}
			if st != c.want || len(body) != 0 {
				t.Errorf("%s, cmd %d: status %d with %d bytes, want %d", c.what, cmd, st, len(body), c.want)
			}
		}
	}
	// The trunk file cut short in the middle of b's slot: b is EINVAL,
	// a (before the cut) still served.
	path := filepath.Join(store, "data", "00", "00", "000001")
	if err := os.Truncate(path, int64(nb.TrunkOffset)+40); err != nil {
		t.Fatal(err)
	}
	if st, body := rc.download(b, 0, 0); st != protocol.EINVAL || len(body) != 0 {
		t.Errorf("download from a truncated trunk file: status %d, %d bytes", st, len(body))
	}
	if st, body := rc.download(a, 0, 0); st != 0 || !bytes.Equal(body, live[2].Content) {
		t.Errorf("slot before the cut: status %d, %d bytes", st, len(body))
	}
	rc.alive()
}
