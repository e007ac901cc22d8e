package interop

// A deliberately minimal FastDFS client written from the upstream
// storage_client.c, independent of fdfsengine: it sends one request to a
// storage chosen by the test (the C tools always let the tracker choose,
// except fdfs_upload_file).

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Upstream command codes (tracker/tracker_proto.h).
const (
	cmdUploadFile         = 11
	cmdDeleteFile         = 12
	cmdUploadSlaveFile    = 21
	cmdUploadAppenderFile = 23
	cmdAppendFile         = 24
	cmdModifyFile         = 34
	cmdTruncateFile       = 36
	cmdResp               = 100
	groupNameLen          = 16
	extNameLen            = 6
)

// rawCall sends cmd with body to addr and returns the reply status and body.
func rawCall(addr string, cmd byte, body []byte) (byte, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	pkt := make([]byte, 10, 10+len(body))
	binary.BigEndian.PutUint64(pkt, uint64(len(body)))
	pkt[8] = cmd
	if _, err := c.Write(append(pkt, body...)); err != nil {
		return 0, nil, err
	}
	var h [10]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return 0, nil, fmt.Errorf("reply header: %w", err)
	}
	n := binary.BigEndian.Uint64(h[:8])
	if h[8] != cmdResp || n > 1<<20 {
		return 0, nil, fmt.Errorf("bad reply header % x", h)
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(c, resp); err != nil {
		return 0, nil, fmt.Errorf("reply body: %w", err)
	}
	return h[9], resp, nil
}

func u64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// rawUpload uploads data to the storage at addr (store path chosen by the
// storage) as a normal or appender file and returns the file ID.
func rawUpload(addr string, appender bool, data []byte, ext string) (string, error) {
	cmd := byte(cmdUploadFile)
	if appender {
		cmd = cmdUploadAppenderFile
	}
	body := []byte{0xff} // store_path_index -1: the storage chooses
	body = append(body, u64(int64(len(data)))...)
	e := make([]byte, extNameLen)
	copy(e, ext)
	body = append(append(body, e...), data...)
	status, resp, err := rawCall(addr, cmd, body)
	if err != nil {
		return "", err
	}
	if status != 0 {
		return "", fmt.Errorf("upload to %s: status %d", addr, status)
	}
	if len(resp) <= groupNameLen {
		return "", fmt.Errorf("upload to %s: reply of %d bytes", addr, len(resp))
	}
	group := strings.TrimRight(string(resp[:groupNameLen]), "\x00")
	return group + "/" + string(resp[groupNameLen:]), nil
}

// remoteName is the file ID without the group.
func remoteName(fileID string) string {
	_, name, _ := strings.Cut(fileID, "/")
	return name
}

func rawStatus(addr string, cmd byte, body []byte) error {
	status, _, err := rawCall(addr, cmd, body)
	if err != nil {
		return err
	}
	if status != 0 {
		return fmt.Errorf("command %d to %s: status %d", cmd, addr, status)
	}
	return nil
}

// rawAppend appends data to an appender file on its source storage.
func rawAppend(addr, fileID string, data []byte) error {
	name := remoteName(fileID)
	body := append(append(u64(int64(len(name))), u64(int64(len(data)))...), name...)
	return rawStatus(addr, cmdAppendFile, append(body, data...))
}

// rawModify overwrites an appender file at offset.
func rawModify(addr, fileID string, offset int64, data []byte) error {
	name := remoteName(fileID)
	body := append(append(append(u64(int64(len(name))), u64(offset)...), u64(int64(len(data)))...), name...)
	return rawStatus(addr, cmdModifyFile, append(body, data...))
}

// rawDelete deletes a file at the storage at addr, whichever storage of
// its group that is.
func rawDelete(addr, fileID string) error {
	group, name, _ := strings.Cut(fileID, "/")
	g := make([]byte, groupNameLen)
	copy(g, group)
	return rawStatus(addr, cmdDeleteFile, append(g, name...))
}

// rawTruncate truncates an appender file to size.
func rawTruncate(addr, fileID string, size int64) error {
	name := remoteName(fileID)
	body := append(append(u64(int64(len(name))), u64(size)...), name...)
	return rawStatus(addr, cmdTruncateFile, body)
}

// rawUploadSlave uploads a slave file of master (on master's source
// storage addr) and returns its file ID.
func rawUploadSlave(addr, master, prefix, ext string, data []byte) (string, error) {
	name := remoteName(master)
	body := append(u64(int64(len(name))), u64(int64(len(data)))...)
	p := make([]byte, 16+extNameLen)
	copy(p, prefix)
	copy(p[16:], ext)
	body = append(append(append(body, p...), name...), data...)
	status, resp, err := rawCall(addr, cmdUploadSlaveFile, body)
	if err != nil {
		return "", err
	}
	if status != 0 {
		return "", fmt.Errorf("upload slave to %s: status %d", addr, status)
	}
	if len(resp) <= groupNameLen {
		return "", fmt.Errorf("upload slave to %s: reply of %d bytes", addr, len(resp))
	}
	return strings.TrimRight(string(resp[:groupNameLen]), "\x00") + "/" + string(resp[groupNameLen:]), nil
}
