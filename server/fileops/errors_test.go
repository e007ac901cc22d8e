package fileops_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/server/fileops"
)

func TestToStatus(t *testing.T) {
	const id = "group1/M00/00/00/x.jpg"
	engineErr := func(err error) error {
		return &client.OpError{Op: "download", FileID: id, Addr: "127.0.0.1:23000", Err: err}
	}
	tests := []struct {
		name       string
		err        error
		fileID     string
		code       codes.Code
		reason     string
		fdfsStatus string
	}{
		{"not found file", engineErr(protocol.ErrNotFound), id, codes.NotFound, fileops.ReasonFileNotFound, "2"},
		{"not found other", fmt.Errorf("storage: %w", protocol.ErrNotFound), "", codes.NotFound, "NOT_FOUND", "2"},
		{"no storage yet", fmt.Errorf("query store: %w: %w", client.ErrNoStorage, protocol.ErrNotFound), "", codes.Unavailable, fileops.ReasonNoStorage, "2"},
		{"invalid", engineErr(protocol.ErrInvalid), id, codes.InvalidArgument, "INVALID_ARGUMENT", "22"},
		{"validation", fileops.Invalid("bad"), "", codes.InvalidArgument, "INVALID_ARGUMENT", "22"},
		{"exists", protocol.ErrExists, "", codes.AlreadyExists, "ALREADY_EXISTS", "17"},
		{"no space", protocol.ErrNoSpace, "", codes.ResourceExhausted, "NO_SPACE", "28"},
		{"busy", protocol.ErrBusy, "", codes.FailedPrecondition, "BUSY", "16"},
		{"permission", protocol.ErrPermission, "", codes.PermissionDenied, "PERMISSION_DENIED", "1"},
		{"access", protocol.ErrAccess, "", codes.PermissionDenied, "ACCESS_DENIED", "13"},
		{"not supported", protocol.ErrNotSupported, "", codes.Unimplemented, "NOT_SUPPORTED", "95"},
		{"status timeout", protocol.ErrTimeout, "", codes.DeadlineExceeded, fileops.ReasonTimeout, "110"},
		{"unknown status", &protocol.StatusError{Code: 200}, "", codes.Internal, fileops.ReasonInternal, "200"},
		{"context deadline", engineErr(context.DeadlineExceeded), id, codes.DeadlineExceeded, fileops.ReasonTimeout, ""},
		{"io deadline", engineErr(os.ErrDeadlineExceeded), id, codes.DeadlineExceeded, fileops.ReasonTimeout, ""},
		{"canceled", engineErr(context.Canceled), id, codes.Canceled, fileops.ReasonCanceled, ""},
		{"refused", engineErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), id, codes.Unavailable, fileops.ReasonUnavailable, ""},
		{"connection lost", engineErr(io.ErrUnexpectedEOF), id, codes.Unavailable, fileops.ReasonUnavailable, ""},
		{"other", fmt.Errorf("boom"), "", codes.Internal, fileops.ReasonInternal, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := status.FromError(fileops.ToStatus(tc.err, tc.fileID))
			if !ok || st.Code() != tc.code {
				t.Fatalf("code %v, want %v", st.Code(), tc.code)
			}
			if len(st.Details()) != 1 {
				t.Fatalf("details %v", st.Details())
			}
			info := st.Details()[0].(*errdetails.ErrorInfo)
			md := info.GetMetadata()
			if info.GetDomain() != fileops.ErrorDomain || info.GetReason() != tc.reason || md["file_id"] != tc.fileID || md["fastdfs_status"] != tc.fdfsStatus {
				t.Fatalf("ErrorInfo %v, want reason %s file_id %q fastdfs_status %q", info, tc.reason, tc.fileID, tc.fdfsStatus)
			}
		})
	}
	if fileops.ToStatus(nil, id) != nil {
		t.Error("ToStatus(nil) is not nil")
	}
	already := status.Error(codes.Canceled, "client went away")
	if got := status.Code(fileops.ToStatus(fmt.Errorf("recv: %w", already), id)); got != codes.Canceled {
		t.Errorf("a wrapped gRPC status became %v", got)
	}
}

// badRequest returns the field violations of a status error's
// google.rpc.BadRequest (nil if it has none) and its ErrorInfo.
func badRequest(t *testing.T, err error) (map[string]string, *errdetails.ErrorInfo) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%v is not a status", err)
	}
	var (
		fields map[string]string
		info   *errdetails.ErrorInfo
	)
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			fields = map[string]string{}
			for _, v := range d.GetFieldViolations() {
				fields[v.GetField()] = v.GetDescription()
			}
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	if info == nil {
		t.Fatalf("%v has no ErrorInfo", err)
	}
	return fields, info
}

func TestValidationStatus(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   codes.Code
		reason string
		fields []string
	}{
		{"invalid field", fileops.InvalidField("offset", "offset must not be negative"), codes.InvalidArgument, fileops.ReasonInvalidArgument, []string{"offset"}},
		{"invalid fields", fileops.InvalidFields(fileops.FieldViolation{"a", "x"}, fileops.FieldViolation{"b", "y"}), codes.InvalidArgument, fileops.ReasonInvalidArgument, []string{"a", "b"}},
		{"out of range", fileops.OutOfRange("offset", "past the end"), codes.OutOfRange, fileops.ReasonOutOfRange, []string{"offset"}},
		{"not appender", fileops.NotAppender("append", "group1/M00/00/00/x"), codes.FailedPrecondition, fileops.ReasonNotAppender, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fileops.ToStatus(tc.err, "group1/M00/00/00/x")
			if status.Code(err) != tc.code {
				t.Fatalf("code %v, want %v", status.Code(err), tc.code)
			}
			fields, info := badRequest(t, err)
			if info.GetReason() != tc.reason || info.GetMetadata()["fastdfs_status"] != "22" || info.GetMetadata()["file_id"] != "group1/M00/00/00/x" {
				t.Fatalf("ErrorInfo %v", info)
			}
			if len(fields) != len(tc.fields) {
				t.Fatalf("violations %v, want fields %v", fields, tc.fields)
			}
			for _, f := range tc.fields {
				if fields[f] == "" {
					t.Fatalf("violations %v, want field %s", fields, f)
				}
			}
		})
	}
	if fileops.InvalidFields() != nil {
		t.Error("InvalidFields() of no violation is not nil")
	}
}

// TestPublicMessages checks that messages name neither storage/tracker
// addresses nor errno texts.
func TestPublicMessages(t *testing.T) {
	const id = "group1/M00/00/00/x.jpg"
	errs := map[string]error{
		"status":       &client.OpError{Op: "download", FileID: id, Addr: "10.1.2.3:23000", Err: fmt.Errorf("offset 5: %w", protocol.ErrInvalid)},
		"not found":    &client.OpError{Op: "file info", FileID: id, Addr: "10.1.2.3:23000", Err: protocol.ErrNotFound},
		"refused":      &client.OpError{Op: "upload", Addr: "10.1.2.3:23000", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}},
		"tracker":      fmt.Errorf("query store (tracker 10.9.9.9:22122): %w: %w", client.ErrNoStorage, protocol.ErrNotFound),
		"unknown code": &client.OpError{Op: "delete", FileID: id, Addr: "10.1.2.3:23000", Err: &protocol.StatusError{Code: 200}},
	}
	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			msg := status.Convert(fileops.ToStatus(err, id)).Message()
			for _, bad := range []string{"10.1.2.3", "10.9.9.9", "23000", "22122", "fastdfs status", "EINVAL", "ENOENT"} {
				if strings.Contains(msg, bad) {
					t.Errorf("message %q contains %q", msg, bad)
				}
			}
			if !strings.Contains(msg, id) {
				t.Errorf("message %q does not name the file", msg)
			}
		})
	}
}

func TestValidateMetadata(t *testing.T) {
	long := func(n int) string { return strings.Repeat("k", n) }
	tests := []struct {
		name  string
		meta  map[string]string
		field string // "" = valid
	}{
		{"nil", nil, ""},
		{"plain", map[string]string{"owner": "alice", "empty": ""}, ""},
		{"limits", map[string]string{long(64): long(256)}, ""},
		{"utf-8", map[string]string{"名前": "値"}, ""},
		{"record separator in value", map[string]string{"owner": "alice\x01role\x02admin"}, `metadata["owner"]`},
		{"field separator in value", map[string]string{"owner": "a\x02b"}, `metadata["owner"]`},
		{"separator in key", map[string]string{"a\x01b": "v"}, `metadata["a\x01b"]`},
		{"empty key", map[string]string{"": "v"}, `metadata[""]`},
		{"key too long", map[string]string{long(65): "v"}, `metadata["` + long(65) + `"]`},
		{"value too long", map[string]string{"k": long(257)}, `metadata["k"]`},
		{"bad utf-8", map[string]string{"k": "\xff"}, `metadata["k"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fileops.ValidateMetadata(tc.meta)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			st := fileops.ToStatus(err, "")
			if status.Code(st) != codes.InvalidArgument {
				t.Fatalf("code %v", status.Code(st))
			}
			fields, _ := badRequest(t, st)
			if _, ok := fields[tc.field]; !ok || len(fields) != 1 {
				t.Fatalf("violations %q, want field %s", fields, tc.field)
			}
		})
	}
}

func TestEchoedID(t *testing.T) {
	long := "group1/M00/00/00/" + strings.Repeat("Q", 300)
	multi := "group1/" + strings.Repeat("é", 200) // a 2-byte rune across byte 256
	for _, tc := range []struct{ id, want string }{
		{"", ""},
		{"group1/M00/00/00/x.jpg", "group1/M00/00/00/x.jpg"},
		{long[:256], long[:256]},
		{long, long[:256] + "... (317 bytes)"},
		{multi, multi[:255] + "... (407 bytes)"},
	} {
		got := fileops.EchoedID(tc.id)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("EchoedID(%d bytes) = %q, want %q", len(tc.id), got, tc.want)
		}
	}
	_, info := badRequest(t, fileops.ToStatus(fileops.InvalidField("file_id", "bad"), long))
	if info.Metadata["file_id"] != fileops.EchoedID(long) {
		t.Errorf("ErrorInfo file_id %q", info.Metadata["file_id"])
	}
}
