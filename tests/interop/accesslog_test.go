package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// accessLogLine is a line of upstream's storage access log.
var accessLogLine = regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (\S+) (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)$`)

// TestAccessLog runs the same C tools against an upstream storage and one
// of ours, each with `[access-log] enabled = true`, and compares their
// storage_access.log line by line: the header, then per request the
// client address, action, file name (the tools' file IDs without the
// group; a rename as "old=>new"), status and the bytes each way; only
// the times differ, and a failed request's resp_len (upstream logs the
// request's length there, ours the 10-byte reply's).
func TestAccessLog(t *testing.T) {
	logs := map[impl][][]string{}
	for _, im := range []impl{upstream, ours} {
		e := newEnv(t)
		tr := e.addTracker(im)
		s := e.newStorage(im, "group1")
		s.trackers = []*node{tr}
		s.writeConf()
		f, err := os.OpenFile(s.conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("\n[access-log]\nenabled = true\ntime_precision = ms\nsync_log_buff_interval = 1\n")
		f.Close()
		s.start()
		e.writeClientConf()
		e.waitActive(s)

		data := []byte("logged by both storages\n")
		id := e.upload(e.writeLocal("a.txt", data))
		e.expectDownload(id, data)
		e.expectDownload(id, data[3:8], 3, 5)
		e.mustRun("fdfs_file_info", e.clientConf, id)
		aid := e.uploadAppender(e.writeLocal("b.log", data))
		e.mustRun("fdfs_append_file", e.clientConf, aid, e.writeLocal("c.log", data))
		nid := strings.TrimSpace(e.mustRun("fdfs_regenerate_filename", e.clientConf, aid).stdout)
		e.mustRun("fdfs_delete_file", e.clientConf, id)
		e.run("fdfs_download_file", e.clientConf, id, filepath.Join(e.work, "gone")) // ENOENT
		// Stopped, the storage writes out the lines it buffers.
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(s.base, "logs", "storage_access.log"))
		if err != nil {
			t.Fatalf("%s: %v", im, err)
		}
		names := map[string]string{id: "FILE", aid: "APPENDER", nid: "RENAMED"}
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if i == 0 {
				_, header, _ := strings.Cut(line, "] ")
				logs[im] = append(logs[im], []string{header})
				continue
			}
			m := accessLogLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s: line %q is not in the access log's format", im, line)
				continue
			}
			name := m[3]
			for full, as := range names {
				_, rest, _ := strings.Cut(full, "/")
				name = strings.ReplaceAll(name, rest, as)
			}
			resp := m[7]
			if m[4] != "0" {
				// Upstream logs a failed request's own length as resp_len
				// (its reply is the 10-byte header); ours the reply's.
				resp = "error"
			}
			// client, action, name, status, req_len, resp_len (not time_used)
			logs[im] = append(logs[im], []string{m[1], m[2], name, m[4], m[6], resp})
		}
		t.Logf("%s storage_access.log:\n%s", im, b)
	}
	up, our := logs[upstream], logs[ours]
	if len(up) < 2 {
		t.Fatalf("upstream's log has %d lines", len(up))
	}
	for i := range max(len(up), len(our)) {
		var u, o []string
		if i < len(up) {
			u = up[i]
		}
		if i < len(our) {
			o = our[i]
		}
		if !slices.Equal(u, o) {
			t.Errorf("line %d: upstream %q, ours %q", i, u, o)
		}
	}
}
