package badinput_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// subdirCount is the cluster's subdir_count_per_path: directories 00..03.
const subdirCount = 4

// env is the shared state of the bad-input cases: one cluster with a single
// storage, known files on it and canary files outside its store path.
type env struct {
	c        *cluster.Cluster
	tracker  string // tracker ip:port
	storage  string // storage ip:port
	group    string
	file     string // normal file "0123456789" (10 bytes), logical name
	empty    string // 0-byte normal file
	appender string // appender file "appender" (8 bytes)
	// canaries maps files planted outside the store path (in the storage's
	// base path, the cluster directory and its parent) to their content;
	// traversal names aim at them.
	canaries map[string][]byte
	root     string          // directory walked for stray files
	before   map[string]bool // files under root after setup
	allowed  []string        // directories where new files may appear
	dataDir  string          // <store_path0>/data/00/00, where names resolve from
}

func setup(t *testing.T) *env {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Storages: 1, SubdirCount: subdirCount})
	s := c.Storages[0]
	e := &env{
		c:        c,
		tracker:  c.TrackerAddr(),
		storage:  s.Addr(),
		group:    s.Group,
		canaries: map[string][]byte{},
		dataDir:  filepath.Join(s.StorePaths[0], "data", "00", "00"),
		root:     filepath.Dir(c.Dir),
	}
	e.file = e.upload(t, []byte("0123456789"), false)
	e.empty = e.upload(t, nil, false)
	e.appender = e.upload(t, []byte("appender"), true)
	for _, dir := range []string{s.BasePath, c.Dir, e.root} {
		p := filepath.Join(dir, "canary")
		content := []byte("canary in " + dir)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		e.canaries[p] = content
	}
	e.allowed = append(e.allowed, c.Tracker.BasePath, filepath.Join(c.Dir, "client"),
		filepath.Join(s.BasePath, "data"), filepath.Join(s.BasePath, "logs"))
	e.allowed = append(e.allowed, s.StorePaths...)
	e.before = e.snapshot(t)
	return e
}

// upload stores content through the project's client and returns the
// logical name (without the group).
func (e *env) upload(t *testing.T, content []byte, appender bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	up := e.c.Client.Upload
	if appender {
		up = e.c.Client.UploadAppender
	}
	id, err := up(ctx, bytes.NewReader(content), int64(len(content)), client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	group, name, ok := strings.Cut(id, "/")
	if !ok || group != e.group {
		t.Fatalf("upload returned %q", id)
	}
	return name
}

// probe proves the servers still serve normal clients: upload, download
// and delete a small file.
func (e *env) probe(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := []byte("still serving after bad input")
	id, err := e.c.Client.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatalf("servers stopped serving: upload: %v", err)
	}
	var got bytes.Buffer
	if _, err := e.c.Client.Download(ctx, id, 0, 0, &got); err != nil {
		t.Fatalf("servers stopped serving: download %s: %v", id, err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download %s: got %q, want %q", id, got.Bytes(), data)
	}
	if err := e.c.Client.Delete(ctx, id); err != nil {
		t.Fatalf("servers stopped serving: delete %s: %v", id, err)
	}
}

// alive checks that both servers still answer ACTIVE_TEST on a new
// connection.
func (e *env) alive(t *testing.T) {
	t.Helper()
	for _, addr := range []string{e.tracker, e.storage} {
		r := exchange(t, addr, packet(protocol.CmdActiveTest, nil), false)
		if r.closed || r.cmd != protocol.CmdResp || r.status != 0 || r.length != 0 {
			t.Fatalf("%s no longer answers ACTIVE_TEST: %+v", addr, r)
		}
	}
}

// snapshot lists every file (not directory) under root.
func (e *env) snapshot(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while walking (temp files)
			}
			return err
		}
		if !d.IsDir() {
			out[p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", e.root, err)
	}
	return out
}

// strayFiles returns the files created since setup outside the directories
// where the servers legitimately write.
func (e *env) strayFiles(t *testing.T) []string {
	t.Helper()
	var stray []string
	for p := range e.snapshot(t) {
		if e.before[p] || e.isAllowed(p) {
			continue
		}
		stray = append(stray, p)
	}
	return stray
}

func (e *env) isAllowed(p string) bool {
	if filepath.Base(p) == "cluster.log" {
		return true
	}
	for _, dir := range e.allowed {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// checkFilesystem fails if a canary changed or disappeared or a file
// appeared outside the allowed directories.
func (e *env) checkFilesystem(t *testing.T) {
	t.Helper()
	for p, want := range e.canaries {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("canary %s: %v", p, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("canary %s was modified: %q", p, got)
		}
	}
	for _, p := range e.strayFiles(t) {
		t.Errorf("file created outside the store paths: %s", p)
	}
}

// traversal returns a name that resolves from <store_path0>/data/00/00 to
// target, padded with "./" segments to at least 44 bytes so that length
// checks do not stop it before the path logic.
func (e *env) traversal(t *testing.T, target string) string {
	t.Helper()
	rel, err := filepath.Rel(e.dataDir, target)
	if err != nil {
		t.Fatal(err)
	}
	name := "M00/00/00/" + rel
	for len(name) < protocol.NormalFilenameLen {
		name = "M00/00/00/./" + strings.TrimPrefix(name, "M00/00/00/")
	}
	return name
}

// bodies of the storage requests used by the cases.

func fileReq(group, name string) []byte {
	return (&protocol.FileRequest{Group: group, Name: name}).Encode()
}

func downloadReq(offset, length int64, group, name string) []byte {
	return (&protocol.DownloadRequest{Offset: offset, Length: length, Group: group, Name: name}).Encode()
}

func setMetaReq(group, name string, flag byte, meta []byte) []byte {
	return (&protocol.SetMetadataRequest{Name: name, Flag: flag, Group: group, Meta: meta}).Encode()
}

func appendReq(name string, content []byte) []byte {
	return append((&protocol.AppendRequest{Name: name, Length: int64(len(content))}).Encode(), content...)
}

func modifyReq(name string, offset int64, content []byte) []byte {
	return append((&protocol.ModifyRequest{Name: name, Offset: offset, Length: int64(len(content))}).Encode(), content...)
}

func truncateReq(name string, size int64) []byte {
	return (&protocol.TruncateRequest{Name: name, NewSize: size}).Encode()
}

func uploadReq(storePath byte, ext string, content []byte) []byte {
	r := &protocol.UploadRequest{StorePathIndex: storePath, FileSize: int64(len(content)), Ext: ext}
	return append(r.Encode(), content...)
}

func slaveReq(master, prefix, ext string, content []byte) []byte {
	r := &protocol.UploadSlaveRequest{MasterName: master, FileSize: int64(len(content)), Prefix: prefix, Ext: ext}
	return append(r.Encode(), content...)
}

func syncFileReq(group, name string, content []byte) []byte {
	r := &protocol.SyncFileRequest{Name: name, FileSize: int64(len(content)), Timestamp: int32(time.Now().Unix()), Group: group}
	return append(r.Encode(), content...)
}

// withPrefix replaces the start of name (its Mxx/HH/LL part) by prefix.
func withPrefix(name, prefix string) string { return prefix + name[len(prefix):] }

// badCase is one malformed request and the acceptable outcomes.
type badCase struct {
	name       string
	toTracker  bool
	req        []byte
	closeWrite bool   // half-close after the request (client died mid-request)
	want       []byte // acceptable statuses; empty: any error status
	mayClose   bool   // closing the connection is an acceptable answer
}

var (
	einval = []byte{22}
	// Names that cannot be stored: EINVAL, or ENOENT from servers that look
	// the file up first. Either way nothing outside the store path may be
	// touched, which checkFilesystem verifies.
	badName = []byte{22, 2}
)

func (e *env) cases(t *testing.T) []badCase {
	g := e.group
	huge := int64(1) << 40
	storageIP, _, _ := net.SplitHostPort(e.storage)
	ipChanged := func(group, old, new string) []byte {
		return (&protocol.IPChangedReport{Group: group, OldIP: old, NewIP: new}).Encode()
	}
	var cs []badCase

	// Framing, both servers.
	for _, srv := range []struct {
		name      string
		toTracker bool
		cmd       byte
	}{{"tracker", true, protocol.CmdQueryStoreWithoutGroupOne}, {"storage", false, protocol.CmdUploadFile}} {
		cs = append(cs,
			badCase{name: srv.name + "/negative pkg_len", toTracker: srv.toTracker,
				req: packetLen(srv.cmd, -1, nil), mayClose: true},
			badCase{name: srv.name + "/min int64 pkg_len", toTracker: srv.toTracker,
				req: packetLen(srv.cmd, math.MinInt64, make([]byte, 15)), mayClose: true},
			badCase{name: srv.name + "/header cut short", toTracker: srv.toTracker,
				req: packet(srv.cmd, nil)[:6], closeWrite: true, mayClose: true},
		)
		for _, cmd := range []byte{0, 1, 99, protocol.CmdResp, 200, 255} {
			cs = append(cs, badCase{name: srv.name + "/unknown cmd " + strconv.Itoa(int(cmd)), toTracker: srv.toTracker,
				req: packet(cmd, []byte("some body bytes")), mayClose: true})
		}
	}

	// Tracker: huge lengths on small requests, truncated bodies, bad fields.
	for _, cmd := range []byte{protocol.CmdQueryStoreWithoutGroupOne, protocol.CmdQueryFetchOne,
		protocol.CmdQueryUpdate, protocol.CmdServerListOneGroup, protocol.CmdServerListAllGroups,
		protocol.CmdStorageJoin, protocol.CmdStorageBeat} {
		cs = append(cs, badCase{name: "tracker/huge pkg_len cmd " + strconv.Itoa(int(cmd)), toTracker: true,
			req: packetLen(cmd, huge, make([]byte, 16)), mayClose: true})
	}
	cs = append(cs,
		badCase{name: "tracker/truncated fetch query", toTracker: true,
			req:        packetLen(protocol.CmdQueryFetchOne, 60, []byte(g+"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00M00/")),
			closeWrite: true, mayClose: true},
		badCase{name: "tracker/fetch name of 200 bytes", toTracker: true,
			req: packet(protocol.CmdQueryFetchOne, fileReq(g, "M00/00/00/"+strings.Repeat("A", 190))), want: einval},
		badCase{name: "tracker/fetch name of 5 bytes", toTracker: true,
			req: packet(protocol.CmdQueryFetchOne, fileReq(g, "M00/0")), want: einval},
		badCase{name: "tracker/update name of 128 bytes", toTracker: true,
			req: packet(protocol.CmdQueryUpdate, fileReq(g, "M00/00/00/"+strings.Repeat("B", 118))), want: einval},
		badCase{name: "tracker/store query with 17-byte group", toTracker: true,
			req: packet(protocol.CmdQueryStoreWithGroupOne, []byte("group1\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00X")), want: einval},
		badCase{name: "tracker/store query unknown group", toTracker: true,
			req: packet(protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup("nosuchgroup")), want: []byte{2}},
		badCase{name: "tracker/store query group with path chars", toTracker: true,
			req: packet(protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup("../../etc")), want: []byte{2, 22}},
		badCase{name: "tracker/list storage id too long", toTracker: true,
			req: packet(protocol.CmdServerListStorage, append(protocol.EncodeGroup(g), strings.Repeat("9", 30)...)), want: einval},
		badCase{name: "tracker/delete unknown storage", toTracker: true,
			req: packet(protocol.CmdServerDeleteStorage, append(protocol.EncodeGroup(g), "10.9.9.9"...))},
		badCase{name: "tracker/beat without join", toTracker: true,
			req: packet(protocol.CmdStorageBeat, nil), want: []byte{13}},
		badCase{name: "tracker/join with zero trackers", toTracker: true,
			req: packet(protocol.CmdStorageJoin, make([]byte, protocol.JoinFixedSize)), want: einval},
		badCase{name: "tracker/join garbage", toTracker: true,
			req: packet(protocol.CmdStorageJoin, bytes.Repeat([]byte{0xff}, 300)), want: einval},
		badCase{name: "tracker/ip changed report garbage", toTracker: true,
			req: packet(protocol.CmdStorageReportIPChanged, bytes.Repeat([]byte{0xff}, protocol.IPChangedReportSize)), want: einval},
		badCase{name: "tracker/ip changed report of 50 bytes", toTracker: true,
			req: packet(protocol.CmdStorageReportIPChanged, make([]byte, 50)), want: einval},
		// The report must come from the new address, and a serving storage
		// is not moved: a client cannot take a live storage's place.
		badCase{name: "tracker/ip changed report for another address", toTracker: true,
			req: packet(protocol.CmdStorageReportIPChanged, ipChanged(g, storageIP, "10.9.9.9")), want: einval},
		badCase{name: "tracker/ip changed report moving the live storage", toTracker: true,
			req: packet(protocol.CmdStorageReportIPChanged, ipChanged(g, storageIP, "127.0.0.1")), want: []byte{16}},
	)

	// Storage: huge lengths on requests whose whole body is buffered.
	for _, cmd := range []byte{protocol.CmdDeleteFile, protocol.CmdSetMetadata, protocol.CmdDownloadFile,
		protocol.CmdGetMetadata, protocol.CmdQueryFileInfo, protocol.CmdTruncateFile,
		protocol.CmdRegenerateAppenderFilename, protocol.CmdReportServerID, protocol.CmdSyncDeleteFile} {
		cs = append(cs, badCase{name: "storage/huge pkg_len cmd " + strconv.Itoa(int(cmd)),
			req: packetLen(cmd, huge, make([]byte, 16)), mayClose: true})
	}
	cs = append(cs,
		badCase{name: "storage/truncated delete body",
			req: packetLen(protocol.CmdDeleteFile, 60, fileReq(g, "M00/00/")), closeWrite: true, mayClose: true},
		badCase{name: "storage/truncated upload content",
			req:        packetLen(protocol.CmdUploadFile, 15+100, uploadReq(0xFF, "txt", make([]byte, 100))[:15+10]),
			closeWrite: true, mayClose: true},
		badCase{name: "storage/truncated set metadata",
			req: packetLen(protocol.CmdSetMetadata, 200, setMetaReq(g, e.file, 'O', []byte("a\x02b"))), closeWrite: true, mayClose: true},
	)

	// Upload head checks.
	cs = append(cs,
		// Exactly upstream's UPLOAD_FILE.err22 trace: file_size 10, 1 content byte.
		badCase{name: "storage/upload file_size mismatch",
			req: packet(protocol.CmdUploadFile, append((&protocol.UploadRequest{FileSize: 10, Ext: "txt"}).Encode(), 0)), want: einval},
		badCase{name: "storage/upload negative file_size",
			req: packet(protocol.CmdUploadFile, (&protocol.UploadRequest{FileSize: -1, Ext: "txt"}).Encode()), want: einval},
		badCase{name: "storage/upload body shorter than head",
			req: packet(protocol.CmdUploadFile, []byte{0, 0, 0}), want: einval},
		badCase{name: "storage/upload store path index 0x7F",
			req: packet(protocol.CmdUploadFile, uploadReq(0x7F, "txt", []byte("x"))), want: einval},
		badCase{name: "storage/upload store path index -2",
			req: packet(protocol.CmdUploadFile, uploadReq(0xFE, "txt", []byte("x"))), want: einval},
		badCase{name: "storage/upload ext with slash",
			req: packet(protocol.CmdUploadFile, uploadReq(0, "a/../b", []byte("x"))), want: einval},
		badCase{name: "storage/upload appender ext with NUL and slash",
			req: packet(protocol.CmdUploadAppenderFile, uploadReq(0, "/\x00..", []byte("x"))), want: einval},
		badCase{name: "storage/upload larger than the disk",
			req:  packetLen(protocol.CmdUploadFile, 15+(1<<50), (&protocol.UploadRequest{FileSize: 1 << 50, Ext: "bin"}).Encode()),
			want: []byte{28}},
		badCase{name: "storage/slave prefix traversal",
			req: packet(protocol.CmdUploadSlaveFile, slaveReq(e.file, "/../../../canary", "txt", []byte("x"))), want: einval},
		badCase{name: "storage/slave ext traversal",
			req: packet(protocol.CmdUploadSlaveFile, slaveReq(e.file, "_s", "/../..", []byte("x"))), want: einval},
		badCase{name: "storage/slave empty prefix",
			req: packet(protocol.CmdUploadSlaveFile, slaveReq(e.file, "", "txt", []byte("x"))), want: einval},
		badCase{name: "storage/slave master name of 200 bytes",
			req: packet(protocol.CmdUploadSlaveFile, slaveReq("M00/00/00/"+strings.Repeat("C", 190), "_s", "txt", []byte("x"))), want: einval},
	)

	// Download, metadata, append/modify/truncate field checks.
	cs = append(cs,
		badCase{name: "storage/download offset = size", req: packet(protocol.CmdDownloadFile, downloadReq(10, 0, g, e.file)), want: einval},
		badCase{name: "storage/download offset beyond size", req: packet(protocol.CmdDownloadFile, downloadReq(1000, 5, g, e.file)), want: einval},
		badCase{name: "storage/download negative offset", req: packet(protocol.CmdDownloadFile, downloadReq(-1, 0, g, e.file)), want: einval},
		badCase{name: "storage/download negative length", req: packet(protocol.CmdDownloadFile, downloadReq(0, -5, g, e.file)), want: einval},
		badCase{name: "storage/download 0-byte file", req: packet(protocol.CmdDownloadFile, downloadReq(0, 0, g, e.empty)), want: einval},
		badCase{name: "storage/download wrong group", req: packet(protocol.CmdDownloadFile, downloadReq(0, 0, "othergroup", e.file)), want: einval},
		badCase{name: "storage/download group traversal", req: packet(protocol.CmdDownloadFile, downloadReq(0, 0, "../../../..", e.file)), want: einval},
		badCase{name: "storage/download body shorter than head", req: packet(protocol.CmdDownloadFile, make([]byte, 20)), want: einval},
		badCase{name: "storage/set metadata bad op flag", req: packet(protocol.CmdSetMetadata, setMetaReq(g, e.file, 'X', []byte("a\x02b"))), want: einval},
		badCase{name: "storage/set metadata op flag 0", req: packet(protocol.CmdSetMetadata, setMetaReq(g, e.file, 0, []byte("a\x02b"))), want: einval},
		badCase{name: "storage/set metadata meta_len mismatch", req: func() []byte {
			b := setMetaReq(g, e.file, 'O', []byte("a\x02b"))
			binary.BigEndian.PutUint64(b[8:16], 100)
			return packet(protocol.CmdSetMetadata, b)
		}(), want: einval},
		badCase{name: "storage/set metadata negative name length", req: func() []byte {
			b := setMetaReq(g, e.file, 'O', []byte("a\x02b"))
			binary.BigEndian.PutUint64(b[0:8], math.MaxUint64)
			return packet(protocol.CmdSetMetadata, b)
		}(), want: einval},
		badCase{name: "storage/append to a normal file", req: packet(protocol.CmdAppendFile, appendReq(e.file, []byte("more"))), want: einval},
		badCase{name: "storage/append length mismatch", req: func() []byte {
			b := appendReq(e.appender, []byte("more"))
			binary.BigEndian.PutUint64(b[8:16], 10)
			return packet(protocol.CmdAppendFile, b)
		}(), want: einval},
		badCase{name: "storage/append name length 200", req: func() []byte {
			b := appendReq(e.appender, []byte("more"))
			binary.BigEndian.PutUint64(b[0:8], 200)
			return packet(protocol.CmdAppendFile, b)
		}(), want: einval},
		badCase{name: "storage/append negative name length", req: func() []byte {
			b := appendReq(e.appender, []byte("more"))
			binary.BigEndian.PutUint64(b[0:8], math.MaxUint64-3)
			return packet(protocol.CmdAppendFile, b)
		}(), want: einval},
		badCase{name: "storage/modify beyond the end", req: packet(protocol.CmdModifyFile, modifyReq(e.appender, 100, []byte("x"))), want: einval},
		badCase{name: "storage/modify negative offset", req: packet(protocol.CmdModifyFile, modifyReq(e.appender, -1, []byte("x"))), want: einval},
		badCase{name: "storage/truncate negative size", req: packet(protocol.CmdTruncateFile, truncateReq(e.appender, -1)), want: einval},
		badCase{name: "storage/truncate a normal file", req: packet(protocol.CmdTruncateFile, truncateReq(e.file, 0)), want: einval},
		badCase{name: "storage/regenerate a normal file", req: packet(protocol.CmdRegenerateAppenderFilename, []byte(e.file)), want: einval},
	)

	// Malformed names on every command that takes one.
	names := []struct {
		label string
		name  string
		want  []byte
	}{
		{"store path M7F", withPrefix(e.file, "M7F"), einval},
		{"store path M01", withPrefix(e.file, "M01"), einval},
		{"dir ZZ", withPrefix(e.file, "M00/ZZ"), einval},
		{"dir 00/ZZ", withPrefix(e.file, "M00/00/ZZ"), einval},
		{"lowercase dir ff", withPrefix(e.file, "M00/ff"), einval},
		{"dir outside subdir count", withPrefix(e.file, "M00/3F"), badName},
		{"name of 200 bytes", "M00/00/00/" + strings.Repeat("D", 190), badName},
		{"name with NUL", e.file[:20] + "\x00" + e.file[21:], badName},
		{"absolute path in name", "M00/00/00//etc/passwd" + strings.Repeat("/", 24), badName},
		{"slashes then absolute path", strings.Repeat("/", 20) + "/etc/passwd" + strings.Repeat("/", 14), badName},
		{"dotdot file part", "M00/00/00/..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.txt", badName},
	}
	for p := range e.canaries {
		names = append(names, struct {
			label string
			name  string
			want  []byte
		}{"traversal to " + p, e.traversal(t, p), badName})
	}
	for _, n := range names {
		cs = append(cs,
			badCase{name: "name/" + n.label + "/delete", req: packet(protocol.CmdDeleteFile, fileReq(g, n.name)), want: n.want},
			badCase{name: "name/" + n.label + "/download", req: packet(protocol.CmdDownloadFile, downloadReq(0, 0, g, n.name)), want: n.want},
			badCase{name: "name/" + n.label + "/get metadata", req: packet(protocol.CmdGetMetadata, fileReq(g, n.name)), want: n.want},
			badCase{name: "name/" + n.label + "/query info", req: packet(protocol.CmdQueryFileInfo, fileReq(g, n.name)), want: n.want},
			badCase{name: "name/" + n.label + "/set metadata", req: packet(protocol.CmdSetMetadata, setMetaReq(g, n.name, 'O', []byte("pwned\x02yes"))), want: n.want},
			badCase{name: "name/" + n.label + "/append", req: packet(protocol.CmdAppendFile, appendReq(n.name, []byte("pwned"))), want: n.want},
			badCase{name: "name/" + n.label + "/modify", req: packet(protocol.CmdModifyFile, modifyReq(n.name, 0, []byte("pwned"))), want: n.want},
			badCase{name: "name/" + n.label + "/truncate", req: packet(protocol.CmdTruncateFile, truncateReq(n.name, 0)), want: n.want},
			badCase{name: "name/" + n.label + "/regenerate", req: packet(protocol.CmdRegenerateAppenderFilename, []byte(n.name)), want: n.want},
			badCase{name: "name/" + n.label + "/slave master", req: packet(protocol.CmdUploadSlaveFile, slaveReq(n.name, "_s", "txt", []byte("pwned"))), want: n.want},
			// Sync commands from a peer that never introduced itself: refused
			// outright or, at the least, never written outside the store path.
			badCase{name: "name/" + n.label + "/sync create", req: packet(protocol.CmdSyncCreateFile, syncFileReq(g, n.name, []byte("pwned"))), mayClose: true},
			badCase{name: "name/" + n.label + "/sync update", req: packet(protocol.CmdSyncUpdateFile, syncFileReq(g, n.name, []byte("pwned"))), mayClose: true},
			badCase{name: "name/" + n.label + "/sync delete", req: packet(protocol.CmdSyncDeleteFile,
				(&protocol.SyncDeleteRequest{Timestamp: 1, Group: g, Name: n.name}).Encode()), mayClose: true},
			badCase{name: "name/" + n.label + "/sync truncate", req: packet(protocol.CmdSyncTruncateFile,
				(&protocol.SyncTruncateRequest{Name: n.name, OldSize: 6, NewSize: 0, Timestamp: 1, Group: g}).Encode()), mayClose: true},
			badCase{name: "name/" + n.label + "/sync rename", req: packet(protocol.CmdSyncRenameFile,
				(&protocol.SyncTwoNamesRequest{First: n.name, Second: e.file, Timestamp: 1, Group: g}).Encode()), mayClose: true},
			badCase{name: "name/" + n.label + "/sync link", req: packet(protocol.CmdSyncCreateLink,
				(&protocol.SyncTwoNamesRequest{First: n.name, Second: e.file, Timestamp: 1, Group: g}).Encode()), mayClose: true},
		)
	}
	return cs
}

// TestBadInput sends every malformed request on its own connection and
// checks the answer and that both servers still answer ACTIVE_TEST; at the
// end a normal client must still work, the known files must be intact and
// no file may have appeared or changed outside the store paths.
func TestBadInput(t *testing.T) {
	e := setup(t)
	for _, bc := range e.cases(t) {
		t.Run(bc.name, func(t *testing.T) {
			addr := e.storage
			if bc.toTracker {
				addr = e.tracker
			}
			expect(t, exchange(t, addr, bc.req, bc.closeWrite), bc.want, bc.mayClose)
			e.alive(t)
		})
	}
	t.Run("still serving", e.probe)
	t.Run("known files intact", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for name, want := range map[string]string{e.file: "0123456789", e.appender: "appender"} {
			var got bytes.Buffer
			if _, err := e.c.Client.Download(ctx, e.group+"/"+name, 0, 0, &got); err != nil {
				t.Fatalf("download %s: %v", name, err)
			}
			if got.String() != want {
				t.Errorf("%s now holds %q, want %q", name, got.String(), want)
			}
		}
	})
	t.Run("filesystem", e.checkFilesystem)
}

// TestInterruptedUpload: a client that sends the upload head and half of the
// content and then disconnects must leave no partial file in the store path.
func TestInterruptedUpload(t *testing.T) {
	e := setup(t)
	const size = 4 << 20 // bytes announced
	for _, cmd := range []byte{protocol.CmdUploadFile, protocol.CmdUploadAppenderFile} {
		t.Run("cmd "+strconv.Itoa(int(cmd)), func(t *testing.T) {
			req := packet(cmd, uploadReq(0, "bin", bytes.Repeat([]byte{0xAB}, size)))
			half := protocol.HeaderSize + protocol.UploadHeadLen + size/2
			e.interrupted(t, req[:half])
			e.probe(t)
			for _, p := range e.strayFiles(t) {
				t.Errorf("file created outside the store paths: %s", p)
			}
		})
	}
	t.Run("filesystem", e.checkFilesystem)
}

// interrupted sends part, waits until the storage has started writing it
// (a new non-empty file in the storage's directories, if it writes
// incrementally), disconnects, and then waits for every new file there to
// disappear.
func (e *env) interrupted(t *testing.T, part []byte) {
	t.Helper()
	storageRoot := e.c.Storages[0].BasePath
	before := e.snapshot(t)
	newFiles := func() []string {
		var out []string
		for p := range e.snapshot(t) {
			if !before[p] && strings.HasPrefix(p, storageRoot+string(filepath.Separator)) {
				out = append(out, p)
			}
		}
		return out
	}
	conn, err := net.DialTimeout("tcp", e.storage, answerWait)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(part); err != nil {
		conn.Close()
		t.Fatalf("sending half an upload: %v", err)
	}
	// Give the storage a chance to start the temp file, so that the check
	// below sees its removal rather than a race with its creation.
	started := waitFor(func() bool {
		for _, p := range newFiles() {
			if st, err := os.Stat(p); err == nil && st.Size() > 0 {
				return true
			}
		}
		return false
	}, 2*time.Second)
	t.Logf("storage had started a file before the disconnect: %v", started)
	conn.Close()
	if !waitFor(func() bool { return len(newFiles()) == 0 }, answerWait) {
		t.Errorf("partial upload left in the store path: %v", newFiles())
	}
}

// waitFor polls cond until it holds or limit passes; false if it never
// did (the caller reports what was left).
func waitFor(cond func() bool, limit time.Duration) bool {
	return testwait.Holds(limit, cond)
}
