package replication

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestAppendsCross: an appender file is appended to at its source A while
// B is down, A goes down before the append reaches B, and a client appends
// to it at B meanwhile. When A is back each one's append reaches the other
// as a range it already holds, with other bytes: both appends were
// acknowledged and neither storage may drop its own, so each keeps its
// copy (as upstream's storages do) and counts the conflict
// (fdfs_storage_sync_append_conflicts_total) for an operator to settle.
func TestAppendsCross(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2, StorageConf: []string{"metrics_listen = 127.0.0.1:0"}})
	a, b := c.Storages[0], c.Storages[1]
	base := []byte("an appender file appended to at two storages")
	id, err := c.Client.UploadAppender(opCtx(t), bytes.NewReader(base), int64(len(base)), client.UploadOptions{Ext: "log",
		Storage: &client.Server{Group: "group1", IP: a.IP, Port: a.Port, StorePathIndex: protocol.StoreAnyPath}})
	if err != nil {
		t.Fatal(err)
	}
	want := newFiles()
	want.add(id, base)
	waitEverywhere(t, c.Storages, want.snapshot())

	crossWhileDown(t, c, func() {
		if err := c.Client.Append(opCtx(t), id, strings.NewReader("at A"), 4); err != nil {
			t.Fatal(err)
		}
	}, func() {
		_, name, _ := fileid.Split(id)
		rc := wiretest.DialFrom(t, "127.0.0.1", b.Addr())
		if st, _ := rc.Do(protocol.CmdAppendFile, (&protocol.AppendRequest{Name: name, Length: 4}).Encode(), []byte("at B")); st != 0 {
			t.Fatalf("append at B: status %d", st)
		}
	}, false)

	for i, s := range []*cluster.Storage{a, b} {
		own := append(bytes.Clone(base), "at "+"AB"[i:i+1]...)
		if got, err := os.ReadFile(storedPath(t, s, id)); err != nil || !bytes.Equal(got, own) {
			t.Errorf("%s holds %q (%v), want its own append %q", "AB"[i:i+1], got, err, own)
		}
		if n := appendConflicts(t, s); n != 1 {
			t.Errorf("%s counted %v append conflicts, want 1", "AB"[i:i+1], n)
		}
	}
}

// appendConflicts reads fdfs_storage_sync_append_conflicts_total from the
// storage's /metrics.
func appendConflicts(t *testing.T, s *cluster.Storage) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "fdfs_storage_sync_append_conflicts_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s: no fdfs_storage_sync_append_conflicts_total in /metrics", s.Addr())
	return 0
}
