package ctools

import (
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// fileIDSize is the char file_id[128] the programs copy an ID into.
const fileIDSize = 128

// defaultStoragePort is FDFS_STORAGE_SERVER_DEF_PORT.
const defaultStoragePort = 23000

// start is the common opening of the programs that take a client.conf
// and connect to a tracker first.
func (e *env) start(confPath string) (*session, int) {
	s, rc := e.open(confPath)
	if rc != 0 {
		return nil, rc
	}
	if rc := s.connectTracker(); rc != 0 {
		s.close()
		return nil, rc
	}
	return s, 0
}

// begin is the opening of the programs that take CONF first: their usage
// line on stdout when the command line has fewer than n words, else the
// conf loaded and a tracker connected (s is nil when the program ends
// with rc).
func (e *env) begin(n int, usage string) (s *session, rc int) {
	if len(e.argv) < n {
		fmt.Fprintf(e.out, "Usage: %s %s\n", e.argv[0], usage)
		return nil, exitUsage
	}
	return e.start(e.argv[1])
}

// uploadFile is fdfs_upload_file CONF LOCAL [STORAGE_IP:PORT [STORE_PATH]].
func uploadFile(e *env) int {
	s, rc := e.begin(3, "<config_file> <local_filename> [storage_ip:port] [store_path_index]")
	if s == nil {
		return rc
	}
	defer s.close()
	a := e.argv
	var srv *client.Server
	if len(a) >= 4 {
		if srv, rc = e.parseStorage(a[3]); rc != 0 {
			return rc
		}
		srv.StorePathIndex = protocol.StoreAnyPath
		if len(a) >= 5 {
			srv.StorePathIndex = byte(atoi(a[4]))
		}
	} else if srv, rc = s.queryStore(); rc != 0 {
		return rc
	}
	return s.upload(srv, a[2], false)
}

// uploadAppender is fdfs_upload_appender CONF LOCAL.
func uploadAppender(e *env) int {
	s, rc := e.begin(3, "<config_file> <local_filename>")
	if s == nil {
		return rc
	}
	defer s.close()
	srv, rc := s.queryStore()
	if rc != 0 {
		return rc
	}
	return s.upload(srv, e.argv[2], true)
}

// parseStorage is conn_pool_parse_server_info of "host[:port]".
func (e *env) parseStorage(hostPort string) (*client.Server, int) {
	host, port := hostPort, defaultStoragePort
	if h, p, ok := splitHostPort(hostPort); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			e.logError("host: %s, invalid port: %s!", hostPort, p)
			fmt.Fprintf(e.errw, "resolve ip address of storage server: %s fail!, error info: Resolver Error 0 (no error)\n", hostPort)
			return nil, int(syscall.EINVAL)
		}
		host, port = h, n
	} else {
		host = h
	}
	ips, err := net.DefaultResolver.LookupHost(e.ctx, host)
	if host == "" || err != nil || len(ips) == 0 {
		e.logError("host: %s, invalid hostname: %s!", hostPort, host)
		fmt.Fprintf(e.errw, "resolve ip address of storage server: %s fail!, error info: Unknown host\n", hostPort)
		return nil, int(syscall.EINVAL)
	}
	return &client.Server{IP: ips[0], Port: port}, 0
}

// splitHostPort splits "host:port", "[ipv6]:port", "[ipv6]", "ipv6" or
// "host" as libfastcommon's parseAddress does; ok says a port was given.
func splitHostPort(s string) (host, port string, ok bool) {
	if rest, found := strings.CutPrefix(s, "["); found {
		h, tail, _ := strings.Cut(rest, "]")
		p, ok := strings.CutPrefix(tail, ":")
		return h, p, ok
	}
	if strings.Count(s, ":") == 1 {
		return strings.Cut(s, ":")
	}
	return s, "", false
}

// queryStore asks the tracker for the storage to upload to.
func (s *session) queryStore() (*client.Server, int) {
	srv, err := s.cl.QueryStore(s.e.ctx, "")
	if err != nil {
		fmt.Fprintf(s.e.errw, "tracker_query_storage fail, %s\n", failure(code(err)))
		return nil, code(err)
	}
	return srv, 0
}

// upload sends a local file to srv and prints its file ID.
func (s *session) upload(srv *client.Server, local string, appender bool) int {
	e := s.e
	f, size, rc := localFile(local)
	if rc == 0 {
		defer f.Close()
		opt := client.UploadOptions{Storage: srv, Ext: extName(local)}
		var id string
		var err error
		if appender {
			id, err = s.cl.UploadAppender(e.ctx, f, size, opt)
		} else {
			id, err = s.cl.Upload(e.ctx, f, size, opt)
		}
		if err == nil {
			fmt.Fprintln(e.out, id)
			return 0
		}
		rc = code(err)
	}
	fmt.Fprintf(e.errw, "upload file fail, %s\n", failure(rc))
	return rc
}

// downloadFile is fdfs_download_file CONF FILE_ID [LOCAL [OFFSET BYTES]].
// Like upstream it exits 0 when the download fails.
func downloadFile(e *env) int {
	s, rc := e.begin(3, "<config_file> <file_id> [local_filename] [<download_offset> <download_bytes>]")
	if s == nil {
		return rc
	}
	defer s.close()
	a := e.argv
	id := cString(a[2], fileIDSize)
	var local string
	var offset, length int64
	if len(a) >= 4 {
		local = a[3]
		if len(a) >= 6 {
			offset, length = atoi(a[4]), atoi(a[5])
		}
	} else {
		local = id[strings.LastIndexByte(id, '/')+1:]
	}
	if rc := s.download(id, local, offset, length); rc != 0 {
		fmt.Fprintf(e.out, "download file fail, %s\n", failure(rc))
	}
	return 0
}

// download writes the file's range to local (see saveTo), which is
// created only once the storage has the file.
func (s *session) download(id, local string, offset, length int64) int {
	pr, pw := io.Pipe()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.cl.Download(s.e.ctx, id, offset, length, startWriter{pw, started})
		pw.CloseWithError(err)
		done <- err
	}()
	var derr error
	finished := false
	select {
	case <-started:
	case derr = <-done: // an empty file, or a failure before any content
		finished = true
		if derr != nil {
			return code(derr)
		}
	}
	err := saveTo(local, pr)
	pr.CloseWithError(err) // a local failure stops the transfer
	if !finished {
		derr = <-done
	}
	if derr != nil {
		return code(derr)
	}
	return code(err)
}

// saveTo writes r to local where upstream's open(O_WRONLY | O_CREAT |
// O_TRUNC) would: through a symbolic link into its target; straight into
// a device or a pipe (`fdfs_download_file CONF ID /dev/stdout | ...`);
// into a regular file through a temporary file renamed into place (with
// the mode of the file it replaces), so a failed transfer leaves what was
// there.
func saveTo(local string, r io.Reader) error {
	path := local
	if real, err := filepath.EvalSymlinks(local); err == nil {
		path = real
	}
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return copyInto(path, r)
		}
		perm = st.Mode().Perm()
	}
	return atomicfile.Write(path, perm, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// copyInto writes r into the existing non-regular file path.
func copyInto(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// startWriter closes started before the first write, so the local file
// is created once content arrives (an empty file has none: the download
// then ends without error, which download also waits for).
type startWriter struct {
	w       io.Writer
	started chan struct{}
}

func (sw startWriter) Write(p []byte) (int, error) {
	select {
	case <-sw.started:
	default:
		close(sw.started)
	}
	return sw.w.Write(p)
}

// deleteFile is fdfs_delete_file CONF FILE_ID.
func deleteFile(e *env) int {
	s, rc := e.begin(3, "<config_file> <file_id>")
	if s == nil {
		return rc
	}
	defer s.close()
	if err := s.cl.Delete(e.ctx, cString(e.argv[2], fileIDSize)); err != nil {
		fmt.Fprintf(e.out, "delete file fail, %s\n", failure(code(err)))
		return code(err)
	}
	return 0
}

// appendFile is fdfs_append_file CONF APPENDER_FILE_ID LOCAL.
func appendFile(e *env) int {
	s, rc := e.begin(4, "<config_file> <appender_file_id> <local_filename>")
	if s == nil {
		return rc
	}
	defer s.close()
	a := e.argv
	f, size, rc := localFile(a[3])
	if rc == 0 {
		defer f.Close()
		rc = code(s.cl.Append(e.ctx, cString(a[2], fileIDSize), f, size))
	}
	if rc != 0 {
		fmt.Fprintf(e.out, "append file fail, %s\n", failure(rc))
	}
	return rc
}

// regenerateFilename is fdfs_regenerate_filename CONF APPENDER_FILE_ID.
func regenerateFilename(e *env) int {
	a := e.argv
	if len(a) < 3 {
		fmt.Fprintf(e.errw, "regenerate filename for the appender file.\n"+
			"NOTE: the regenerated file will be a normal file!\n"+
			"Usage: %s <config_file> <appender_file_id>\n", a[0])
		return exitUsage
	}
	s, rc := e.start(a[1])
	if rc != 0 {
		return rc
	}
	defer s.close()
	id := cString(a[2], fileIDSize)
	newID, err := s.cl.RegenerateAppender(e.ctx, id)
	if err != nil {
		fmt.Fprintf(e.errw, "regenerate file %s fail, %s\n", id, failure(code(err)))
		return code(err)
	}
	fmt.Fprintln(e.out, newID)
	return 0
}

// crc32File is fdfs_crc32 FILE: the CRC32 of a local file in hex.
func crc32File(e *env) int {
	a := e.argv
	if len(a) < 2 {
		fmt.Fprintf(e.out, "Usage: %s <filename>\n", a[0])
		return exitUsage
	}
	f, err := os.Open(a[1])
	if err != nil {
		rc := code(err)
		fmt.Fprintf(e.out, "file: fdfs_crc32.c, line: 43, open file %s fail, errno: %d, error info: %s\n", a[1], rc, strerror(rc))
		return rc
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, f); err != nil {
		rc := code(err)
		fmt.Fprintf(e.out, "file: fdfs_crc32.c, line: 83, call lseek fail, errno: %d, error info: %s\n", rc, strerror(rc))
		return rc
	}
	fmt.Fprintf(e.out, "%x\n", h.Sum32())
	return 0
}
