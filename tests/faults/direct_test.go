package faults

import (
	"bytes"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// uploadAt uploads b to the storage at addr directly (UPLOAD_FILE, no
// tracker), into store path pathIndex (protocol.StoreAnyPath: the storage
// chooses). It returns the reply's status and, for 0, the file ID.
func uploadAt(addr string, pathIndex byte, b []byte) (byte, string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	head := (&protocol.UploadRequest{StorePathIndex: pathIndex, FileSize: int64(len(b)), Ext: "bin"}).Encode()
	h := protocol.Header{Length: int64(len(head) + len(b)), Cmd: protocol.CmdUploadFile}.Bytes()
	// The status can come before the whole body is sent (a refusal):
	// a write error then is no answer yet, the reply is.
	_, werr := c.Write(append(append(h, head...), b...))
	rh, err := protocol.ReadHeader(c)
	if err != nil {
		if werr != nil {
			return 0, "", werr
		}
		return 0, "", err
	}
	body, err := protocol.ReadBody(c, rh, 1024)
	if err != nil || rh.Status != 0 {
		return rh.Status, "", err
	}
	r, err := protocol.DecodeFileResponse(body)
	if err != nil {
		return 0, "", err
	}
	return 0, r.Group + "/" + r.Name, nil
}

// deleteAt deletes a file on the storage at addr directly (DELETE_FILE)
// and returns the reply's status.
func deleteAt(addr, fileID string) (byte, error) {
	g, name, err := fileid.Split(fileID)
	if err != nil {
		return 0, err
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	req := (&protocol.FileRequest{Group: g, Name: name}).Encode()
	if _, err := c.Write(append(protocol.Header{Length: int64(len(req)), Cmd: protocol.CmdDeleteFile}.Bytes(), req...)); err != nil {
		return 0, err
	}
	h, err := protocol.ReadHeader(c)
	if err != nil {
		return 0, err
	}
	_, err = protocol.ReadBody(c, h, 1024)
	return h.Status, err
}

// markOffset returns binlog_index and binlog_offset of a sync mark file.
func markOffset(t *testing.T, path string) (int, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, off := -1, int64(-1)
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "binlog_index":
			idx, _ = strconv.Atoi(v)
		case "binlog_offset":
			off, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return idx, off
}

// logHas reports whether the log file at path contains s.
func logHas(path, s string) bool {
	b, _ := os.ReadFile(path)
	return bytes.Contains(b, []byte(s))
}
