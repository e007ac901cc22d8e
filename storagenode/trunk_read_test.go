package storagenode

import (
	"bytes"
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
