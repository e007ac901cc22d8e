// Package planted writes a file straight into a storage's store path under
// the name that storage would give it now, with no binlog record: the state
// of a file uploaded there that has not been replicated (and never will be).
package planted

import (
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
)

// Write stores content in storePath (a store_path0) as a file made now by
// the storage at srcIP, in directory 01/02 with extension txt, and returns
// its name ("M00/01/02/...").
func Write(t testing.TB, storePath, srcIP string, content []byte) string {
	t.Helper()
	return WriteNamed(t, storePath, Name(t, srcIP, content, time.Now()), content)
}

// WriteNamed stores content in storePath under name ("M00/...").
func WriteNamed(t testing.TB, storePath, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(storePath, "data", strings.TrimPrefix(name, "M00/"))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// Name is the name the storage at srcIP would give content at ts, in
// store path 0, directory 01/02, with extension txt.
func Name(t testing.TB, srcIP string, content []byte, ts time.Time) string {
	t.Helper()
	src, err := fileid.SourceFromIP(srcIP)
	if err != nil {
		t.Fatal(err)
	}
	name, err := fileid.Generate(0, 1, 2, fileid.Fields{
		Source: src, Timestamp: ts.Unix(), Size: int64(len(content)), CRC32: crc32.ChecksumIEEE(content),
	}, "txt")
	if err != nil {
		t.Fatal(err)
	}
	return name
}
