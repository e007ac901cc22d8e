package storagenode

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestAccessName(t *testing.T) {
	const name = "M00/00/00/wKgBAF5xAAAAAAAAAAAAAAAAAAA123.jpg"
	cases := []struct {
		what string
		cmd  byte
		body []byte
		want string
	}{
		{"download", protocol.CmdDownloadFile, (&protocol.DownloadRequest{Offset: 1, Length: 2, Group: "group1", Name: name}).Encode(), name},
		{"delete", protocol.CmdDeleteFile, (&protocol.FileRequest{Group: "group1", Name: name}).Encode(), name},
		{"get metadata", protocol.CmdGetMetadata, (&protocol.FileRequest{Group: "group1", Name: name}).Encode(), name},
		{"file info", protocol.CmdQueryFileInfo, (&protocol.FileRequest{Group: "group1", Name: name}).Encode(), name},
		{"set metadata", protocol.CmdSetMetadata, (&protocol.SetMetadataRequest{Name: name, Flag: 'O', Group: "group1", Meta: []byte("k\x02v")}).Encode(), name},
		{"append", protocol.CmdAppendFile, append((&protocol.AppendRequest{Name: name, Length: 3}).Encode(), "abc"...), name},
		{"modify", protocol.CmdModifyFile, append((&protocol.ModifyRequest{Name: name, Offset: 1, Length: 3}).Encode(), "abc"...), name},
		{"truncate", protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name, NewSize: 0}).Encode(), name},
		{"rename", protocol.CmdRegenerateAppenderFilename, []byte(name), name},
		{"a prefix only", protocol.CmdAppendFile, (&protocol.AppendRequest{Name: name, Length: 3}).Encode()[:20], name[:4]},
		{"upload: in the reply", protocol.CmdUploadFile, []byte("anything"), ""},
		{"not logged", protocol.CmdActiveTest, nil, ""},
		{"too short", protocol.CmdDownloadFile, make([]byte, 20), ""},
		{"bad length", protocol.CmdTruncateFile, append([]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 20)...), ""},
		{"name too long", protocol.CmdTruncateFile, append([]byte{0, 0, 0, 0, 0, 0, 1, 0}, make([]byte, 300)...), ""},
	}
	for _, c := range cases {
		if got := accessName(c.cmd, c.body); got != c.want {
			t.Errorf("%s: accessName = %q, want %q", c.what, got, c.want)
		}
	}
}

// accessLine is one line of the access log, as upstream writes it.
var accessLine = regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] 127\.0\.0\.1 (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)$`)

// TestAccessLog makes requests on a connection the event loop serves and
// on one a goroutine serves (it uploaded first), and reads the log:
// upstream's header, then one line per request with its action, file,
// status and the bytes each way.
func TestAccessLog(t *testing.T) {
	cfg := testConfig(t)
	cfg.AccessLog = conf.AccessLog{Enabled: true, TimePrecision: "ms", LogConfig: conf.LogConfig{
		SyncLogBuffInterval: time.Second, RotateTime: "00:00", DeleteOldTime: "01:30"}}
	s := startServer(t, cfg)
	up := dial(t, s) // a goroutine's once it uploads
	content := []byte("a picture")
	name := up.upload(protocol.CmdUploadFile, 0, "jpg", content)
	if st := up.setMeta(name, protocol.MetaOverwrite, protocol.PackMeta(map[string]string{"w": "1"})); st != 0 {
		t.Fatalf("set metadata: %d", st)
	}
	loop := dial(t, s) // stays on the loop: reads only
	if st, b := loop.download(name, 0, 0); st != 0 || string(b) != string(content) {
		t.Fatalf("download: %d %q", st, b)
	}
	loop.fileInfo(name, 0)
	up.download(name, 2, 3)
	up.fileCmd(protocol.CmdDeleteFile, name)
	if st, _ := loop.download(name, 0, 0); st != protocol.ENOENT {
		t.Fatalf("download of a deleted file: %d", st)
	}
	s.Close()

	b, err := os.ReadFile(filepath.Join(cfg.BasePath, "logs", "storage_access.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if !strings.HasSuffix(lines[0], "] client_ip action filename status time_used_ms req_len resp_len") {
		t.Errorf("header %q", lines[0])
	}
	h := int64(protocol.HeaderSize)
	dl := int64(len((&protocol.DownloadRequest{Group: "group1", Name: name}).Encode()))
	fr := int64(len((&protocol.FileRequest{Group: "group1", Name: name}).Encode()))
	want := [][5]string{ // action, name, status, req_len, resp_len
		{"upload", name, "0", n(h + 15 + int64(len(content))), n(h + 16 + int64(len(name)))},
		{"set_metadata", name, "0", n(h + int64(len((&protocol.SetMetadataRequest{Name: name, Group: "group1", Meta: protocol.PackMeta(map[string]string{"w": "1"})}).Encode()))), n(h)},
		{"download", name, "0", n(h + dl), n(h + int64(len(content)))},
		{"status", name, "0", n(h + fr), n(h + 40)},
		{"download", name, "0", n(h + dl), n(h + 3)},
		{"delete", name, "0", n(h + fr), n(h)},
		{"download", name, "2", n(h + dl), n(h)},
	}
	if len(lines)-1 != len(want) {
		t.Fatalf("%d lines after the header, want %d:\n%s", len(lines)-1, len(want), b)
	}
	// A request is logged once answered, as upstream's: the client may
	// have its reply and send the next request, on another connection,
	// before the line is written, so the lines are compared as a set.
	var got [][5]string
	for _, l := range lines[1:] {
		m := accessLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q is not upstream's format", l)
			continue
		}
		got = append(got, [5]string{m[1], m[2], m[3], m[5], m[6]})
	}
	byFields := func(a, b [5]string) int { return strings.Compare(strings.Join(a[:], " "), strings.Join(b[:], " ")) }
	slices.SortFunc(got, byFields)
	slices.SortFunc(want, byFields)
	if !slices.Equal(got, want) {
		t.Errorf("lines %v,\nwant %v", got, want)
	}
}

func n(v int64) string { return strconv.FormatInt(v, 10) }

func TestAccessReplyName(t *testing.T) {
	cases := []struct {
		cmd                 byte
		name, replied, want string
	}{
		{protocol.CmdUploadFile, "", "M00/00/00/new.jpg", "M00/00/00/new.jpg"},
		{protocol.CmdUploadSlaveFile, "", "M00/00/00/new_s.jpg", "M00/00/00/new_s.jpg"},
		{protocol.CmdUploadFile, "", "", ""}, // refused: no reply name
		{protocol.CmdRegenerateAppenderFilename, "M00/00/00/old.log", "M00/00/00/new.log", "M00/00/00/old.log=>M00/00/00/new.log"},
		{protocol.CmdRegenerateAppenderFilename, "M00/00/00/old.log", "", "M00/00/00/old.log"},
		{protocol.CmdQueryFileInfo, "M00/00/00/a.jpg", "reply body", "M00/00/00/a.jpg"},
	}
	for _, c := range cases {
		if got := accessReplyName(c.cmd, c.name, c.replied); got != c.want {
			t.Errorf("accessReplyName(%d, %q, %q) = %q, want %q", c.cmd, c.name, c.replied, got, c.want)
		}
	}
}
