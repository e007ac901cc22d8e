package grpcapi

import "github.com/fdfsgo/fdfs/server/fileops"

// The error table lives in server/fileops, the layer both transports call;
// these names keep grpcapi's API.

// ErrorDomain is the google.rpc.ErrorInfo domain of every error of the API.
const ErrorDomain = fileops.ErrorDomain

// Reasons of google.rpc.ErrorInfo that are not derived from a FastDFS
// status code.
const (
	ReasonFileNotFound = fileops.ReasonFileNotFound
	ReasonUnavailable  = fileops.ReasonUnavailable
	ReasonNoStorage    = fileops.ReasonNoStorage
	ReasonTimeout      = fileops.ReasonTimeout
	ReasonCanceled     = fileops.ReasonCanceled
	ReasonInternal     = fileops.ReasonInternal

	ReasonInvalidArgument = fileops.ReasonInvalidArgument
	ReasonOutOfRange      = fileops.ReasonOutOfRange
	ReasonNotAppender     = fileops.ReasonNotAppender
)

// ToStatus is fileops.ToStatus: it converts err to a gRPC status error
// carrying a google.rpc.ErrorInfo.
func ToStatus(err error, fileID string) error { return fileops.ToStatus(err, fileID) }

// invalid returns the validation error of a bad field
// (fileops.InvalidField): ToStatus maps it to INVALID_ARGUMENT with a
// google.rpc.BadRequest naming field, which is the name of the field in
// the request (or in its spec, for the streaming methods).
func invalid(field, msg string) error { return fileops.InvalidField(field, msg) }
