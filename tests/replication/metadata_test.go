package replication

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestMetadataSetsCross: a file's metadata is set at its source A while B
// is down and A goes down before the set reaches B; B, back, takes a later
// set from a client (the trackers name B while A is down). When A is back
// the two sets cross, each storage sending the other its own. Both must
// end with the later one: before, each took whatever copy arrived last
// (a source sends the copy it holds then), and B's later set was lost on
// one storage or both, for good (upstream's storages do the same).
func TestMetadataSetsCross(t *testing.T) {
	first := map[string]string{"v": "0"}
	for _, tc := range []struct {
		name    string
		initial map[string]string // the file's metadata at upload; nil for none
		atB     map[string]string // B's later set (an overwrite); nil: an empty overwrite
		restart bool              // B restarted between its set and A's return
	}{
		{"overwrite", first, map[string]string{"v": "2"}, false},
		{"first metadata on both", nil, map[string]string{"v": "2"}, false},
		{"cleared at B, B restarted", first, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cluster.Start(t, cluster.Options{Storages: 2})
			a, b := c.Storages[0], c.Storages[1]
			data := []byte("a file whose metadata is set twice")
			id := upload(t, c.Client, data, client.UploadOptions{Ext: "bin", Meta: tc.initial,
				Storage: &client.Server{Group: "group1", IP: a.IP, Port: a.Port, StorePathIndex: protocol.StoreAnyPath}})
			want := newFiles()
			want.add(id, data)
			if tc.initial != nil {
				want.add(id+metaSuffix, protocol.PackMeta(tc.initial))
			}
			waitEverywhere(t, c.Storages, want.snapshot())

			var setAtA int64
			crossWhileDown(t, c, func() {
				setMetaAt(t, a, id, map[string]string{"v": "1"})
				setAtA = time.Now().Unix()
			}, func() {
				// A later second than A's set: the record times tell them apart.
				testwait.Until(t, 3*time.Second, "the next second", func() bool { return time.Now().Unix() > setAtA })
				setMetaAt(t, b, id, tc.atB)
			}, tc.restart) // with restart, B's clearing is remembered from its binlog

			for i, s := range c.Storages {
				got, err := os.ReadFile(storedPath(t, s, id+metaSuffix))
				switch {
				case tc.atB == nil && err == nil:
					t.Errorf("%s: metadata %q, cleared at B after A's set", "AB"[i:i+1], got)
				case tc.atB != nil && !bytes.Equal(got, protocol.PackMeta(tc.atB)):
					t.Errorf("%s: metadata %q (%v), want B's later set %q", "AB"[i:i+1], got, err, protocol.PackMeta(tc.atB))
				}
			}
		})
	}
}

// setMetaAt overwrites fileID's metadata at storage s itself (the client
// would ask the tracker); nil or empty meta clears it.
func setMetaAt(t *testing.T, s *cluster.Storage, fileID string, meta map[string]string) {
	t.Helper()
	g, name, _ := fileid.Split(fileID)
	rc := wiretest.DialFrom(t, "127.0.0.1", s.Addr())
	req := protocol.SetMetadataRequest{Name: name, Flag: protocol.MetaOverwrite, Group: g}
	if len(meta) > 0 {
		req.Meta = protocol.PackMeta(meta)
	}
	if st, _ := rc.Do(protocol.CmdSetMetadata, req.Encode()); st != 0 {
		t.Fatalf("set metadata of %s at %s: status %d", fileID, s.Addr(), st)
	}
}
