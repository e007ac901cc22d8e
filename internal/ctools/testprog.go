package ctools

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Upstream's bounds of a metadata name and value (FDFS_MAX_META_NAME_LEN,
// FDFS_MAX_META_VALUE_LEN): longer ones are cut.
const (
	metaNameMax  = 64
	metaValueMax = 256
)

// version is the FastDFS version these programs say they are.
const version = "6.16.1"

// testMeta is the metadata fdfs_test stores with its uploads.
var testMeta = map[string]string{"ext_name": "jpg", "width": "160", "height": "80", "file_size": "115120"}

// fdfsTest is fdfs_test CONF OPERATION ARGS, the program FastDFS's install
// guides check a cluster with (`fdfs_test client.conf upload FILE`).
func fdfsTest(e *env) int { return testProgram(e, false) }

// fdfsTest1 is fdfs_test1, fdfs_test with file IDs instead of a group and
// a file name.
func fdfsTest1(e *env) int { return testProgram(e, true) }

// testRun is one run of fdfs_test or fdfs_test1.
type testRun struct {
	*session
	ids     bool // fdfs_test1
	storage *client.Server
}

func testProgram(e *env, ids bool) int {
	a := e.argv
	fmt.Fprintf(e.out, "This is FastDFS client test program v%s\n\n"+
		"(the fdfs binary: a Go implementation of FastDFS V6.16's protocol and programs)\n\n", version)
	if len(a) < 3 {
		fmt.Fprintf(e.out, "Usage: %s <config_file> <operation>\n"+
			"\toperation: upload, download, getmeta, setmeta, delete and query_servers\n", a[0])
		return exitUsage
	}
	s, rc := e.start(a[1])
	if s == nil {
		return rc
	}
	defer s.close()
	t := &testRun{session: s, ids: ids}
	switch op := a[2]; op {
	case "upload":
		rc = t.upload()
	case "download", "getmeta", "setmeta", "delete", "query_servers":
		var done bool
		if rc, done = t.fileOp(op); done {
			return rc
		}
	default:
		fmt.Fprintf(e.out, "invalid operation: %s\n", op)
		return int(syscall.EINVAL)
	}
	if rc != 0 {
		return rc
	}
	return t.activeTests()
}

// activeTests are the program's closing ACTIVE_TESTs of the tracker and
// the storage it used; their result is its exit status.
func (t *testRun) activeTests() int {
	rc := 0
	for i, addr := range []string{t.tracker, t.storage.Addr()} {
		if err := t.cl.ActiveTest(t.e.ctx, addr); err != nil {
			host, port, _ := net.SplitHostPort(addr)
			kind := []string{"tracker", "storage"}[i]
			rc = code(err)
			fmt.Fprintf(t.e.out, "active_test to %s server %s:%s fail, errno: %d\n", kind, formatIP(host), port, rc)
		}
	}
	return rc
}

// upload is `upload LOCAL [FILE|BUFF|CALLBACK]`: the file with testMeta,
// then a slave of it from the same content, each described.
func (t *testRun) upload() int {
	e := t.e
	a := e.argv
	if len(a) < 4 {
		fmt.Fprintf(e.out, "Usage: %s <config_file> upload <local_filename> [FILE | BUFF | CALLBACK] \n", a[0])
		return int(syscall.EINVAL)
	}
	kind, prefix := "filename", "_big"
	if len(a) > 4 {
		switch a[4] {
		case "BUFF":
			kind, prefix = "filebuff", "1024x1024"
		case "CALLBACK":
			kind, prefix = "callback", map[bool]string{false: "-small", true: "_small"}[t.ids]
		}
	}
	t.listStoreServers()
	srv, err := t.cl.QueryStore(e.ctx, "")
	if err != nil {
		fmt.Fprintf(e.out, "tracker_query_storage fail, %s\n", failure(code(err)))
		return code(err)
	}
	t.storage = srv
	fmt.Fprintf(e.out, "group_name=%s, ip_addr=%s, port=%d\n", srv.Group, srv.IP, srv.Port)
	if err := t.cl.ActiveTest(e.ctx, srv.Addr()); err != nil { // tracker_make_connection
		return code(err)
	}
	data, err := readLocal(a[3])
	ext := extName(a[3])
	label := "storage_upload_by_" + kind
	if t.ids {
		fmt.Fprintln(e.out, label)
	}
	var id string
	if err == nil {
		id, err = t.cl.Upload(e.ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Storage: srv, Ext: ext, Meta: testMeta})
	}
	if !t.ids {
		fmt.Fprintln(e.out, label)
	}
	if err != nil {
		fmt.Fprintf(e.out, "upload file fail, %s\n", failure(code(err)))
		return code(err)
	}
	t.describe(id)
	return t.uploadSlave(id, data, prefix, ext, "storage_upload_slave_by_"+kind)
}

// readLocal reads a local file whole, with localFile's errors.
func readLocal(name string) ([]byte, error) {
	f, _, rc := localFile(name)
	if rc != 0 {
		return nil, syscall.Errno(rc)
	}
	defer f.Close()
	return io.ReadAll(f)
}

// listStoreServers prints the storages an upload could go to (fdfs_test:
// of any group, with the group name left empty as upstream's prints it;
// fdfs_test1: of group1).
func (t *testRun) listStoreServers() {
	group, label := "", "tracker_query_storage_store_list_without_group"
	if t.ids {
		group, label = "group1", "tracker_query_storage_store_list_with_group"
	}
	ss, err := t.cl.QueryStoreAll(t.e.ctx, group)
	if err != nil {
		return
	}
	fmt.Fprintf(t.e.out, "%s: \n", label)
	for i, s := range ss {
		fmt.Fprintf(t.e.out, "\tserver %d. group_name=%s, ip_addr=%s, port=%d\n", i+1, group, s.IP, s.Port)
	}
	fmt.Fprintln(t.e.out)
}

// uploadSlave uploads data again as a slave of masterID and describes it.
func (t *testRun) uploadSlave(masterID string, data []byte, prefix, ext, label string) int {
	e := t.e
	if t.ids {
		fmt.Fprintln(e.out, label)
	}
	id, err := t.cl.UploadSlave(e.ctx, bytes.NewReader(data), int64(len(data)), masterID, prefix, ext)
	if err == nil {
		err = t.cl.SetMetadata(e.ctx, id, testMeta, protocol.MetaOverwrite)
	}
	if !t.ids {
		fmt.Fprintln(e.out, label)
	}
	if err != nil {
		fmt.Fprintf(e.out, "upload slave file fail, %s\n", failure(code(err)))
		return code(err)
	}
	t.describe(id)
	group, master, _ := fileid.Split(masterID)
	want, err := fileid.SlaveName(master, prefix, ext)
	if err == nil && fileid.Join(group, want) != id {
		if t.ids {
			fmt.Fprintf(e.out, "slave_file_id=%s\nfile_id=%s\nnot equal!\n", fileid.Join(group, want), id)
		} else {
			_, name, _ := fileid.Split(id)
			fmt.Fprintf(e.out, "slave_filename=%s\nremote_filename=%s\nnot equal!\n", want, name)
		}
	}
	return 0
}

// describe prints what fdfs_test prints of a new file: its name (fdfs_test
// only), source, time, size, CRC32 and a URL on the storage.
func (t *testRun) describe(id string) {
	w := t.e.out
	url := t.fileURL(t.storage.IP, id)
	if !t.ids {
		group, name, _ := fileid.Split(id)
		fmt.Fprintf(w, "group_name=%s, remote_filename=%s\n", group, name)
	}
	fi := t.printInfo(id)
	fmt.Fprintf(w, "file crc32=%d\n", fi.crc32)
	fmt.Fprintf(w, "example file url: %s\n", url)
}

// fileURL is the file's URL on host, with the anti-steal token when
// client.conf asks for one, as the test programs print it.
func (s *session) fileURL(host, id string) string {
	url := "http://" + host + "/" + id
	if s.c.HTTPAntiStealCheckToken {
		ts := time.Now().Unix()
		url += "?token=" + httptoken.Make(id, s.c.HTTPAntiStealSecretKey, ts) + "&ts=" + strconv.FormatInt(ts, 10)
	}
	return url
}

// printInfo prints the file's source, time and size as
// fdfs_get_file_info gives them (zeros when it fails), and returns them.
func (s *session) printInfo(id string) *fileInfoResult {
	w := s.e.out
	fi, _ := s.fileInfo(id, 0)
	if fi == nil {
		fi = &fileInfoResult{}
	}
	fmt.Fprintf(w, "source ip address: %s\n", fi.sourceIP)
	fmt.Fprintf(w, "file timestamp=%s\n", datetime(fi.created))
	fmt.Fprintf(w, "file size=%d\n", fi.size)
	return fi
}

// fileOp runs the operations on one file (fdfs_test: GROUP NAME; fdfs_test1:
// FILE_ID). done says the program ends with rc at once.
func (t *testRun) fileOp(op string) (rc int, done bool) {
	e := t.e
	a := e.argv
	need, what, id := 5, "<group_name> <remote_filename>", ""
	if t.ids {
		need, what = 4, "<file_id>"
	}
	if len(a) < need {
		fmt.Fprintf(e.out, "Usage: %s <config_file> %s %s\n", a[0], op, what)
		return int(syscall.EINVAL), true
	}
	rest := a[need:]
	if t.ids {
		id = cString(a[3], fileIDSize)
	} else {
		id = cString(a[3], protocol.GroupNameLen+1) + "/" + cString(a[4], 256)
	}
	if op == "query_servers" {
		return t.queryServers(id), true
	}
	var srv *client.Server
	var err error
	if !t.ids && (op == "setmeta" || op == "delete") {
		srv, err = t.cl.QueryUpdate(e.ctx, id)
	} else {
		srv, err = t.cl.QueryFetch(e.ctx, id)
	}
	if err != nil {
		fmt.Fprintf(e.out, "tracker_query_storage_fetch fail, %s, %s\n", t.named(id), failure(code(err)))
		return code(err), true
	}
	t.storage = srv
	fmt.Fprintf(e.out, "storage=%s:%d\n", formatIP(srv.IP), srv.Port)
	if err := t.cl.ActiveTest(e.ctx, srv.Addr()); err != nil { // tracker_make_connection
		return code(err), true
	}
	switch op {
	case "download":
		t.download(id, rest)
	case "getmeta":
		t.getMeta(id)
	case "setmeta":
		if len(rest) < 2 {
			fmt.Fprintf(e.out, "Usage: %s <config_file> %s %s <op_flag> <metadata_list>\n"+
				"\top_flag: %c for overwrite, %c for merge\n"+
				"\tmetadata_list: name1=value1,name2=value2,...\n",
				a[0], op, what, protocol.MetaOverwrite, protocol.MetaMerge)
			return int(syscall.EINVAL), true
		}
		t.setMeta(id, rest[0], rest[1])
	case "delete":
		if err := t.cl.Delete(e.ctx, id); err != nil {
			fmt.Fprintf(e.out, "delete file fail, %s\n", failure(code(err)))
		} else {
			fmt.Fprintln(e.out, "delete file success")
		}
	}
	return 0, false
}

// named is how the messages name the file: its group and name, or its ID.
func (t *testRun) named(id string) string {
	if t.ids {
		return "file_id=" + id
	}
	group, name, _ := strings.Cut(id, "/")
	return "group_name=" + group + ", filename=" + name
}

func (t *testRun) queryServers(id string) int {
	ss, err := t.cl.QueryFetchAll(t.e.ctx, id)
	if err != nil {
		label := map[bool]string{false: "tracker_query_storage_list", true: "tracker_query_storage_list1"}[t.ids]
		fmt.Fprintf(t.e.out, "%s fail, %s, %s\n", label, t.named(id), failure(code(err)))
		return code(err)
	}
	fmt.Fprintf(t.e.out, "server list (%d):\n", len(ss))
	for _, s := range ss {
		fmt.Fprintf(t.e.out, "\t%s:%d\n", formatIP(s.IP), s.Port)
	}
	fmt.Fprintln(t.e.out)
	return 0
}

// download is `download ... [LOCAL]`: to LOCAL ("CALLBACK" is a file of
// that name too), else to the ID's base name.
func (t *testRun) download(id string, rest []string) {
	local := id[strings.LastIndexByte(id, '/')+1:]
	if len(rest) > 0 {
		local = rest[0]
	}
	var size int64
	pr, pw := io.Pipe()
	go func() {
		n, err := t.cl.Download(t.e.ctx, id, 0, 0, pw)
		size = n
		pw.CloseWithError(err)
	}()
	var buf bytes.Buffer
	_, err := io.Copy(&buf, pr) // fdfs_test reads the file whole, then writes it
	if err == nil {
		err = saveTo(local, &buf)
	}
	if err != nil {
		fmt.Fprintf(t.e.out, "download file fail, %s\n", failure(code(err)))
		return
	}
	fmt.Fprintf(t.e.out, "download file success, file size=%d, file save to %s\n", size, local)
}

func (t *testRun) getMeta(id string) {
	meta, err := t.cl.GetMetadata(t.e.ctx, id)
	if err != nil {
		fmt.Fprintf(t.e.out, "getmeta fail, %s\n", failure(code(err)))
		return
	}
	fmt.Fprintf(t.e.out, "get meta data success, meta count=%d\n", len(meta))
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the storage keeps them sorted by name
	for _, k := range keys {
		fmt.Fprintf(t.e.out, "%s=%s\n", k, meta[k])
	}
}

// setMeta is `setmeta ... FLAG name1=value1,name2=value2`: rows without '='
// are skipped, names and values cut to upstream's bounds.
func (t *testRun) setMeta(id, flag, list string) {
	meta := map[string]string{}
	for _, row := range strings.Split(list, ",") {
		k, v, ok := strings.Cut(row, "=")
		if !ok {
			continue
		}
		meta[k[:min(len(k), metaNameMax)]] = v[:min(len(v), metaValueMax)]
	}
	var op byte
	if flag != "" {
		op = flag[0]
	}
	if err := t.cl.SetMetadata(t.e.ctx, id, meta, op); err != nil {
		fmt.Fprintf(t.e.out, "setmeta fail, %s\n", failure(code(err)))
		return
	}
	fmt.Fprintln(t.e.out, "set meta data success")
}
