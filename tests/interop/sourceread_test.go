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
	e, up, our, conf := upstreamAndOurs(t)

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
		javaReadAt(t, cp, conf, c.at, c.id, filepath.Join(e.work, "read-"+c.at.name), c.what, c.wantLine, content)
	}
}

// upstreamAndOurs starts a group of one upstream storage and one of ours
// under our tracker, ACTIVE, and writes a client.conf for it.
func upstreamAndOurs(t *testing.T) (e *env, up, our *node, conf string) {
	t.Helper()
	e = newEnv(t)
	up = e.newStorage(upstream, "group1")
	our = e.newStorage(ours, "group1")
	tr := e.addTracker(ours)
	up.run(tr)
	our.run(tr)
	conf = e.writeClientConf()
	e.waitActive(up, our)
	return e, up, our, conf
}

// javaReadAt has fastdfs-client-java download id from the storage at (no
// tracker query) into out, and checks its one line of output against
// wantLine ("OK <size>" or "ERR <status>") and, for OK, the bytes read.
func javaReadAt(t *testing.T, cp, conf string, at *node, id, out, what, wantLine string, content []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	res, err := exec.CommandContext(ctx, "java", "-cp", cp, "ReadAt", conf, at.ip, strconv.Itoa(at.port), id, out).CombinedOutput()
	cancel()
	if err != nil || strings.TrimSpace(string(res)) != wantLine {
		t.Fatalf("%s: %v\n%s\nwant %q", what, err, res, wantLine)
	}
	if strings.HasPrefix(wantLine, "OK") {
		if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%s: %d bytes read differ from the file's (%v)", what, len(got), err)
		}
	}
}

// TestReadLostDisk: a file both storages of the group hold, made a day
// ago, read with fastdfs-client-java from a storage whose disk no longer
// has the file's data directory (a disk gone from under the store path):
// ours answers it from the upstream storage of the group
// (storagenode/pathhealth.go), where upstream's storage, its directory
// gone the same way, answers ENOENT (the control).
func TestReadLostDisk(t *testing.T) {
	cp := javaClasspath(t)
	e, up, our, conf := upstreamAndOurs(t)

	content := bytes.Repeat([]byte("a photo both storages hold, its disk gone from one\n"), 2000) // 102 KB
	dayAgo := time.Now().Add(-25 * time.Hour)
	ofUp := planted.Name(t, up.ip, content, dayAgo)
	ofOurs := planted.Name(t, our.ip, content, dayAgo)
	for _, n := range []*node{up, our} {
		planted.WriteNamed(t, n.store, ofUp, content)
		planted.WriteNamed(t, n.store, ofOurs, content)
	}
	for _, c := range []struct {
		what     string
		at       *node
		name     string
		wantLine string
	}{
		{"ours, a file made by upstream's storage", our, ofUp, "OK " + strconv.Itoa(len(content))},
		{"ours, a file it made itself", our, ofOurs, "OK " + strconv.Itoa(len(content))},
		{"upstream's (control)", up, ofOurs, "ERR 2"},
	} {
		dir := filepath.Join(c.at.store, "data", "01", "02")
		if err := os.Rename(dir, dir+".gone"); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		javaReadAt(t, cp, conf, c.at, fileid.Join("group1", c.name), filepath.Join(e.work, "lost-"+c.at.name), c.what, c.wantLine, content)
	}
}
