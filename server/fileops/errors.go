package fileops

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error of the API.
const ErrorDomain = "fastdfs.v1"

// Reasons of google.rpc.ErrorInfo that are not derived from a FastDFS
// status code.
const (
	ReasonFileNotFound = "FILE_NOT_FOUND" // ENOENT for a request naming a file
	ReasonUnavailable  = "STORAGE_UNAVAILABLE"
	ReasonNoStorage    = "NO_STORAGE" // ENOENT of a store query: no storage can take uploads yet
	ReasonTimeout      = "TIMEOUT"
	ReasonCanceled     = "CANCELED"
	ReasonInternal     = "INTERNAL"
)

// statusMapping is one row of the error table.
type statusMapping struct {
	code   codes.Code
	reason string
}

// statusTable maps every FastDFS status code (errno value) to a gRPC code and
// an ErrorInfo reason. It is the one place where domain errors become API
// errors: requests rejected by our own validation wrap protocol.ErrInvalid
// and go through it too. Codes missing here become INTERNAL.
var statusTable = map[byte]statusMapping{
	protocol.EPERM:        {codes.PermissionDenied, "PERMISSION_DENIED"},
	protocol.ENOENT:       {codes.NotFound, "NOT_FOUND"},
	protocol.EIO:          {codes.Internal, "IO_ERROR"},
	protocol.EAGAIN:       {codes.Unavailable, "TRY_AGAIN"},
	protocol.ENOMEM:       {codes.ResourceExhausted, "OUT_OF_MEMORY"},
	protocol.EACCES:       {codes.PermissionDenied, "ACCESS_DENIED"},
	protocol.EBUSY:        {codes.FailedPrecondition, "BUSY"},
	protocol.EEXIST:       {codes.AlreadyExists, "ALREADY_EXISTS"},
	protocol.EISDIR:       {codes.InvalidArgument, "IS_DIRECTORY"},
	protocol.EINVAL:       {codes.InvalidArgument, "INVALID_ARGUMENT"},
	protocol.ENOSPC:       {codes.ResourceExhausted, "NO_SPACE"},
	protocol.ENAMETOOLONG: {codes.InvalidArgument, "NAME_TOO_LONG"},
	protocol.EOPNOTSUPP:   {codes.Unimplemented, "NOT_SUPPORTED"},
	protocol.ETIMEDOUT:    {codes.DeadlineExceeded, ReasonTimeout},
	protocol.ECONNREFUSED: {codes.Unavailable, ReasonUnavailable},
	protocol.EALREADY:     {codes.Aborted, "ALREADY_IN_PROGRESS"},
}

// ToStatus converts err to a gRPC status error carrying a google.rpc.ErrorInfo
// (domain ErrorDomain, metadata "file_id" when fileID is set and
// "fastdfs_status" when a FastDFS status code is known). nil stays nil and an
// error that already is a gRPC status (e.g. from a stream's Recv) is returned
// unchanged.
//
// Order matters: a FastDFS status answered by a server wins; otherwise
// cancellation, timeouts and connection failures are recognised from the Go
// error (the engine keeps net and context errors wrapped).
func ToStatus(err error, fileID string) error {
	if err == nil {
		return nil
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		return gs.GRPCStatus().Err()
	}
	var (
		m        statusMapping
		fdfsCode = -1
		se       *protocol.StatusError
		ne       net.Error
	)
	switch {
	case errors.As(err, &se):
		fdfsCode = int(se.Code)
		var ok bool
		if m, ok = statusTable[se.Code]; !ok {
			m = statusMapping{codes.Internal, ReasonInternal}
		}
		switch {
		case errors.Is(err, client.ErrNoStorage):
			m = statusMapping{codes.Unavailable, ReasonNoStorage}
		case se.Code == protocol.ENOENT && fileID != "":
			m.reason = ReasonFileNotFound
		}
	case errors.Is(err, context.Canceled):
		m = statusMapping{codes.Canceled, ReasonCanceled}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		m = statusTable[protocol.ETIMEDOUT]
	case errors.As(err, &ne), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		m = statusTable[protocol.ECONNREFUSED]
	default:
		m = statusMapping{codes.Internal, ReasonInternal}
	}
	md := map[string]string{}
	if fileID != "" {
		md["file_id"] = fileID
	}
	if fdfsCode >= 0 {
		md["fastdfs_status"] = strconv.Itoa(fdfsCode)
	}
	st := status.New(m.code, err.Error())
	if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: m.reason, Domain: ErrorDomain, Metadata: md}); derr == nil {
		st = withInfo
	}
	return st.Err()
}

// Invalid returns a validation error: it wraps protocol.ErrInvalid so that
// ToStatus maps it like an EINVAL answer from a server.
func Invalid(msg string) error {
	return &validationError{msg}
}

type validationError struct{ msg string }

func (e *validationError) Error() string { return e.msg }
func (e *validationError) Unwrap() error { return protocol.ErrInvalid }
