package cluster

import (
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
)

// StoredPath returns where fileID ("group/Mxx/HH/LL/name") lives on
// storage s: <store_pathN>/data/HH/LL/name. A malformed id fails the test.
func StoredPath(t testing.TB, s *Storage, fileID string) string {
	t.Helper()
	_, name, err := fileid.Split(fileID)
	if err != nil {
		t.Fatalf("split %s: %v", fileID, err)
	}
	n, err := fileid.Parse(name)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return n.Path(s.StorePaths)
}
