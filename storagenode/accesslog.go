package storagenode

import (
	"encoding/binary"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/logbuf"
	"github.com/fdfsgo/fdfs/internal/logfile"
)

// accessLog is upstream's storage access log ([access-log] enabled in
// storage.conf): base_path/logs/storage_access.log, one line per client
// request on a file, "[start time] client_ip action filename status
// time_used req_len resp_len" (time_used in ms or µs as time_precision
// says; the lengths count the 10-byte headers), the columns named on the
// first line of each file, lines written out every
// sync_log_buff_interval, the file rotated as its log_file_* keys say.
type accessLog struct {
	file *logfile.File
	buf  *logbuf.Writer
	us   bool // time_precision = usecond
}

// accessLogName is the file's name in base_path/logs, upstream's.
const accessLogName = "storage_access.log"

// openAccessLog opens the access log cfg asks for, nil when it is off.
func openAccessLog(cfg *conf.Storage) (*accessLog, error) {
	ac := cfg.AccessLog
	if !ac.Enabled {
		return nil, nil
	}
	a := &accessLog{us: ac.TimePrecision == "us"} // conf gives "ms" or "us"
	f, err := logfile.Open(filepath.Join(cfg.BasePath, "logs", accessLogName), logfile.Options{
		RotateEveryday: ac.RotateEveryday, RotateTime: ac.RotateTime, RotateOnSize: ac.RotateOnSize,
		CompressOld: ac.CompressOld, CompressDaysBefore: ac.CompressDaysBefore,
		KeepDays: ac.KeepDays, DeleteOldTime: ac.DeleteOldTime, Header: a.header,
	}, nil)
	if err != nil {
		return nil, err
	}
	a.file, a.buf = f, logbuf.New(f, ac.SyncLogBuffInterval, 0)
	return a, nil
}

// header is the first line of a file, as upstream's
// storage_set_access_log_header.
func (a *accessLog) header() []byte {
	unit := "ms"
	if a.us {
		unit = "us"
	}
	return append(a.stamp(nil, time.Now()), "client_ip action filename status time_used_"+unit+" req_len resp_len\n"...)
}

// stamp appends "[2006-01-02 15:04:05.000] " (or with µs) for t.
func (a *accessLog) stamp(b []byte, t time.Time) []byte {
	layout := "[2006-01-02 15:04:05.000] "
	if a.us {
		layout = "[2006-01-02 15:04:05.000000] "
	}
	return t.AppendFormat(b, layout)
}

// record writes the line of one request of cmd from client that began
// at began; name is the file's name ("-" when unknown), reqLen and
// respLen the bytes received and sent, headers included.
func (a *accessLog) record(client net.Addr, cmd byte, name string, status byte, began time.Time, reqLen, respLen int64) {
	action := accessAction(cmd)
	if action == "" {
		return
	}
	if name == "" {
		name = "-"
	}
	used := time.Since(began)
	b := a.stamp(make([]byte, 0, 160), began)
	b = append(b, remoteHost(client)+" "+action+" "+name+" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	if a.us {
		b = strconv.AppendInt(b, used.Microseconds(), 10)
	} else {
		b = strconv.AppendInt(b, used.Milliseconds(), 10)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, reqLen, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, respLen, 10)
	a.buf.Write(append(b, '\n'))
}

// Close writes out what is buffered and closes the file.
func (a *accessLog) Close() error {
	if a == nil {
		return nil
	}
	err := a.buf.Close()
	if cerr := a.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// accessAction is upstream's name of a logged command, "" for the others
// (ACTIVE_TEST, the peers' sync and trunk commands, listings).
func accessAction(cmd byte) string {
	switch cmd {
	case protocol.CmdUploadFile, protocol.CmdUploadAppenderFile, protocol.CmdUploadSlaveFile:
		return "upload"
	case protocol.CmdDownloadFile:
		return "download"
	case protocol.CmdDeleteFile:
		return "delete"
	case protocol.CmdGetMetadata:
		return "get_metadata"
	case protocol.CmdSetMetadata:
		return "set_metadata"
	case protocol.CmdModifyFile:
		return "modify"
	case protocol.CmdAppendFile:
		return "append"
	case protocol.CmdTruncateFile:
		return "truncate"
	case protocol.CmdQueryFileInfo:
		return "status"
	case protocol.CmdRegenerateAppenderFilename:
		return "rename"
	}
	return ""
}

// accessNameBytes is how much of a request body accessName needs at
// most: the longest fixed part before a name (SET_METADATA's 33 bytes)
// and the longest name.
const accessNameBytes = 33 + protocol.MaxStorageFilenameLn

// accessName is the file name a request body (or its first
// accessNameBytes) names, without the group; "" for uploads, whose name
// is in the reply, and for a body too short to hold one.
func accessName(cmd byte, body []byte) string {
	var start, n int
	switch cmd {
	case protocol.CmdDownloadFile: // offset 8, length 8, group 16, name
		start, n = 32, len(body)-32
	case protocol.CmdDeleteFile, protocol.CmdGetMetadata, protocol.CmdQueryFileInfo: // group 16, name
		start, n = protocol.GroupNameLen, len(body)-protocol.GroupNameLen
	case protocol.CmdSetMetadata: // name length 8, meta length 8, flag 1, group 16, name, meta
		start, n = 33, lenField(body, 0)
	case protocol.CmdAppendFile, protocol.CmdTruncateFile: // name length 8, size 8, name
		start, n = 16, lenField(body, 0)
	case protocol.CmdModifyFile: // name length 8, offset 8, size 8, name
		start, n = 24, lenField(body, 0)
	case protocol.CmdRegenerateAppenderFilename:
		start, n = 0, len(body)
	default:
		return ""
	}
	if n <= 0 || start > len(body) {
		return ""
	}
	return string(body[start:min(start+n, len(body), start+protocol.MaxStorageFilenameLn)])
}

// accessReplyName completes the logged name of a request with the name
// its reply gave (replied, "" if none): an upload's name, and a rename
// logged as "old=>new", as upstream.
func accessReplyName(cmd byte, name, replied string) string {
	switch {
	case replied == "":
		return name
	case accessAction(cmd) == "upload":
		return replied
	case cmd == protocol.CmdRegenerateAppenderFilename:
		return name + "=>" + replied
	}
	return name
}

// lenField is the 8-byte length at off, -1 if absent or out of range.
func lenField(b []byte, off int) int {
	if len(b) < off+8 {
		return -1
	}
	v := int64(binary.BigEndian.Uint64(b[off:]))
	if v < 0 || v > protocol.MaxStorageFilenameLn {
		return -1
	}
	return int(v)
}

// accessName starts the access log's record of a request on a goroutine's
// connection: it resets the counts and returns the name its body gives
// (peeked, not consumed), "" when the log is off.
func (s *Server) accessName(cc *conn, h protocol.Header) string {
	if s.access == nil {
		return ""
	}
	cc.sent, cc.replyName = 0, ""
	if accessAction(h.Cmd) == "" || h.Cmd == protocol.CmdUploadFile || h.Cmd == protocol.CmdUploadAppenderFile || h.Cmd == protocol.CmdUploadSlaveFile {
		return ""
	}
	head, _ := cc.in.Peek(int(min(h.Length, accessNameBytes)))
	return accessName(h.Cmd, head)
}
