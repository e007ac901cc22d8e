package interop

import (
	"bytes"
	"context"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
)

// TestReadBeforeReplica: fastdfs-client-java, given a storage's address
// (no tracker query), downloads from our storage a file that only the
// upstream storage of the group holds yet, a file that reached upstream's
// storage and has not been replicated: ours answers it from the file's
// source (storagenode/source_read.go), where upstream's storage answers
// ENOENT (the control: the same read the other way round).
func TestReadBeforeReplica(t *testing.T) {
	cp := javaClasspath(t)
	e := newEnv(t)
	up := e.newStorage(upstream, "group1")
	our := e.newStorage(ours, "group1")
	tr := e.addTracker(ours)
	up.run(tr)
	our.run(tr)
	conf := e.writeClientConf()
	e.waitActive(up, our)

	content := bytes.Repeat([]byte("written on the upstream storage, not replicated yet\n"), 2000) // 104 KB
	onUp := plantAt(t, up, content)
	onOurs := plantAt(t, our, content)
	for _, c := range []struct {
		what     string
		at       *node
		id       string
		wantLine string
	}{
		{"ours, the file on upstream's storage", our, onUp, "OK " + strconv.Itoa(len(content))},
		{"upstream's, the file on ours (control)", up, onOurs, "ERR 2"},
	} {
		out := filepath.Join(e.work, "read-"+c.at.name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := exec.CommandContext(ctx, "java", "-cp", cp, "ReadAt", conf, c.at.ip, strconv.Itoa(c.at.port), c.id, out).CombinedOutput()
		cancel()
		if err != nil || strings.TrimSpace(string(res)) != c.wantLine {
			t.Fatalf("%s: %v\n%s\nwant %q", c.what, err, res, c.wantLine)
		}
		if strings.HasPrefix(c.wantLine, "OK") {
			if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, content) {
				t.Fatalf("%s: %d bytes read differ from the file's (%v)", c.what, len(got), err)
			}
		}
	}
}

// plantAt writes content straight into storage n's store path under a
// name n would give it now, with no binlog record: a file uploaded to n
// that has not been replicated. It returns the file ID.
func plantAt(t *testing.T, n *node, content []byte) string {
	t.Helper()
	src, err := fileid.SourceFromIP(n.ip)
	if err != nil {
		t.Fatal(err)
	}
	name, err := fileid.Generate(0, 1, 2, fileid.Fields{
		Source: src, Timestamp: time.Now().Unix(), Size: int64(len(content)), CRC32: crc32.ChecksumIEEE(content),
	}, "txt")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(n.store, "data", strings.TrimPrefix(name, "M00/"))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return fileid.Join("group1", name)
}
