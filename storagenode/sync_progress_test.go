package storagenode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// The progress record: read back only whole, for the mark it was written
// against, and never behind that mark.
func TestProgressRecord(t *testing.T) {
	mark := binlog.Pos{Index: 2, Offset: 400}
	valid := syncProgress{mark: mark, pos: binlog.Pos{Index: 3, Offset: 120}}.encode()
	flip := func(i int) []byte {
		b := append([]byte(nil), valid...)
		b[i] ^= 1
		return b
	}
	for _, tc := range []struct {
		what string
		file []byte // nil: no file
		mark binlog.Pos
		want binlog.Pos
		ok   bool
	}{
		{"valid", valid, mark, binlog.Pos{Index: 3, Offset: 120}, true},
		{"written against another mark (moved back by hand, or a fresh one)", valid, binlog.Pos{Index: 2, Offset: 0}, binlog.Pos{}, false},
		{"no file", nil, mark, binlog.Pos{}, false},
		{"zeros (a power loss)", make([]byte, progressLen), mark, binlog.Pos{}, false},
		{"torn", valid[:progressLen/2], mark, binlog.Pos{}, false},
		{"a bit flipped in the position", flip(20), mark, binlog.Pos{}, false},
		{"a bit flipped in the check", flip(30), mark, binlog.Pos{}, false},
		{"not a progress file", []byte(strings.Repeat("binlog_index=0\n", 3)), mark, binlog.Pos{}, false},
		{"behind its mark", syncProgress{mark: mark, pos: binlog.Pos{Index: 2, Offset: 399}}.encode(), mark, binlog.Pos{}, false},
		{"at its mark", syncProgress{mark: mark, pos: mark}.encode(), mark, mark, true},
	} {
		t.Run(tc.what, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "10.0.0.7_23000.sent")
			if tc.file != nil {
				if err := os.WriteFile(path, tc.file, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, ok := readProgress(path, tc.mark)
			if ok != tc.ok || got != tc.want {
				t.Errorf("readProgress = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestSyncResumesFromProgress: a source started again with its mark behind
// (what a crash between two writes of the mark leaves) goes on from where
// its progress file says the peer was, without sending the records between
// again; a progress file written against another mark (one moved back by
// hand to send records again) is ignored.
func TestSyncResumesFromProgress(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.13", 2)
	logs := logsOnFailure(t)
	for i := range c.nodes {
		startLogged(t, c, i, logs)
	}
	c.waitActive(0, 1)
	markPath := filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", c.cfgs[1].BindAddr, c.port))
	upload := func(content string) string {
		name := dial(t, c.nodes[0]).upload(protocol.CmdUploadFile, 0, "bin", []byte(content))
		eventually(t, "the file to reach the peer", func() bool { return c.holds(1, name) })
		// The peer holds the file before the source has its answer and
		// moves past the record: a stop before that leaves the record to
		// be sent again, and the counts below one off.
		eventually(t, "the source to move past the file's record", func() bool { return sentAll(c.nodes[0]) })
		return name
	}
	for i := range 5 {
		upload(fmt.Sprintf("file %d", i))
	}
	// scanned is how many records the source has read for the peer since
	// the mark was rewound, once a new file reached the peer.
	scanned := func() int64 {
		upload("one more")
		c.stop(0)
		m, err := loadMark(markPath)
		if err != nil {
			t.Fatal(err)
		}
		return m.ScanRows
	}
	for _, tc := range []struct {
		what     string
		progress bool // a progress file past the rewound mark
		want     int64
	}{
		{"the progress file past the mark", true, 1},
		{"no progress for the rewound mark", false, 7},
	} {
		c.stop(0)
		m, err := loadMark(markPath)
		if err != nil {
			t.Fatal(err)
		}
		end := binlog.Pos{Index: m.Index, Offset: m.Offset}
		rewindMarkFile(t, markPath)
		if tc.progress {
			if err := os.WriteFile(progressPath(markPath), syncProgress{pos: end}.encode(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		startLogged(t, c, 0, logs)
		if got := scanned(); got != tc.want {
			t.Errorf("%s: %d records read after the restart, want %d", tc.what, got, tc.want)
		}
		startLogged(t, c, 0, logs)
	}
}

// sentAll says whether every sync worker of s has moved past the last
// record of its binlog.
func sentAll(s *Server) bool {
	index, size, _ := s.bl.Stat()
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	for _, w := range s.repl.workers {
		if i, off, ok := unpackPos(w.pos.Load()); !ok || i != index || off != size {
			return false
		}
	}
	return len(s.repl.workers) > 0
}

// TestSyncExactStartNoGaps: a session that starts where the last one
// stopped (the progress file vouches for the mark) takes only its first
// record for one the peer may have had unrecorded: after that record comes
// back EEXIST, the files the peer lacks are sent at once, not deferred as
// gaps for the gap hold.
func TestSyncExactStartNoGaps(t *testing.T) {
	c, logs := oneAtATimePair(t, "127.0.2.1")
	onPeer := func(name string) bool { return c.holds(1, name) }
	first := dial(t, c.nodes[0]).upload(protocol.CmdUploadFile, 0, "bin", []byte("the peer has it"))
	eventually(t, "the first file to reach the peer", func() bool { return onPeer(first) })
	c.stop(1)
	var later []string
	for i := range 3 {
		later = append(later, dial(t, c.nodes[0]).upload(protocol.CmdUploadFile, 0, "bin", []byte(fmt.Sprintf("made while the peer was down %d", i))))
	}
	// The source restarts at the first record, as if it had been in
	// flight when the last session ended: the progress file says so.
	c.stop(0)
	markPath := filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", c.cfgs[1].BindAddr, c.port))
	rewindMarkFile(t, markPath)
	if err := os.WriteFile(progressPath(markPath), syncProgress{}.encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	startLogged(t, c, 1, logs)
	startLogged(t, c, 0, logs)
	eventually(t, "the files made while the peer was down to reach it", func() bool {
		return onPeer(later[0]) && onPeer(later[1]) && onPeer(later[2])
	})
	if strings.Contains(logs.String(), "deferring it") {
		t.Error("records deferred as gaps after an exact start")
	}
}

// encode is the record as the file holds it.
func (p syncProgress) encode() []byte {
	b := make([]byte, progressLen)
	p.encodeTo(b)
	return b
}
