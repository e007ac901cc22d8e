package ctools

import (
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// normalNameLen is FDFS_NORMAL_LOGIC_FILENAME_LENGTH: the shortest name
// upstream's fdfs_get_file_info decodes.
const normalNameLen = fileid.NormalNameLen

// fileInfo is fdfs_file_info [-s] [-n] CONF FILE_ID. Like upstream it
// exits 0 when the query fails.
func fileInfo(e *env) int {
	a := e.argv
	usage := func() int {
		fmt.Fprintf(e.errw, "Usage: %s [options] <config_file> <file_id>\n"+
			"  options: \n"+
			"    -s: keep silence, when this file not exist, do not log error on storage server\n"+
			"    -n: do NOT calculate CRC32 for appender file or slave file\n\n", a[0])
		return exitUsage
	}
	if len(a) < 3 {
		return usage()
	}
	opts, args, ok := e.getopt("ns")
	if !ok || len(args) < 2 {
		return usage()
	}
	var flags byte
	for _, o := range opts {
		switch o.c {
		case 'n':
			flags |= protocol.FileInfoNoCRC
		case 's':
			flags |= protocol.FileInfoQuietMissing
		}
	}
	s, rc := e.open(args[0])
	if rc != 0 {
		return rc
	}
	defer s.close()
	fi, rc := s.fileInfo(cString(args[1], fileIDSize), flags)
	if rc != 0 {
		fmt.Fprintf(e.errw, "query file info fail, %s\n", failure(rc))
		return 0
	}
	w := e.out
	fmt.Fprintf(w, "GET FROM SERVER: %t\n\n", fi.fromServer)
	fmt.Fprintf(w, "file type: %s\n", fi.fileType)
	fmt.Fprintf(w, "source storage id: %d\n", fi.sourceID)
	fmt.Fprintf(w, "source ip address: %s\n", fi.sourceIP)
	fmt.Fprintf(w, "file create timestamp: %s\n", time.Unix(fi.created, 0).Format(time.DateTime))
	fmt.Fprintf(w, "file size: %d\n", fi.size)
	if flags&protocol.FileInfoNoCRC == 0 || fi.crc32 != 0 {
		fmt.Fprintf(w, "file crc32: %d (0x%08x)\n", int32(fi.crc32), fi.crc32)
	}
	fmt.Fprintln(w)
	return 0
}

// fileInfoResult is upstream's FDFSFileInfo.
type fileInfoResult struct {
	fromServer bool
	fileType   string // normal, slave or appender
	sourceID   int64  // 0 in IP mode
	sourceIP   string
	created    int64 // unix seconds
	size       int64 // bytes
	crc32      uint32
}

// fileInfo is fdfs_get_file_info_ex1 with get_from_server: a normal file
// is decoded from its name, unless its source is a storage id the local
// storage_ids.conf cannot name; appender and slave files, whose size and
// CRC32 the name cannot tell, are asked of a storage.
func (s *session) fileInfo(id string, flags byte) (*fileInfoResult, int) {
	group, name, err := fileid.Split(id)
	if err != nil {
		s.e.logError("file_id %q is invalid: %v", id, err)
		return nil, code(err)
	}
	if len(name) < normalNameLen {
		s.e.logError("filename is too short, length: %d < %d", len(name), normalNameLen)
		return nil, int(syscall.EINVAL)
	}
	_, n, err := client.DecodeFileID(id)
	if err != nil {
		s.e.logError("file %s/%s: %v", group, name, err)
		return nil, code(err)
	}
	fi := &fileInfoResult{fileType: "normal", sourceIP: n.SourceIP, created: n.Timestamp, size: n.Size, crc32: n.CRC32}
	if n.SourceID != "" {
		fi.sourceID, _ = strconv.ParseInt(n.SourceID, 10, 64) // decimal by construction
		fi.sourceIP = s.storageIP(n.SourceID)
	}
	switch {
	case n.Appender:
		fi.fileType = "appender"
	case n.Slave:
		fi.fileType = "slave"
	}
	if fi.fileType == "normal" && fi.sourceIP != "" {
		return fi, 0
	}
	r, err := s.cl.GetFileInfoFlags(s.e.ctx, id, flags)
	if err != nil {
		return nil, code(err)
	}
	fi.fromServer = true
	fi.size, fi.created, fi.crc32, fi.sourceIP = r.Size, r.CreateTime.Unix(), r.CRC32, r.SourceIP
	return fi, 0
}

// storageIP is the first address of storage id in the local
// storage_ids.conf, "" when use_storage_id is off or the id is unknown.
func (s *session) storageIP(id string) string {
	if s.ids == nil {
		return ""
	}
	for _, sid := range s.ids.List {
		if sid.ID == id && len(sid.IPs) > 0 {
			return sid.IPs[0]
		}
	}
	return ""
}
