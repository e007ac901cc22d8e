package fileops

import (
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Reasons of the upload sessions' refusals.
const (
	// ReasonSessionNotFound: a token that is not one of ours (bad
	// signature, truncated) or names a session that was cancelled.
	// NOT_FOUND (tus: 404).
	ReasonSessionNotFound = "UPLOAD_SESSION_NOT_FOUND"
	// ReasonSessionExpired: the session outlived the session TTL; its file
	// is deleted. NOT_FOUND (tus: 410).
	ReasonSessionExpired = "UPLOAD_SESSION_EXPIRED"
	// ReasonSessionFinished: a write to or cancel of a finished session.
	// FAILED_PRECONDITION.
	ReasonSessionFinished = "UPLOAD_SESSION_FINISHED"
	// ReasonOffsetMismatch: a write that does not start at the committed
	// offset (metadata "committed_offset"). FAILED_PRECONDITION (tus:
	// 409).
	ReasonOffsetMismatch = "OFFSET_MISMATCH"
	// ReasonChecksumMismatch: content whose digest is not the one sent
	// with it; nothing was stored or committed. INVALID_ARGUMENT (tus:
	// 460), or FAILED_PRECONDITION when the whole file's CRC-32 declared
	// at creation of an upload session does not match at finish.
	ReasonChecksumMismatch = "CHECKSUM_MISMATCH"
	// ReasonSizeTooLarge: content beyond the session's declared size.
	// OUT_OF_RANGE.
	ReasonSizeTooLarge = "SIZE_EXCEEDED"
)

// apiError is a refusal with its own code and reason, optional ErrorInfo
// metadata and the field it concerns (a google.rpc.BadRequest for
// INVALID_ARGUMENT and OUT_OF_RANGE).
type apiError struct {
	code   codes.Code
	reason string
	msg    string
	field  string
	md     map[string]string
}

func (e *apiError) Error() string { return e.msg }

func (e *apiError) status(fileID string) error {
	md := map[string]string{}
	for k, v := range e.md {
		md[k] = v
	}
	if fileID != "" {
		md["file_id"] = fileID
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: e.reason, Domain: ErrorDomain, Metadata: md}}
	if e.field != "" && (e.code == codes.InvalidArgument || e.code == codes.OutOfRange) {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: e.field, Description: e.msg}}})
	}
	if e.code == codes.FailedPrecondition && e.field != "" {
		details = append(details, &errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: PreconditionFailureType, Subject: e.field, Description: e.msg,
		}}})
	}
	st := status.New(e.code, e.msg)
	if d, err := st.WithDetails(details...); err == nil {
		st = d
	}
	return st.Err()
}

func sessionNotFound(why string) error {
	return &apiError{code: codes.NotFound, reason: ReasonSessionNotFound, msg: "upload session not found: " + why, field: "token"}
}

func sessionExpired(fileID string) error {
	return &apiError{code: codes.NotFound, reason: ReasonSessionExpired,
		msg: "upload session of " + fileID + " expired; its content was deleted"}
}

func sessionFinished(fileID string) error {
	return &apiError{code: codes.FailedPrecondition, reason: ReasonSessionFinished,
		msg: "upload session of " + fileID + " is finished: it takes no more content", field: "token"}
}

func offsetMismatch(offset, committed int64) error {
	return &apiError{code: codes.FailedPrecondition, reason: ReasonOffsetMismatch,
		msg:   fmt.Sprintf("offset %d is not the committed offset %d: nothing was written", offset, committed),
		field: "offset", md: map[string]string{"committed_offset": strconv.FormatInt(committed, 10)}}
}

func checksumMismatch(field, msg string) error {
	return &apiError{code: codes.InvalidArgument, reason: ReasonChecksumMismatch, msg: msg, field: field}
}

func sizeExceeded(field string, end, size int64) error {
	return &apiError{code: codes.OutOfRange, reason: ReasonSizeTooLarge,
		msg:   fmt.Sprintf("content up to byte %d is beyond the upload's size of %d bytes", end, size),
		field: field, md: map[string]string{"size": strconv.FormatInt(size, 10)}}
}

// Reason returns the ErrorInfo reason of a gRPC status error ("" if none).
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}
