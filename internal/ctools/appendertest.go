package ctools

import (
	"bytes"
	"fmt"
	"net"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
)

// appenderTest is fdfs_appender_test CONF LOCAL [FILE|BUFF|CALLBACK]:
// upstream's check of appender files. It uploads LOCAL as an appender
// file with fdfs_test's metadata, truncates it to half its size, appends
// LOCAL, then writes LOCAL again at the end (MODIFY), describing the file
// after each step.
func appenderTest(e *env) int { return appenderProgram(e, false) }

// appenderTest1 is fdfs_appender_test1, the same with file IDs; it
// truncates to 0 and modifies at LOCAL's size.
func appenderTest1(e *env) int { return appenderProgram(e, true) }

// appenderRun is one run of fdfs_appender_test or fdfs_appender_test1.
type appenderRun struct {
	*session
	ids   bool   // fdfs_appender_test1
	local string // the local file
	mode  string // filename, filebuff or callback: how upstream's sends it
	url   string // the file's URL on the tracker's address
}

func appenderProgram(e *env, ids bool) int {
	a := e.argv
	fmt.Fprintf(e.out, "This is FastDFS client test program v%s\n\n"+
		"(the fdfs binary: a Go implementation of FastDFS V6.16's protocol and programs)\n\n", version)
	if len(a) < 3 {
		fmt.Fprintf(e.out, "Usage: %s <config_file> <local_filename> [FILE | BUFF | CALLBACK]\n", a[0])
		return exitUsage
	}
	s, rc := e.start(a[1])
	if s == nil {
		return rc
	}
	defer s.close()
	r := &appenderRun{session: s, ids: ids, local: a[2], mode: "filename"}
	if len(a) > 3 {
		r.mode = map[string]string{"BUFF": "filebuff", "CALLBACK": "callback"}[a[3]]
		if r.mode == "" {
			r.mode = "filename"
		}
	}
	id, size, rc := r.upload()
	if rc != 0 {
		return rc
	}
	half := size / 2 // what fdfs_appender_test truncates to and expects after the append
	if ids {
		half = 0
	}
	if err := r.cl.Truncate(e.ctx, id, half); err != nil {
		// Upstream prints (and returns) the upload's status, 0, here.
		fmt.Fprintf(e.out, "truncate file fail, %s\n", failure(0))
		return 0
	}
	fi := r.describe(id, true)
	r.checkSize(fi, half)
	if rc := r.change(id, "append", 0); rc != 0 {
		return rc
	}
	fi = r.describe(id, false)
	r.checkSize(fi, size+half)
	offset := size // fdfs_appender_test1 writes at LOCAL's size, fdfs_appender_test at the file's
	if !ids {
		offset = fi.size
	}
	if rc := r.change(id, "modify", offset); rc != 0 {
		return rc
	}
	fi = r.describe(id, false)
	r.checkSize(fi, 2*size+half)
	return 0
}

// read reads the local file as upstream's modes do: FILE and CALLBACK
// need a regular file (stat), BUFF reads whatever opens.
func (r *appenderRun) read() ([]byte, int) {
	if r.mode != "filebuff" {
		f, _, rc := localFile(r.local)
		if rc != 0 {
			return nil, rc
		}
		f.Close()
	}
	data, err := readLocal(r.local)
	if err != nil {
		return nil, code(err)
	}
	return data, 0
}

// label is the line upstream's program prints after a step: the API call
// it made (the "1" variants only where fdfs_appender_test1 prints them).
func (r *appenderRun) label(op string) string {
	l := "storage_" + op + "_by_" + r.mode
	if r.ids && (op == "upload_appender" || r.mode != "filename") {
		l += "1"
	}
	return l
}

// upload uploads the local file as an appender file on the storage the
// tracker picks and describes it; it returns the ID and the local size.
func (r *appenderRun) upload() (string, int64, int) {
	e := r.e
	srv, err := r.cl.QueryStore(e.ctx, "")
	if err != nil {
		fmt.Fprintf(e.out, "tracker_query_storage fail, %s\n", failure(code(err)))
		return "", 0, code(err)
	}
	fmt.Fprintf(e.out, "group_name=%s, ip_addr=%s, port=%d\n", srv.Group, srv.IP, srv.Port)
	if err := r.cl.ActiveTest(e.ctx, srv.Addr()); err != nil { // tracker_make_connection
		return "", 0, code(err)
	}
	data, rc := r.read()
	var id string
	if rc == 0 {
		id, err = r.cl.UploadAppender(e.ctx, bytes.NewReader(data), int64(len(data)),
			client.UploadOptions{Storage: srv, Ext: extName(r.local), Meta: testMeta})
		rc = code(err)
	}
	fmt.Fprintln(e.out, r.label("upload_appender"))
	if rc != 0 {
		fmt.Fprintf(e.out, "upload file fail, %s\n", failure(rc))
		return "", 0, rc
	}
	host, _, _ := net.SplitHostPort(r.tracker)
	r.url = r.fileURL(host, id) // on the tracker's address, as upstream's
	if r.ids {
		fmt.Fprintf(e.out, "fild_id=%s\n", id) // sic
	} else {
		group, name, _ := fileid.Split(id)
		fmt.Fprintf(e.out, "group_name=%s, remote_filename=%s\n", group, name)
	}
	r.describe(id, true)
	return id, int64(len(data)), 0
}

// change appends the local file to id, or writes it at offset (modify),
// and says so.
func (r *appenderRun) change(id, op string, offset int64) int {
	e := r.e
	data, rc := r.read()
	if rc == 0 {
		var err error
		if op == "append" {
			err = r.cl.Append(e.ctx, id, bytes.NewReader(data), int64(len(data)))
		} else {
			err = r.cl.Modify(e.ctx, id, offset, bytes.NewReader(data), int64(len(data)))
		}
		rc = code(err)
	}
	fmt.Fprintln(e.out, r.label(op))
	if rc != 0 {
		fmt.Fprintf(e.out, "%s file fail, %s\n", op, failure(rc))
		return rc
	}
	fmt.Fprintf(e.out, "%s file successfully.\n", op)
	return 0
}

// describe prints the file's source, time and size as the storage tells
// them, with its CRC32 and URL when full.
func (r *appenderRun) describe(id string, full bool) *fileInfoResult {
	fi := r.printInfo(id)
	if full {
		fmt.Fprintf(r.e.out, "file crc32=%d\nfile url: %s\n", fi.crc32, r.url)
	}
	return fi
}

// checkSize complains on stderr, in upstream's words, when the file is
// not want bytes long (fdfs_appender_test1's lines have no newline).
func (r *appenderRun) checkSize(fi *fileInfoResult, want int64) {
	if fi.size == want {
		return
	}
	end := "\n"
	if r.ids {
		end = ""
	}
	fmt.Fprintf(r.e.errw, "file size: %d != %d!!!%s", fi.size, want, end)
}
