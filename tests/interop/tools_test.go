package interop

// Helpers running the upstream C client tools and checking their output.

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// fileIDRe matches a file ID of group1 in IP mode: M00/HH/LL/, 27
// FastDFS-base64 characters, then the extension area.
var fileIDRe = regexp.MustCompile(`^group1/M00/[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-Za-z_-]{27}[0-9A-Za-z_.-]*$`)

var localSeq atomic.Int64

// tmpName returns a fresh file name under e.work.
func (e *env) tmpName(prefix string) string {
	return filepath.Join(e.work, fmt.Sprintf("%s-%d", prefix, localSeq.Add(1)))
}

// checkID fails the test unless id looks like a file ID with extension ext
// ("" for none).
func (e *env) checkID(id, ext string, r result) {
	e.t.Helper()
	if !fileIDRe.MatchString(id) {
		e.t.Fatalf("%q is not a file ID:\n%s", id, r)
	}
	if ext != "" && !strings.HasSuffix(id, "."+ext) {
		e.t.Fatalf("file ID %q lacks the extension .%s:\n%s", id, ext, r)
	}
}

// upload runs fdfs_upload_file (extra: [storage_ip:port [store_path_index]]).
func (e *env) upload(local string, extra ...string) string {
	e.t.Helper()
	r := e.mustRun("fdfs_upload_file", append([]string{e.clientConf, local}, extra...)...)
	id := strings.TrimSpace(r.stdout)
	ext := strings.TrimPrefix(filepath.Ext(local), ".")
	e.checkID(id, ext, r)
	return id
}

// uploadAppender runs fdfs_upload_appender.
func (e *env) uploadAppender(local string) string {
	e.t.Helper()
	r := e.mustRun("fdfs_upload_appender", e.clientConf, local)
	id := strings.TrimSpace(r.stdout)
	e.checkID(id, strings.TrimPrefix(filepath.Ext(local), "."), r)
	return id
}

// tryDownload runs fdfs_download_file (whole file, or length bytes from
// offset when rng is given) and returns what it wrote; ok is false when it
// reported a failure or wrote nothing.
func (e *env) tryDownload(id string, rng ...int64) ([]byte, bool, result) {
	e.t.Helper()
	out := e.tmpName("download")
	args := []string{e.clientConf, id, out}
	if len(rng) == 2 {
		args = append(args, strconv.FormatInt(rng[0], 10), strconv.FormatInt(rng[1], 10))
	}
	r := e.run("fdfs_download_file", args...)
	b, err := os.ReadFile(out)
	// fdfs_download_file exits 0 even when it fails: its output says.
	ok := err == nil && r.code == 0 && !strings.Contains(r.stdout+r.stderr, "fail")
	return b, ok, r
}

func (e *env) download(id string, rng ...int64) []byte {
	e.t.Helper()
	b, ok, r := e.tryDownload(id, rng...)
	if !ok {
		e.t.Fatalf("download %s %v failed:\n%s", id, rng, r)
	}
	return b
}

// expectDownload downloads id (whole or ranged) and compares with want.
func (e *env) expectDownload(id string, want []byte, rng ...int64) {
	e.t.Helper()
	got := e.download(id, rng...)
	if string(got) != string(want) {
		e.t.Fatalf("download %s %v: got %d bytes (crc %08x), want %d bytes (crc %08x)",
			id, rng, len(got), crc32.ChecksumIEEE(got), len(want), crc32.ChecksumIEEE(want))
	}
}

// fileInfo runs fdfs_file_info and parses its "key: value" lines; ok is
// false when it reported a failure (it exits 0 either way).
func (e *env) fileInfo(id string) (map[string]string, bool, result) {
	e.t.Helper()
	r := e.run("fdfs_file_info", e.clientConf, id)
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	ok := r.code == 0 && !strings.Contains(r.stderr, "fail") && kv["file size"] != ""
	return kv, ok, r
}

// expectFileInfo checks fdfs_file_info's type, size and CRC32 (of want)
// and that the source is one of sources; it returns the source IP.
func (e *env) expectFileInfo(id, typ string, want []byte, sources []*node) string {
	e.t.Helper()
	kv, ok, r := e.fileInfo(id)
	if !ok {
		e.t.Fatalf("fdfs_file_info %s failed:\n%s", id, r)
	}
	crc := int32(crc32.ChecksumIEEE(want))
	var bad []string
	if kv["file type"] != typ {
		bad = append(bad, fmt.Sprintf("type %q, want %q", kv["file type"], typ))
	}
	if kv["file size"] != strconv.Itoa(len(want)) {
		bad = append(bad, fmt.Sprintf("size %q, want %d", kv["file size"], len(want)))
	}
	if wantCRC := fmt.Sprintf("%d (0x%08x)", crc, uint32(crc)); kv["file crc32"] != wantCRC {
		bad = append(bad, fmt.Sprintf("crc32 %q, want %q", kv["file crc32"], wantCRC))
	}
	src := kv["source ip address"]
	if !slices.ContainsFunc(sources, func(n *node) bool { return n.ip == src }) {
		bad = append(bad, fmt.Sprintf("source ip %q is none of the storages", src))
	}
	if len(bad) > 0 {
		e.t.Fatalf("fdfs_file_info %s: %s\n%s", id, strings.Join(bad, "; "), r)
	}
	return src
}

// expectGoneForClients checks that the C tools no longer see id.
func (e *env) expectGoneForClients(id string) {
	e.t.Helper()
	// fdfs_file_info decodes a normal file's ID without asking the
	// storage ("GET FROM SERVER: false"): only the others must fail.
	if kv, ok, r := e.fileInfo(id); ok && kv["GET FROM SERVER"] != "false" {
		e.t.Fatalf("fdfs_file_info still describes deleted %s: %v\n%s", id, kv, r)
	}
	if b, ok, r := e.tryDownload(id); ok || len(b) > 0 {
		e.t.Fatalf("fdfs_download_file still gets deleted %s (%d bytes):\n%s", id, len(b), r)
	}
}

// parseMeta reads "name=value" lines after fdfs_test's "meta count=" line.
func parseMeta(out string) (map[string]string, bool) {
	_, rest, ok := strings.Cut(out, "get meta data success, meta count=")
	if !ok {
		return nil, false
	}
	lines := strings.Split(rest, "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || len(lines) < n+1 {
		return nil, false
	}
	m := map[string]string{}
	for _, l := range lines[1 : n+1] {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m, true
}

// getMeta runs `fdfs_test1 conf getmeta id`.
func (e *env) getMeta(id string) map[string]string {
	e.t.Helper()
	r := e.mustRun("fdfs_test1", e.clientConf, "getmeta", id)
	m, ok := parseMeta(r.stdout)
	if !ok {
		e.t.Fatalf("getmeta %s:\n%s", id, r)
	}
	return m
}

func (e *env) expectMeta(id string, want map[string]string) {
	e.t.Helper()
	got := e.getMeta(id)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Fatalf("metadata of %s: got %v, want %v", id, got, want)
	}
}

// setMeta runs `fdfs_test1 conf setmeta id O|M k=v,...`.
func (e *env) setMeta(id, flag, list string) {
	e.t.Helper()
	r := e.mustRun("fdfs_test1", e.clientConf, "setmeta", id, flag, list)
	if !strings.Contains(r.stdout, "set meta data success") {
		e.t.Fatalf("setmeta %s:\n%s", id, r)
	}
}

// urlIDs extracts the file IDs from the "...file url: http://ip/<id>" lines
// fdfs_test1 / fdfs_appender_test1 print.
func urlIDs(out string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`url: http://[^/\s]+/(\S+)`).FindAllStringSubmatch(out, -1) {
		id, _, _ := strings.Cut(m[1], "?")
		ids = append(ids, id)
	}
	return ids
}

func mustRe(s string) *regexp.Regexp { return regexp.MustCompile(s) }
