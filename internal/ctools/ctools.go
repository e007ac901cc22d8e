package ctools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// tools maps each program name to its main.
var tools = map[string]func(*env) int{
	"fdfs_upload_file":         uploadFile,
	"fdfs_upload_appender":     uploadAppender,
	"fdfs_download_file":       downloadFile,
	"fdfs_delete_file":         deleteFile,
	"fdfs_append_file":         appendFile,
	"fdfs_regenerate_filename": regenerateFilename,
	"fdfs_file_info":           fileInfo,
	"fdfs_crc32":               crc32File,
	"fdfs_monitor":             monitor,
	"fdfs_tracker_stat":        trackerStat,
	"fdfs_storage_stat":        storageStat,
	"fdfs_volumn_stat":         volumeStat,
	"fdfs_test":                fdfsTest,
	"fdfs_test1":               fdfsTest1,
	"fdfs_appender_test":       appenderTest,
	"fdfs_appender_test1":      appenderTest1,
}

// Names returns the program names, sorted.
func Names() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Is reports whether name (a path's base name) is one of the programs.
func Is(name string) bool {
	_, ok := tools[filepath.Base(name)]
	return ok
}

// Run runs the program named by argv[0]'s base name with argv as its
// command line and returns its exit status.
func Run(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	main, ok := tools[filepath.Base(argv[0])]
	if !ok {
		fmt.Fprintf(stderr, "%s: not one of %s\n", argv[0], strings.Join(Names(), ", "))
		return 1
	}
	return main(&env{ctx: ctx, argv: argv, out: stdout, errw: stderr})
}

// Statuses a program exits with besides errno values of operations.
const (
	exitUsage = 1
	// exitNoTracker is what upstream's programs exit with when no tracker
	// accepts a connection: tracker_get_connection returns NULL with errno
	// still EINPROGRESS from its non-blocking connect.
	exitNoTracker = int(syscall.EINPROGRESS)
)

// env is one program run.
type env struct {
	ctx       context.Context
	argv      []string
	out, errw io.Writer
}

// logError writes a line in the form of upstream's logger at LOG_ERR.
func (e *env) logError(format string, args ...any) {
	fmt.Fprintf(e.errw, "[%s] ERROR - %s\n", time.Now().Format(time.DateTime), fmt.Sprintf(format, args...))
}

// session is a loaded client.conf and the client built from it.
type session struct {
	e   *env
	c   *conf.Client
	cl  *client.Client
	ids *conf.StorageIDs // nil unless use_storage_id
	// tracker is the tracker connected to first (connectTracker).
	tracker string
}

// open loads client.conf as fdfs_client_init does; a non-zero status is
// the program's exit status.
func (e *env) open(path string) (*session, int) {
	c, err := conf.LoadClient(path)
	if err != nil {
		e.logError("load conf file %q fail: %v", path, err)
		return nil, confCode(err)
	}
	s := &session{e: e, c: c}
	if c.UseStorageID {
		if s.ids, err = conf.LoadStorageIDs(c.StorageIDsFilename); err != nil {
			e.logError("load storage ids file %q fail: %v", c.StorageIDsFilename, err)
			return nil, code(err)
		}
	}
	if s.cl, err = client.FromConf(c); err != nil {
		e.logError("conf file %q: %v", path, err)
		return nil, code(err)
	}
	return s, 0
}

func (s *session) close() { s.cl.Close() }

// connectTracker is tracker_get_connection: the programs that call it
// fail before anything else when no tracker accepts a connection.
func (s *session) connectTracker() int {
	_, rc := s.connectTrackerAddr()
	return rc
}

// connectTrackerAddr is connectTracker returning the tracker connected.
func (s *session) connectTrackerAddr() (string, int) {
	for _, addr := range s.cl.Trackers() {
		err := s.cl.ActiveTest(s.e.ctx, addr)
		if err == nil {
			s.tracker = addr
			return addr, 0
		}
		s.e.logError("connect to server %s fail, errno: %d, error info: %s", addr, code(err), strerror(code(err)))
	}
	return "", exitNoTracker
}

// confCode is the errno fdfs_client_init returns for a conf error:
// ENOENT for a missing file or a required key not set, EINVAL for a bad
// value.
func confCode(err error) int {
	var ce *conf.Error
	switch {
	case !errors.As(err, &ce) || ce.Err != nil:
		return code(err)
	case ce.Line == 0 && ce.Key != "":
		return int(protocol.ENOENT)
	}
	return int(protocol.EINVAL)
}

// code is the errno upstream's client library returns for err.
func code(err error) int {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno > 0 && errno < 256 {
		return int(errno)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return int(syscall.ENOENT)
	}
	return int(protocol.StatusOf(err))
}

// strerror is glibc's strerror text of an errno (Go's texts are glibc's
// with a lowercase first letter).
func strerror(n int) string {
	if n == 0 {
		return "Success" // fdfs_appender_test prints a failed truncate with status 0
	}
	if n < 0 || n > 4095 {
		return "Unknown error " + strconv.Itoa(n)
	}
	s := syscall.Errno(n).Error()
	if strings.HasPrefix(s, "errno ") {
		return "Unknown error " + strconv.Itoa(n)
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// failure is upstream's "error no: N, error info: TEXT" tail.
func failure(n int) string {
	return fmt.Sprintf("error no: %d, error info: %s", n, strerror(n))
}

// cString is fc_safe_strcpy into a char[size] buffer: at most size-1 bytes.
func cString(s string, size int) string {
	if len(s) >= size {
		return s[:size-1]
	}
	return s
}

// atoi is C's atoi: an optional sign and the leading digits, 0 if none.
func atoi(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	v, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			if strings.HasPrefix(s, "-") {
				return -1 << 63
			}
			return 1<<63 - 1
		}
		return 0
	}
	return v
}

// localFile opens a local file to send as the C client does: stat errors
// are their errno, anything but a regular file is EINVAL.
func localFile(name string) (*os.File, int64, int) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, 0, code(err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, int(syscall.EINVAL)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, code(err)
	}
	return f, st.Size(), 0
}

// extName is fdfs_get_file_ext_name: the text after the last '.' when it
// is at most 6 bytes without a '/', widened to a two-part extension
// ("tar.gz") when that still fits in 6 bytes.
func extName(name string) string {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return ""
	}
	ext := name[dot+1:]
	if len(ext) > fileid.ExtMaxLen || strings.ContainsRune(ext, '/') {
		return ""
	}
	start := max(dot-(fileid.ExtMaxLen-len(ext))-1, 0)
	p := dot - 1
	for p > start && name[p] != '.' {
		p--
	}
	if p > start && !strings.ContainsRune(name[p+1:], '/') {
		return name[p+1:]
	}
	return ext
}
