package faults

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/apiclient"
	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// The hostile input test's daemons: tracker .180, storage .181 (HTTP on
// 8080, anti-steal tokens on), gateway .182.
const (
	hoTrackerIP = "127.0.0.180"
	hoStorageIP = "127.0.0.181"
	hoGatewayIP = "127.0.0.182"
	hoHTTPPort  = 8080
	hoSecret    = "hostile-secret-0123456789"
	hoTokenTTL  = 900 // seconds

	// sentinelText is in every sentinel file: no answer may contain it.
	sentinelText = "SENTINEL-never-to-be-served-0x5e171ne1"
)

const hostileStorageConf = storageConf + `http.server_port = 8080
http.anti_steal.check_token = true
http.anti_steal.token_ttl = 900
http.anti_steal.secret_key = hostile-secret-0123456789
`

// hostileEnv is the cluster under attack, the files it knows and the
// sentinel files planted around the store path.
type hostileEnv struct {
	c         *cluster
	g         *gateway
	storage   string // storage address
	httpAddr  string // storage HTTP address
	store     string
	file      string // a normal file ID (10 KB)
	fileBytes []byte
	appender  string // an appender file ID
	sentinels map[string]os.FileInfo
	before    map[string]bool // files outside the store path at the start
}

// setupHostile starts the cluster and the gateway, stores a normal and an
// appender file and plants the sentinels.
func setupHostile(t *testing.T) *hostileEnv {
	t.Helper()
	c := startClusterConf(t, hostileStorageConf, hoTrackerIP, hoStorageIP)
	e := &hostileEnv{
		c:         c,
		g:         startGateway(t, c.tracker.addr, hoGatewayIP),
		storage:   c.storages[0].addr,
		httpAddr:  net.JoinHostPort(hoStorageIP, "8080"),
		store:     c.storePaths[0],
		fileBytes: content(7, 10<<10),
		sentinels: map[string]os.FileInfo{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var err error
	if e.file, err = c.client.Upload(ctx, bytes.NewReader(e.fileBytes), int64(len(e.fileBytes)), client.UploadOptions{Ext: "txt"}); err != nil {
		t.Fatal(err)
	}
	if e.appender, err = c.client.UploadAppender(ctx, strings.NewReader("appender"), 8, client.UploadOptions{Ext: "log"}); err != nil {
		t.Fatal(err)
	}
	// Sentinels: beside the store path, at its root, at the root of its
	// data directory (not a file ID's place) and beside the cluster.
	base := filepath.Dir(e.store)
	for _, p := range []string{
		filepath.Join(filepath.Dir(base), "sentinel.txt"),
		filepath.Join(base, "sentinel.txt"),
		filepath.Join(e.store, "sentinel.txt"),
		filepath.Join(e.store, "data", "sentinel.txt"),
		filepath.Join(e.g.spool, "..", "sentinel.txt"),
	} {
		if err := os.WriteFile(p, []byte(sentinelText+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		e.sentinels[filepath.Clean(p)] = st
	}
	e.before = e.outside(t)
	return e
}

// outside lists the files of the cluster's and the gateway's directories
// that are not under a store path's data directories, logs excluded.
func (e *hostileEnv) outside(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, root := range []string{filepath.Dir(filepath.Dir(e.store)), filepath.Dir(e.g.spool)} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return nil
			case d.IsDir() && p == filepath.Join(e.store, "data"):
				return fs.SkipDir
			case !d.IsDir() && !strings.HasSuffix(p, ".log"):
				out[p] = true
			}
			return nil
		})
	}
	return out
}

// served fails the test if an answer carries a sentinel's text.
func served(t *testing.T, what string, b []byte) {
	t.Helper()
	if bytes.Contains(b, []byte(sentinelText)) {
		t.Errorf("%s: the answer carries a sentinel file's content", what)
	}
}

// checkSentinels checks that every sentinel is there, unchanged, and that
// no new file appeared outside the store path.
func (e *hostileEnv) checkSentinels(t *testing.T) {
	t.Helper()
	for p, was := range e.sentinels {
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("sentinel %s: %v", p, err)
			continue
		}
		b, _ := os.ReadFile(p)
		if string(b) != sentinelText+"\n" || !st.ModTime().Equal(was.ModTime()) {
			t.Errorf("sentinel %s changed: %q, mtime %v (was %v)", p, b, st.ModTime(), was.ModTime())
		}
	}
	for p := range e.outside(t) {
		if !e.before[p] && !e.daemonFile(p) {
			t.Errorf("new file outside the store path: %s", p)
		}
	}
}

// daemonFile reports whether p is one of the files a daemon writes of its
// own (tracker state, storage binlogs and stats under base_path/data).
func (e *hostileEnv) daemonFile(p string) bool {
	base := filepath.Dir(e.store)
	tracker := filepath.Join(filepath.Dir(base), "tracker")
	return strings.HasPrefix(p, filepath.Join(base, "data")+"/") || strings.HasPrefix(p, tracker+"/")
}

// wire is one binary-protocol exchange: the first response header, or the
// connection closed (or reset) without one.
type wire struct {
	closed bool
	status byte
	body   []byte
}

// wireExchange sends req on a new connection (half-closing it after when
// closeWrite) and reads the answer; a server that neither answers nor
// closes within waitLimit fails the test (a hang).
func wireExchange(t *testing.T, addr string, req []byte, closeWrite bool) wire {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	go func() {
		c.Write(req) // the server may answer and close before the end
		if closeWrite {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	h, err := protocol.ReadHeader(c)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("%s neither answered nor closed within %v", addr, waitLimit)
	case err != nil:
		return wire{closed: true}
	}
	w := wire{status: h.Status}
	if h.Length > 0 {
		w.body, _ = io.ReadAll(io.LimitReader(c, min(h.Length, 1<<20)))
	}
	return w
}

// pkt is a header announcing len(body), then body.
func pkt(cmd byte, body []byte) []byte { return pktLen(cmd, int64(len(body)), body) }

// pktLen is a header announcing length, whatever body really is.
func pktLen(cmd byte, length int64, body []byte) []byte {
	return append(protocol.Header{Length: length, Cmd: cmd}.Bytes(), body...)
}

// traversals are hostile names for a file of group1, in every encoding;
// each would reach one of the sentinels if a server joined it to a data
// directory path (M00/00/00 is store/data/00/00) or decoded it first.
func (e *hostileEnv) traversals() map[string]string {
	_, name, _ := fileid.Split(e.file)
	abs := filepath.Join(filepath.Dir(e.store), "sentinel.txt")
	return map[string]string{
		"dotdot":                 "M00/00/00/../../../sentinel.txt",
		"M00 then dotdot":        "M00/../../sentinel.txt",
		"dotdot to base":         "M00/00/00/../../../../sentinel.txt",
		"%2f":                    "M00/00/00/..%2f..%2f..%2fsentinel.txt",
		"%2e%2e":                 "M00/00/00/%2e%2e/%2e%2e/%2e%2e/sentinel.txt",
		"%252e%252e":             "M00/00/00/%252e%252e%252f%252e%252e%252f%252e%252e%252fsentinel.txt",
		"backslashes":            `M00\00\00\..\..\..\sentinel.txt`,
		"dotdot backslashes":     `M00/00/00/..\..\..\sentinel.txt`,
		"%5c":                    "M00/00/00/..%5c..%5c..%5csentinel.txt",
		"overlong %c0%ae":        "M00/00/00/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/sentinel.txt",
		"overlong bytes":         "M00/00/00/\xc0\xae\xc0\xae/\xc0\xae\xc0\xae/\xc0\xae\xc0\xae/sentinel.txt",
		"%c0%af":                 "M00/00/00/..%c0%af..%c0%af..%c0%afsentinel.txt",
		"NUL then dotdot":        name + "\x00/../../../sentinel.txt",
		"%00":                    name + "%00/../../../sentinel.txt",
		"absolute":               abs,
		"absolute after M00":     "M00/00/00/" + abs,
		"double slash absolute":  "M00//" + abs,
		"data dir root":          "M00/sentinel.txt",
		"long name 4 KB":         "M00/00/00/" + strings.Repeat("A", 4096),
		"long dotdots 1 KB":      "M00/00/00/" + strings.Repeat("../", 340) + "sentinel.txt",
		"metadata side file":     name + "-m",
		"valid name, dotdot ext": strings.TrimSuffix(name, ".txt") + "./../../../sentinel.txt",
	}
}

// hostileGroups are group names with path characters.
var hostileGroups = []string{"group1/..", "../../..", "group1%2f..", `..\..`, "/etc", "group1\x00x"}

// TestHostileInput attacks every listener of a tracker, a storage (and
// its HTTP port, anti-steal tokens on) and a gateway (gRPC and REST, API
// keys on), all real processes: bad framing, oversized and truncated
// requests, traversal in every encoding on every operation that takes a
// file name, forged tokens and keys. Every request must end in an error
// (FastDFS status, HTTP 4xx, a gRPC error code) or a closed connection,
// within waitLimit; the daemons must live; no answer may carry a sentinel
// file's bytes, the sentinels must be unchanged and no file may appear
// outside the store path; a well-behaved client must still be served.
func TestHostileInput(t *testing.T) {
	needBinary(t)
	e := setupHostile(t)
	procs := []*proc{e.c.tracker, e.c.storages[0], e.g.proc}
	rss := map[string][3]int{} // kB before, peak during, after
	for _, p := range procs {
		rss[p.kind] = [3]int{rssKB(t, p)}
	}
	peaks, stopSampling := samplePeaks(procs)
	t.Run("binary framing", e.binaryFraming)
	t.Run("binary traversal", e.binaryTraversal)
	t.Run("storage HTTP", e.storageHTTP)
	t.Run("storage HTTP tokens", e.tokens)
	t.Run("REST", e.rest)
	t.Run("REST keys", e.restKeys)
	t.Run("gRPC", e.grpc)
	t.Run("gRPC keys", e.grpcKeys)
	stopSampling()
	for i, p := range procs {
		p.alive(t)
		r := rss[p.kind]
		r[1], r[2] = peaks[i], rssKB(t, p)
		rss[p.kind] = r
	}
	t.Logf("VmRSS kB before / peak during / after: %v", rss)
	e.checkSentinels(t)
	e.wellBehaved(t)
}

// samplePeaks samples the VmRSS of procs every 20 ms until stop is
// called; peaks (kB) is complete once stop returns.
func samplePeaks(procs []*proc) (peaks []int, stop func()) {
	peaks = make([]int, len(procs))
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			for i, p := range procs {
				peaks[i] = max(peaks[i], rssNow(p))
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return peaks, func() {
		close(done)
		<-stopped
	}
}

// wellBehaved checks that the known files are intact and that an upload,
// a download and a delete work through every listener.
func (e *hostileEnv) wellBehaved(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var got bytes.Buffer
	if _, err := e.c.client.Download(ctx, e.file, 0, 0, &got); err != nil || !bytes.Equal(got.Bytes(), e.fileBytes) {
		t.Errorf("known file after the attacks: %d bytes, %v", got.Len(), err)
	}
	b := content(99, 5000)
	id, err := e.c.client.Upload(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatalf("upload after the attacks: %v", err)
	}
	if code, body := e.httpGet(t, e.tokenURL(id, time.Now().Unix())); code != 200 || !bytes.Equal(body, b) {
		t.Errorf("storage HTTP after the attacks: %d, %d bytes", code, len(body))
	}
	up, err := apiclient.Upload(withKey(ctx, rwKey), e.g.files, &fastdfsv1.UploadSpec{Ext: "bin", Size: int64(len(b))}, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gRPC upload after the attacks: %v", err)
	}
	code, body := e.restDo(t, "GET", "/v1/files/"+up.FileId+":download", "Authorization: Bearer "+roKey, nil)
	if code != 200 || !bytes.Equal(body, b) {
		t.Errorf("REST download after the attacks: %d, %d bytes", code, len(body))
	}
	if err := e.c.client.Delete(ctx, id); err != nil {
		t.Errorf("delete after the attacks: %v", err)
	}
}

// binaryFraming sends requests whose framing is wrong to the tracker and
// the storage.
func (e *hostileEnv) binaryFraming(t *testing.T) {
	cases := e.framingCases()
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			addr := e.storage
			if strings.HasPrefix(fc.name, "tracker/") {
				addr = e.c.tracker.addr
			}
			w := wireExchange(t, addr, fc.req, fc.closeWrite)
			served(t, fc.name, w.body)
			// ACTIVE_TEST ignores a body; a request's status byte is
			// ignored, as upstream does: both are answered.
			if !w.closed && w.status == 0 && !strings.Contains(fc.name, "active test") && !strings.Contains(fc.name, "status byte") {
				t.Errorf("accepted (status 0, %d body bytes)", len(w.body))
			}
		})
	}
	t.Logf("%d framing cases", len(cases))
}

// frame is a request with broken framing, to the tracker or the storage
// (by the prefix of its name).
type frame struct {
	name       string
	req        []byte
	closeWrite bool // half-close after it (a client gone)
}

// framingCases are the requests of binaryFraming.
func (e *hostileEnv) framingCases() []frame {
	g, name, _ := fileid.Split(e.file)
	fileReq := (&protocol.FileRequest{Group: g, Name: name}).Encode()
	var cases []frame
	for _, srv := range []struct {
		label string
		cmd   byte
	}{{"tracker", protocol.CmdQueryStoreWithoutGroupOne}, {"storage", protocol.CmdQueryFileInfo}} {
		for _, n := range []int64{math.MaxInt64, math.MaxInt64 - 9, 1 << 62, math.MaxInt64 / 2} {
			cases = append(cases, frame{fmt.Sprintf("%s/pkg_len %d", srv.label, n), pktLen(srv.cmd, n, fileReq), false})
		}
		cases = append(cases,
			frame{srv.label + "/active test with a body", pkt(protocol.CmdActiveTest, make([]byte, 64)), false},
			frame{srv.label + "/1 header byte then close", []byte{0}, true},
			frame{srv.label + "/9 header bytes then close", pkt(srv.cmd, nil)[:9], true},
			frame{srv.label + "/body cut at half then close", pktLen(srv.cmd, int64(len(fileReq)), fileReq[:len(fileReq)/2]), true},
			frame{srv.label + "/64 KB of 0xff", bytes.Repeat([]byte{0xff}, 64<<10), true},
			frame{srv.label + "/status byte set in a request", append(pkt(srv.cmd, fileReq)[:9], append([]byte{22}, fileReq...)...), false},
		)
	}
	cases = append(cases,
		frame{"tracker/store query with a 10-byte body", pkt(protocol.CmdQueryStoreWithoutGroupOne, make([]byte, 10)), false},
		frame{"tracker/list groups with a body", pkt(protocol.CmdServerListAllGroups, make([]byte, 100)), false},
		frame{"tracker/fetch query of 1 byte", pkt(protocol.CmdQueryFetchOne, []byte{'g'}), false},
		frame{"tracker/1 GiB announced, 8 MiB sent", pktLen(protocol.CmdQueryFetchOne, 1<<30, make([]byte, 8<<20)), true},
		frame{"storage/file info of 5 bytes", pkt(protocol.CmdQueryFileInfo, []byte("group")), false},
		frame{"storage/download of 16 bytes", pkt(protocol.CmdDownloadFile, make([]byte, 16)), false},
		frame{"storage/upload pkg_len 2^63-1 file_size 2^63-16", pktLen(protocol.CmdUploadFile, math.MaxInt64,
			(&protocol.UploadRequest{StorePathIndex: 0xff, FileSize: math.MaxInt64 - 15, Ext: "bin"}).Encode()), false},
		frame{"storage/upload file_size beyond pkg_len", pkt(protocol.CmdUploadFile,
			append((&protocol.UploadRequest{StorePathIndex: 0xff, FileSize: 1 << 40, Ext: "bin"}).Encode(), "abc"...)), false},
		frame{"storage/append pkg_len 2^63-1", pktLen(protocol.CmdAppendFile, math.MaxInt64,
			(&protocol.AppendRequest{Name: mustName(e.appender), Length: math.MaxInt64 - 16 - int64(len(mustName(e.appender)))}).Encode()), false},
		frame{"storage/set metadata 1 GiB announced, 8 MiB sent", pktLen(protocol.CmdSetMetadata, 1<<30,
			append((&protocol.SetMetadataRequest{Name: name, Flag: 'O', Group: g}).Encode(), make([]byte, 8<<20)...)), true},
		frame{"storage/metadata names the length of the whole packet", func() []byte {
			b := (&protocol.SetMetadataRequest{Name: name, Flag: 'O', Group: g, Meta: []byte("a\x02b")}).Encode()
			binary.BigEndian.PutUint64(b[8:16], math.MaxInt64-uint64(len(name)))
			return pkt(protocol.CmdSetMetadata, b)
		}(), false},
	)
	return cases
}

// mustName is the name part of a file ID (no group).
func mustName(id string) string {
	_, n, _ := fileid.Split(id)
	return n
}

// binaryTraversal sends every hostile name and group with every storage
// command that takes one, and with the tracker's queries.
func (e *hostileEnv) binaryTraversal(t *testing.T) {
	count := 0
	for label, n := range e.traversals() {
		if label == "metadata side file" {
			continue // a real name: GET_METADATA of a file's name reads its -m file
		}
		for op, r := range namedRequests(group, n) {
			e.sendWire(t, label+"/"+op, r)
			count++
		}
	}
	for _, g := range hostileGroups {
		if strings.Contains(g, "\x00") {
			continue // a fixed field ends at its first NUL: "group1\x00x" is group1
		}
		for op, r := range namedRequests(g, mustName(e.file)) {
			if op == "append" || op == "modify" || op == "truncate" || op == "regenerate" || op == "slave master" {
				continue // no group in these requests
			}
			e.sendWire(t, "group "+g+"/"+op, r)
			count++
		}
	}
	t.Logf("%d traversal requests", count+e.binarySlaveExt(t))
}

// wireReq is a binary-protocol request of binaryTraversal.
type wireReq struct {
	cmd        byte
	body       []byte
	toTracker  bool
	okIsBreach bool // a status 0 is a breach (not just a missing check)
}

// namedRequests are the requests that name the file n of group g, by
// operation.
func namedRequests(g, n string) map[string]wireReq {
	meta := []byte("pwned\x02yes")
	return map[string]wireReq{
		"download":       {protocol.CmdDownloadFile, (&protocol.DownloadRequest{Group: g, Name: n}).Encode(), false, true},
		"file info":      {protocol.CmdQueryFileInfo, (&protocol.FileRequest{Group: g, Name: n}).Encode(), false, true},
		"get metadata":   {protocol.CmdGetMetadata, (&protocol.FileRequest{Group: g, Name: n}).Encode(), false, true},
		"set metadata":   {protocol.CmdSetMetadata, (&protocol.SetMetadataRequest{Name: n, Flag: 'O', Group: g, Meta: meta}).Encode(), false, true},
		"delete":         {protocol.CmdDeleteFile, (&protocol.FileRequest{Group: g, Name: n}).Encode(), false, true},
		"append":         {protocol.CmdAppendFile, append((&protocol.AppendRequest{Name: n, Length: 5}).Encode(), "pwned"...), false, true},
		"modify":         {protocol.CmdModifyFile, append((&protocol.ModifyRequest{Name: n, Length: 5}).Encode(), "pwned"...), false, true},
		"truncate":       {protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: n}).Encode(), false, true},
		"regenerate":     {protocol.CmdRegenerateAppenderFilename, []byte(n), false, true},
		"slave master":   {protocol.CmdUploadSlaveFile, append((&protocol.UploadSlaveRequest{MasterName: n, FileSize: 5, Prefix: "_s", Ext: "txt"}).Encode(), "pwned"...), false, true},
		"tracker fetch":  {protocol.CmdQueryFetchOne, (&protocol.FileRequest{Group: g, Name: n}).Encode(), true, false},
		"tracker update": {protocol.CmdQueryUpdate, (&protocol.FileRequest{Group: g, Name: n}).Encode(), true, false},
	}
}

// sendWire sends r on its own connection and checks the answer.
func (e *hostileEnv) sendWire(t *testing.T, label string, r wireReq) {
	t.Helper()
	addr := e.storage
	if r.toTracker {
		addr = e.c.tracker.addr
	}
	w := wireExchange(t, addr, pkt(r.cmd, r.body), false)
	served(t, label, w.body)
	if !w.closed && w.status == 0 && r.okIsBreach {
		t.Errorf("%s: accepted (status 0, %d body bytes)", label, len(w.body))
	}
}

// binarySlaveExt sends hostile slave prefixes and extensions (16 and 6
// bytes on the wire) and upload extensions; it returns how many. A fixed
// field ends at its first NUL (as upstream reads it), so "_s\x00/../" is
// the prefix "_s": none has one here.
func (e *hostileEnv) binarySlaveExt(t *testing.T) int {
	master := mustName(e.file)
	n := 0
	for _, pe := range [][2]string{
		{"../../", "txt"}, {"..%2f..%2f", "txt"}, {`..\..\`, "txt"}, {"\xc0\xae\xc0\xae/", "txt"}, {"/etc/", "txt"},
		{"%2e%2e/", "txt"}, {"_s/../", "txt"}, {"_s", "../.."}, {"_s", `..\..`}, {"_s", "%2e%2e"}, {"_s", "/x"}, {"_s", "a/"},
	} {
		head := (&protocol.UploadSlaveRequest{MasterName: master, FileSize: 5, Prefix: pe[0], Ext: pe[1]}).Encode()
		e.sendWire(t, "slave prefix "+pe[0]+" ext "+pe[1], wireReq{protocol.CmdUploadSlaveFile, append(head, "pwned"...), false, true})
		n++
	}
	for _, ext := range []string{"../..", `..\..`, "%2e%2e", "/x", "a/..", "\xc0\xae"} {
		head := (&protocol.UploadRequest{StorePathIndex: 0xff, FileSize: 5, Ext: ext}).Encode()
		e.sendWire(t, "upload ext "+ext, wireReq{protocol.CmdUploadFile, append(head, "pwned"...), false, true})
		n++
	}
	return n
}
