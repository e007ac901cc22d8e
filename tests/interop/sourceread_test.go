package interop

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/tests/internal/planted"
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
	onUp := fileid.Join("group1", planted.Write(t, up.store, up.ip, content))
	onOurs := fileid.Join("group1", planted.Write(t, our.store, our.ip, content))
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
