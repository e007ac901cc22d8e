package protocol_test

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// groupAt returns b with the 16-byte group field at off rewritten as a
// zero-padded C string: sync senders leave garbage after the NUL.
func groupAt(b []byte, off int) []byte {
	c := bytes.Clone(b)
	if off+protocol.GroupNameLen <= len(c) {
		protocol.PutFixed(c[off:off+protocol.GroupNameLen], protocol.CString(c[off:off+protocol.GroupNameLen]))
	}
	return c
}

// storageRequest decodes the non-content part of a storage-directed request
// body, re-encodes it and returns (re-encoded, original normalised, content
// length announced by the request, content actually present). handled is
// false for commands that are not storage commands with a body.
func storageRequest(t *testing.T, cmd byte, body []byte) (enc, orig []byte, wantContent int64, content []byte, handled bool) {
	t.Helper()
	fail := func(err error) {
		t.Helper()
		t.Fatalf("cmd %d: %v", cmd, err)
	}
	switch cmd {
	case protocol.CmdUploadFile, protocol.CmdUploadAppenderFile:
		r, n, err := protocol.DecodeUploadRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body[:n], r.FileSize, body[n:], true
	case protocol.CmdUploadSlaveFile:
		r, n, err := protocol.DecodeUploadSlaveRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body[:n], r.FileSize, body[n:], true
	case protocol.CmdDownloadFile:
		r, err := protocol.DecodeDownloadRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body, 0, nil, true
	case protocol.CmdDeleteFile, protocol.CmdGetMetadata, protocol.CmdQueryFileInfo:
		r, err := protocol.DecodeFileRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body, 0, nil, true
	case protocol.CmdSetMetadata:
		r, err := protocol.DecodeSetMetadataRequest(body)
		if err != nil {
			fail(err)
		}
		if _, err := protocol.UnpackMeta(r.Meta); err != nil {
			fail(err)
		}
		return r.Encode(), body, 0, nil, true
	case protocol.CmdAppendFile:
		r, n, err := protocol.DecodeAppendRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body[:n], r.Length, body[n:], true
	case protocol.CmdModifyFile:
		r, n, err := protocol.DecodeModifyRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body[:n], r.Length, body[n:], true
	case protocol.CmdTruncateFile:
		r, err := protocol.DecodeTruncateRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body, 0, nil, true
	case protocol.CmdRegenerateAppenderFilename:
		return body, body, 0, nil, true
	case protocol.CmdReportServerID:
		r, err := protocol.DecodeReportServerIDRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), body, 0, nil, true
	case protocol.CmdSyncCreateFile, protocol.CmdSyncUpdateFile:
		r, n, err := protocol.DecodeSyncFileRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), groupAt(body[:n], 20), r.FileSize, body[n:], true
	case protocol.CmdSyncDeleteFile:
		r, err := protocol.DecodeSyncDeleteRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), groupAt(body, 4), 0, nil, true
	case protocol.CmdSyncAppendFile, protocol.CmdSyncModifyFile:
		r, n, err := protocol.DecodeSyncRangeRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), groupAt(body[:n], 28), r.Length, body[n:], true
	case protocol.CmdSyncTruncateFile:
		r, err := protocol.DecodeSyncTruncateRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), groupAt(body, 28), 0, nil, true
	case protocol.CmdSyncCreateLink, protocol.CmdSyncRenameFile:
		r, err := protocol.DecodeSyncTwoNamesRequest(body)
		if err != nil {
			fail(err)
		}
		return r.Encode(), groupAt(body, 20), 0, nil, true
	}
	return nil, nil, 0, nil, false
}

// Every storage-directed request and response in the traces decodes and
// re-encodes byte-identically (group padding compared as a C string).
func TestTraceStorageMessages(t *testing.T) {
	all, err := tracefile.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[byte]int{}
	for _, ex := range all {
		t.Run(ex.Path, func(t *testing.T) {
			h, err := protocol.DecodeHeader(ex.Request)
			if err != nil {
				t.Fatal(err)
			}
			body := ex.Request[protocol.HeaderSize:]
			enc, orig, wantContent, content, ok := storageRequest(t, h.Cmd, body)
			if !ok {
				return
			}
			seen[h.Cmd]++
			if !bytes.Equal(enc, orig) {
				t.Errorf("request re-encodes as\n%x\nwant\n%x", enc, orig)
			}
			ok = ex.Response == nil || ex.Response[9] == 0
			if ok && int64(len(content)) != wantContent {
				t.Errorf("content %d bytes, announced %d", len(content), wantContent)
			}
			hl := protocol.HeadLen(h.Cmd)
			if hl >= 0 && len(body) >= hl {
				pl, err := protocol.PrefixLen(h.Cmd, body[:hl])
				if err != nil {
					t.Fatalf("PrefixLen: %v", err)
				}
				if pl >= 0 && pl != int64(len(orig)) {
					t.Errorf("PrefixLen %d, non-content part %d", pl, len(orig))
				}
			}
			checkStorageResponse(t, h.Cmd, ex.Response)
		})
	}
	for _, c := range []byte{9, 11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 34, 35, 36, 37, 38, 40} {
		if seen[c] == 0 {
			t.Errorf("no trace exercised cmd %d", c)
		}
	}
}

func checkStorageResponse(t *testing.T, cmd byte, resp []byte) {
	t.Helper()
	if resp == nil {
		return
	}
	h, err := protocol.DecodeHeader(resp)
	if err != nil {
		t.Fatal(err)
	}
	body := resp[protocol.HeaderSize:]
	if h.Status != 0 {
		return
	}
	switch cmd {
	case protocol.CmdUploadFile, protocol.CmdUploadAppenderFile, protocol.CmdUploadSlaveFile, protocol.CmdRegenerateAppenderFilename:
		r, err := protocol.DecodeFileResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Group != "group1" || !bytes.Equal(r.Encode(), body) {
			t.Errorf("file reply %+v re-encodes as %x, want %x", r, r.Encode(), body)
		}
	case protocol.CmdQueryFileInfo:
		r, err := protocol.DecodeFileInfoResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Encode(len(body) - 24); !bytes.Equal(got, body) {
			t.Errorf("file info %+v re-encodes as %x, want %x", r, got, body)
		}
	case protocol.CmdDownloadFile:
		// The body is file content: nothing to decode.
	case protocol.CmdGetMetadata:
		m, err := protocol.UnpackMeta(body)
		if err != nil {
			t.Fatal(err)
		}
		if got := protocol.PackMeta(m); !bytes.Equal(got, body) {
			t.Errorf("metadata %q repacks as %q", body, got)
		}
	default:
		if len(body) != 0 {
			t.Errorf("reply of cmd %d has %d body bytes", cmd, len(body))
		}
	}
}

// Specific trace values decode to the documented fields.
func TestTraceStorageValues(t *testing.T) {
	ex, err := tracefile.Named("ip", "QUERY_FILE_INFO")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := protocol.DecodeFileInfoResponse(ex.Response[protocol.HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.FileInfoResponse{Size: 10, CreateTime: 0x6b06fa1d, CRC32: 0xa684c7c6, SourceIP: "127.0.0.3"}
	if *fi != want {
		t.Errorf("file info %+v, want %+v", *fi, want)
	}
	if len(fi.Encode(protocol.IPv6AddrSize)) != protocol.FileInfoRespLenIPv6 {
		t.Error("IPv6 file info length")
	}

	ex, err = tracefile.Named("ip", "UPLOAD_SLAVE_FILE")
	if err != nil {
		t.Fatal(err)
	}
	sr, n, err := protocol.DecodeUploadSlaveRequest(ex.Request[protocol.HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	if sr.Prefix != "_big" || sr.Ext != "jpg" || sr.FileSize != 10 || n != 38+44 ||
		sr.MasterName != "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg" {
		t.Errorf("slave request %+v (%d)", sr, n)
	}

	ex, err = tracefile.Named("id", "SYNC_TRUNCATE_FILE")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := protocol.DecodeSyncTruncateRequest(ex.Request[protocol.HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	if tr.Group != "group1" || tr.OldSize != 10 || tr.NewSize != 5 || tr.Timestamp != 0x6b06f991 {
		t.Errorf("sync truncate %+v", tr)
	}

	ex, err = tracefile.Named("ip", "SET_METADATA")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := protocol.DecodeSetMetadataRequest(ex.Request[protocol.HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	m, _ := protocol.UnpackMeta(sm.Meta)
	if sm.Flag != protocol.MetaOverwrite || !maps.Equal(m, map[string]string{"color": "red", "size": "10"}) {
		t.Errorf("set metadata %+v %v", sm, m)
	}
}

func TestStorageMessagesBadInput(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"short upload", func() error { _, _, err := protocol.DecodeUploadRequest(make([]byte, 14)); return err }()},
		{"meta length mismatch", func() error {
			b := (&protocol.SetMetadataRequest{Name: "M00/00/00/x", Flag: 'O', Group: "g", Meta: []byte("a\x02b")}).Encode()
			_, err := protocol.DecodeSetMetadataRequest(b[:len(b)-1])
			return err
		}()},
		{"negative name length", func() error {
			b := (&protocol.AppendRequest{Name: "abc", Length: 1}).Encode()
			b[0] = 0xFF
			_, _, err := protocol.DecodeAppendRequest(b)
			return err
		}()},
		{"huge name length", func() error {
			b := (&protocol.ModifyRequest{Name: "abc"}).Encode()
			b[7] = 200
			_, _, err := protocol.DecodeModifyRequest(b)
			return err
		}()},
		{"truncate trailing", func() error {
			b := (&protocol.TruncateRequest{Name: "abc", NewSize: 1}).Encode()
			_, err := protocol.DecodeTruncateRequest(append(b, 'x'))
			return err
		}()},
		{"file info length", func() error { _, err := protocol.DecodeFileInfoResponse(make([]byte, 41)); return err }()},
		{"empty file reply", func() error { _, err := protocol.DecodeFileResponse(make([]byte, 16)); return err }()},
		{"prefix len huge", func() error {
			b := (&protocol.SyncTwoNamesRequest{First: "a", Second: "b"}).Encode()
			b[15] = 0xF0
			_, err := protocol.PrefixLen(protocol.CmdSyncRenameFile, b)
			return err
		}()},
		{"prefix len short head", func() error {
			_, err := protocol.PrefixLen(protocol.CmdAppendFile, make([]byte, 3))
			return err
		}()},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, protocol.ErrInvalid) {
			t.Errorf("%s: err %v, want EINVAL", tt.name, tt.err)
		}
	}
}

func TestMetaPacking(t *testing.T) {
	tests := []struct {
		in     string
		want   map[string]string
		repack string
	}{
		{"", map[string]string{}, ""},
		{"b\x022\x01a\x021", map[string]string{"a": "1", "b": "2"}, "a\x021\x01b\x022"},
		{"novalue\x01k\x02", map[string]string{"k": ""}, "k\x02"},
		{string(bytes.Repeat([]byte("n"), 70)) + "\x02v", map[string]string{string(bytes.Repeat([]byte("n"), 64)): "v"}, ""},
	}
	for _, tt := range tests {
		m, err := protocol.UnpackMeta([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(m, tt.want) {
			t.Errorf("UnpackMeta(%q) = %v, want %v", tt.in, m, tt.want)
		}
		if tt.repack != "" {
			if got := string(protocol.PackMeta(m)); got != tt.repack {
				t.Errorf("PackMeta(%v) = %q, want %q", m, got, tt.repack)
			}
		}
	}
}
