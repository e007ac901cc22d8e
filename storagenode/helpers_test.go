package storagenode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// testConfig is a storage configuration on 127.0.0.1 with an ephemeral
// port, 4×4 data directories and the store in a temp dir.
func testConfig(t testing.TB) *conf.Storage {
	t.Helper()
	base := t.TempDir()
	return &conf.Storage{
		GroupName:          "group1",
		BindAddr:           "127.0.0.1",
		ClientBind:         true,
		BasePath:           base,
		StorePathCount:     1,
		StorePaths:         []string{base},
		SubdirCountPerPath: 4,
		BuffSize:           8 << 10,
		NetworkTimeout:     10 * time.Second,
	}
}

func startServer(t testing.TB, cfg *conf.Storage) *Server {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// allowSyncFrom makes ips the members of s's group, as a group list from
// the trackers would, so that sync commands from them are taken.
func allowSyncFrom(s *Server, ips ...string) {
	var briefs []protocol.Brief
	for _, ip := range ips {
		briefs = append(briefs, protocol.Brief{Status: protocol.StatusActive, ID: ip, IP: ip})
	}
	s.repl.setMembers(briefs, nil)
}

// rawClient is the tests' raw protocol client (internal/wiretest) with
// the storage requests these tests send.
type rawClient struct {
	*wiretest.Client
	t *testing.T
}

func dial(t *testing.T, s *Server) *rawClient {
	t.Helper()
	return &rawClient{Client: wiretest.Dial(t, s.Addr()), t: t}
}

func (rc *rawClient) upload(cmd byte, storeIndex byte, ext string, content []byte) string {
	rc.t.Helper()
	req := protocol.UploadRequest{StorePathIndex: storeIndex, FileSize: int64(len(content)), Ext: ext}
	st, body := rc.Do(cmd, req.Encode(), content)
	if st != 0 {
		rc.t.Fatalf("upload: status %d", st)
	}
	r, err := protocol.DecodeFileResponse(body)
	if err != nil {
		rc.t.Fatal(err)
	}
	if r.Group != "group1" {
		rc.t.Fatalf("upload reply group %q", r.Group)
	}
	return r.Name
}

func (rc *rawClient) download(name string, offset, length int64) (byte, []byte) {
	rc.t.Helper()
	req := protocol.DownloadRequest{Offset: offset, Length: length, Group: "group1", Name: name}
	return rc.Do(protocol.CmdDownloadFile, req.Encode())
}

func (rc *rawClient) fileCmd(cmd byte, name string) (byte, []byte) {
	rc.t.Helper()
	return rc.Do(cmd, (&protocol.FileRequest{Group: "group1", Name: name}).Encode())
}

func (rc *rawClient) setMeta(name string, flag byte, meta []byte) byte {
	rc.t.Helper()
	st, _ := rc.Do(protocol.CmdSetMetadata, (&protocol.SetMetadataRequest{Name: name, Flag: flag, Group: "group1", Meta: meta}).Encode())
	return st
}

func (rc *rawClient) fileInfo(name string, flags byte) (byte, *protocol.FileInfoResponse) {
	rc.t.Helper()
	h, body := rc.Raw(wiretest.Packet(protocol.CmdQueryFileInfo, flags, (&protocol.FileRequest{Group: "group1", Name: name}).Encode()))
	if h.Status != 0 {
		return h.Status, nil
	}
	r, err := protocol.DecodeFileInfoResponse(body)
	if err != nil {
		rc.t.Fatal(err)
	}
	return 0, r
}

// alive checks that the connection still answers ACTIVE_TEST.
func (rc *rawClient) alive() {
	rc.t.Helper()
	if st, _ := rc.Do(protocol.CmdActiveTest); st != 0 {
		rc.t.Fatalf("active test status %d", st)
	}
}

// closedByServer reports whether the server closed the connection.
func (rc *rawClient) closedByServer() bool { return rc.Closed(10 * time.Second) }

func binlogText(t *testing.T, s *Server) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.cfg.BasePath, "data", "sync", "binlog.000"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// binlogOps returns "op name[ extra]" per line, without timestamps.
func binlogOps(t *testing.T, s *Server) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(binlogText(t, s)), "\n") {
		if _, rest, ok := strings.Cut(l, " "); ok {
			out = append(out, rest)
		}
	}
	return out
}

func mustParse(t *testing.T, name string) *fileid.Name {
	t.Helper()
	n, err := fileid.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dataFiles lists every file in the store path's HH/LL data directories
// (temp files included).
func dataFiles(t *testing.T, storePath string) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(storePath, "data", "[0-9A-F][0-9A-F]", "[0-9A-F][0-9A-F]"))
	var out []string
	for _, d := range dirs {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	return out
}

// reservedAll reserves 100% of every store path: no upload fits.
func reservedAll() conf.Reserved { return conf.Reserved{IsPercent: true, Percent: 100} }

// logsOnFailure is a buffer for servers' logs that the test prints if it
// fails.
func logsOnFailure(t *testing.T) *syncbuf.Buffer {
	logs := new(syncbuf.Buffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return logs
}
