package storagenode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
			if got := s.store.initFlag.get(flagSyncSrcServer); got != tc.src {
				t.Errorf("sync source %q, want %q", got, tc.src)
			}
		})
	}
}
