package storagenode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
)

// The changelog lines a tracker sends (CHANGELOG_REQ) rename the sync mark
// of a peer whose address changed and remove a deleted peer's, for our
// group only; the recorded initial-sync source follows.
func TestApplyChangelog(t *testing.T) {
	tests := []struct {
		name    string
		marks   []string // peers with a mark before
		syncSrc string
		log     string
		after   []string // peers with a mark after
		src     string
	}{
		{"address change renames", []string{"10.0.0.7"}, "10.0.0.7",
			"1700000000 group1 10.0.0.7 3 10.0.0.9\n", []string{"10.0.0.9"}, "10.0.0.9"},
		{"renamed twice in one answer", []string{"10.0.0.7"}, "",
			"1 group1 10.0.0.7 3 10.0.0.8\n2 group1 10.0.0.8 3 10.0.0.9\n", []string{"10.0.0.9"}, ""},
		{"a mark for the new address is kept", []string{"10.0.0.7", "10.0.0.9"}, "",
			"1 group1 10.0.0.7 3 10.0.0.9\n", []string{"10.0.0.7", "10.0.0.9"}, ""},
		{"deleted peer's mark removed", []string{"10.0.0.7", "10.0.0.8"}, "10.0.0.8",
			"1 group1 10.0.0.8 4 \n", []string{"10.0.0.7"}, ""},
		{"other group ignored", []string{"10.0.0.7"}, "10.0.0.7",
			"1 group2 10.0.0.7 3 10.0.0.9\n1 group2 10.0.0.7 4 \n", []string{"10.0.0.7"}, "10.0.0.7"},
		{"malformed lines skipped", []string{"10.0.0.7"}, "",
			"garbage\n1 group1 10.0.0.7 3\n1 group1 10.0.0.7 9 10.0.0.9\n1 group1 10.0.0.7 3 \n\n", []string{"10.0.0.7"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, testConfig(t))
			for _, ip := range tc.marks {
				if err := os.WriteFile(s.peerMarkPath(ip), []byte("binlog_index=0\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				// Its deferred records follow it, renamed or removed.
				if err := os.WriteFile(siblingPath(s.peerMarkPath(ip), ".deferred"), []byte(ip+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s.store.initFlag.set(flagSyncSrcServer, tc.syncSrc)
			s.applyChangelog([]byte(tc.log))
			var after []string
			names, _ := filepath.Glob(filepath.Join(s.store.syncDir(), "*.mark"))
			for _, n := range names {
				ip, _, _ := strings.Cut(filepath.Base(n), "_")
				after = append(after, ip)
			}
			if strings.Join(after, " ") != strings.Join(tc.after, " ") {
				t.Errorf("marks after: %v, want %v", after, tc.after)
			}
			deferred, _ := filepath.Glob(filepath.Join(s.store.syncDir(), "*.deferred"))
			if len(deferred) != len(tc.after) {
				t.Errorf("deferred records files after: %v, want one beside each mark", deferred)
			}
			for _, ip := range tc.after {
				if _, err := os.Stat(siblingPath(s.peerMarkPath(ip), ".deferred")); err != nil {
					t.Errorf("%s: %v", ip, err)
				}
			}
			if got := s.store.initFlag.get(flagSyncSrcServer); got != tc.src {
				t.Errorf("sync source %q, want %q", got, tc.src)
			}
		})
	}
}

// A file named after a peer's old address is looked for at the peer's
// new one (the HTTP redirect of a file not here yet), and one named after
// our own old address is ours, also after a restart.
func TestMovedAddresses(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	peerFile := mustParse(t, fileName(t, "10.0.0.7"))
	if addr, ok := s.sourceHTTPAddr(peerFile); ok {
		t.Fatalf("source of a peer's file before the trackers listed the peer: %s", addr)
	}
	allowSyncFrom(s, "10.0.0.7", "10.0.0.9")
	if addr, _ := s.sourceHTTPAddr(peerFile); addr != "10.0.0.7:0" {
		t.Fatalf("source of a peer's file before any change: %s", addr)
	}
	s.applyChangelog([]byte("1 group1 10.0.0.7 3 10.0.0.8\n2 group1 10.0.0.8 3 10.0.0.9\n"))
	if err := s.moved.add("10.0.0.5", "127.0.0.1"); err != nil { // as reportIPChange records ours
		t.Fatal(err)
	}
	ownFile := mustParse(t, fileName(t, "10.0.0.5"))
	check := func(s *Server, when string) {
		t.Helper()
		if addr, _ := s.sourceHTTPAddr(peerFile); addr != "10.0.0.9:0" {
			t.Errorf("%s: a file of the peer that moved twice is looked for at %s", when, addr)
		}
		if !s.isLocalSource(ownFile.Source) {
			t.Errorf("%s: a file named after our old address is not ours", when)
		}
		if s.isLocalSource(peerFile.Source) {
			t.Errorf("%s: a peer's file is taken for ours", when)
		}
	}
	check(s, "after the changes")
	s.Close()
	s = startServer(t, cfg)
	allowSyncFrom(s, "10.0.0.7", "10.0.0.9")
	check(s, "after a restart")
}

// fileName is a normal file's name with source ip.
func fileName(t *testing.T, ip string) string {
	t.Helper()
	src, err := fileid.SourceFromIP(ip)
	if err != nil {
		t.Fatal(err)
	}
	n, err := fileid.Generate(0, 0, 0, fileid.Fields{Source: src, Timestamp: 1700000000, Size: 10, CRC32: 7}, "txt")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
