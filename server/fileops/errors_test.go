package fileops_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

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
