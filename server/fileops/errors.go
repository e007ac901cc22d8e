package fileops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

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
	// ReasonInvalidArgument is the reason of a request our validation
	// refused (and of an EINVAL answer).
	ReasonInvalidArgument = "INVALID_ARGUMENT"
	// ReasonOutOfRange: an offset or size beyond the end of the file.
	ReasonOutOfRange = "OUT_OF_RANGE"
	// ReasonNotAppender: append, modify, truncate or regenerate of a file
	// that is not an appender file.
	ReasonNotAppender = "NOT_APPENDER_FILE"
	// ReasonRouteNotFound and ReasonMethodNotAllowed: REST requests for
	// a path no route serves (404) or with a method the route does not
	// take (405).
	ReasonRouteNotFound    = "ROUTE_NOT_FOUND"
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
)

// statusMapping is one row of the error table.
type statusMapping struct {
	code   codes.Code
	reason string
	// desc is the client's message for the status: the Go error's text
	// names storage and tracker addresses and errno values, which go to
	// the log only.
	desc string
}

// statusTable maps every FastDFS status code (errno value) to a gRPC code and
// an ErrorInfo reason. It is the one place where domain errors become API
// errors: requests rejected by our own validation wrap protocol.ErrInvalid
// and go through it too. Codes missing here become INTERNAL.
var statusTable = map[byte]statusMapping{
	protocol.EPERM:        {codes.PermissionDenied, "PERMISSION_DENIED", "operation not permitted by the storage"},
	protocol.ENOENT:       {codes.NotFound, "NOT_FOUND", "not found"},
	protocol.EIO:          {codes.Internal, "IO_ERROR", "I/O error on the storage"},
	protocol.EAGAIN:       {codes.Unavailable, "TRY_AGAIN", "the server is busy, try again"},
	protocol.ENOMEM:       {codes.ResourceExhausted, "OUT_OF_MEMORY", "the server is out of memory"},
	protocol.EACCES:       {codes.PermissionDenied, "ACCESS_DENIED", "access denied by the storage"},
	protocol.EBUSY:        {codes.FailedPrecondition, "BUSY", "the file is busy"},
	protocol.EEXIST:       {codes.AlreadyExists, "ALREADY_EXISTS", "already exists"},
	protocol.EISDIR:       {codes.InvalidArgument, "IS_DIRECTORY", "the name is a directory"},
	protocol.EINVAL:       {codes.InvalidArgument, ReasonInvalidArgument, "invalid argument"},
	protocol.ENOSPC:       {codes.ResourceExhausted, "NO_SPACE", "no space left on the storage"},
	protocol.ENAMETOOLONG: {codes.InvalidArgument, "NAME_TOO_LONG", "name too long"},
	protocol.EOPNOTSUPP:   {codes.Unimplemented, "NOT_SUPPORTED", "operation not supported"},
	protocol.ETIMEDOUT:    {codes.DeadlineExceeded, ReasonTimeout, "timed out"},
	protocol.ECONNREFUSED: {codes.Unavailable, ReasonUnavailable, "storage or tracker unavailable"},
	protocol.EALREADY:     {codes.Aborted, "ALREADY_IN_PROGRESS", "operation already in progress"},
}

// maxEchoedID bounds the bytes of a file ID an error quotes (its message,
// ErrorInfo and BadRequest): a valid ID is at most a 16-byte group, a
// slash and a 127-byte name, and a client's 5 KB one was quoted three
// times in each refusal.
const maxEchoedID = 256

// EchoedID is id as an error quotes it: whole up to maxEchoedID bytes,
// else cut there (at a rune, as valid UTF-8) with the whole length noted.
func EchoedID(id string) string {
	if len(id) <= maxEchoedID {
		return id
	}
	cut := maxEchoedID
	for cut > maxEchoedID-utf8.UTFMax && !utf8.RuneStart(id[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strings.ToValidUTF8(id[:cut], "\uFFFD"), len(id))
}

// Mappings of errors that are not a FastDFS status.
var (
	mapNoStorage    = statusMapping{codes.Unavailable, ReasonNoStorage, "no storage server can take the file yet"}
	mapOffline      = statusMapping{codes.Unavailable, ReasonUnavailable, "no storage server of the file's group is available now"}
	mapFileNotFound = statusMapping{codes.NotFound, ReasonFileNotFound, "file not found"}
	mapCanceled     = statusMapping{codes.Canceled, ReasonCanceled, "canceled"}
	mapInternal     = statusMapping{codes.Internal, ReasonInternal, "internal error"}
)

// ToStatus converts err to a gRPC status error carrying a google.rpc.ErrorInfo
// (domain ErrorDomain, metadata "file_id" when fileID is set and
// "fastdfs_status" when a FastDFS status code is known) and, for requests
// refused by validation, a google.rpc.BadRequest naming the fields. nil
// stays nil and an error that already is a gRPC status (e.g. from a
// stream's Recv) is returned unchanged.
//
// The message is meant for clients: the operation, the file and what went
// wrong, never the addresses of storages or trackers nor errno texts, which
// err carries for the log (Files logs it; transports calling ToStatus
// themselves log err first).
//
// Order matters: a validation error of ours first, then a FastDFS status
// answered by a server; otherwise cancellation, timeouts and connection
// failures are recognised from the Go error (the engine keeps net and
// context errors wrapped).
func ToStatus(err error, fileID string) error {
	if err == nil {
		return nil
	}
	fileID = EchoedID(fileID)
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		return gs.GRPCStatus().Err()
	}
	var (
		m        statusMapping
		fdfsCode = -1
		ve       *validationError
		pe       *preconditionError
		ae       *apiError
		se       *protocol.StatusError
		ne       net.Error
	)
	switch {
	case errors.As(err, &ve):
		return ve.status(fileID)
	case errors.As(err, &pe):
		return pe.status(fileID)
	case errors.As(err, &ae):
		return ae.status(fileID)
	case errors.As(err, &se):
		fdfsCode = int(se.Code)
		var ok bool
		if m, ok = statusTable[se.Code]; !ok {
			m = mapInternal
			m.desc = "unexpected status " + strconv.Itoa(fdfsCode) + " from the server"
		}
		switch {
		case errors.Is(err, client.ErrNoStorage):
			m = mapNoStorage
		case errors.Is(err, client.ErrStorageOffline):
			m = mapOffline
		case se.Code == protocol.ENOENT && fileID != "":
			m = mapFileNotFound
		}
	case errors.Is(err, context.Canceled):
		m = mapCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		m = statusTable[protocol.ETIMEDOUT]
	case errors.As(err, &ne), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		m = statusTable[protocol.ECONNREFUSED]
	default:
		m = mapInternal
	}
	md := map[string]string{}
	if fileID != "" {
		md["file_id"] = fileID
	}
	if fdfsCode >= 0 {
		md["fastdfs_status"] = strconv.Itoa(fdfsCode)
	}
	st := status.New(m.code, publicMessage(err, fileID, m.desc))
	if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: m.reason, Domain: ErrorDomain, Metadata: md}); derr == nil {
		st = withInfo
	}
	return st.Err()
}

// publicMessage is the client's message for err: "<op> <file ID>: <desc>"
// when the engine names the operation, else desc (plus the file ID).
func publicMessage(err error, fileID, desc string) string {
	var oe *client.OpError
	op := ""
	if errors.As(err, &oe) {
		op = oe.Op
		if oe.FileID != "" {
			fileID = oe.FileID
		}
	}
	var b strings.Builder
	b.WriteString(op)
	if fileID != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fileID)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(desc)
	return b.String()
}

// ValidationText is the text of err, a refusal of the fileid package's
// checks (a file ID, an extension), for a client's message: without the
// FastDFS status it wraps, as messages hold no errno texts (the status is
// the ErrorInfo's fastdfs_status).
func ValidationText(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+protocol.ErrInvalid.Error())
}

// FieldViolation is one bad field of a request: Field is its path as the
// client wrote it (`metadata["k"]`, `spec.size`, `offset`), Description
// says what is wrong.
type FieldViolation struct {
	Field       string
	Description string
}

// Invalid returns a validation error without a field. Prefer InvalidField:
// every INVALID_ARGUMENT of validation should name the field it refuses.
// It wraps protocol.ErrInvalid so that it maps like an EINVAL answer.
func Invalid(msg string) error {
	return &validationError{code: codes.InvalidArgument, reason: ReasonInvalidArgument, msg: msg}
}

// InvalidField returns the validation error of one bad field: ToStatus
// makes it INVALID_ARGUMENT with a google.rpc.BadRequest naming field.
func InvalidField(field, msg string) error {
	return InvalidFields(FieldViolation{field, msg})
}

// InvalidFields returns the validation error of several bad fields; the
// message is the first one's description (nil for no violation).
func InvalidFields(vs ...FieldViolation) error {
	if len(vs) == 0 {
		return nil
	}
	return &validationError{code: codes.InvalidArgument, reason: ReasonInvalidArgument, msg: vs[0].Description, fields: vs}
}

// OutOfRange returns the refusal of an offset or size past the end of the
// file: OUT_OF_RANGE with a BadRequest naming field.
func OutOfRange(field, msg string) error {
	return &validationError{code: codes.OutOfRange, reason: ReasonOutOfRange, msg: msg, fields: []FieldViolation{{field, msg}}}
}

// NotAppender returns the refusal to change a file that is not an appender
// file: FAILED_PRECONDITION, reason ReasonNotAppender.
func NotAppender(op, fileID string) error {
	return &validationError{code: codes.FailedPrecondition, reason: ReasonNotAppender,
		msg: op + " " + fileID + ": not an appender file (only appender files can be appended to, modified or truncated)"}
}

// validationError is a request refused before or instead of reaching a
// server. It wraps protocol.ErrInvalid (fastdfs_status 22: a storage
// would have answered EINVAL).
type validationError struct {
	code   codes.Code
	reason string
	msg    string
	fields []FieldViolation
}

func (e *validationError) Error() string { return e.msg }
func (e *validationError) Unwrap() error { return protocol.ErrInvalid }

func (e *validationError) status(fileID string) error {
	md := map[string]string{"fastdfs_status": strconv.Itoa(int(protocol.EINVAL))}
	if fileID != "" {
		md["file_id"] = fileID
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: e.reason, Domain: ErrorDomain, Metadata: md}}
	if len(e.fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
		}
		details = append(details, br)
	}
	st := status.New(e.code, e.msg)
	if withInfo, derr := st.WithDetails(details...); derr == nil {
		st = withInfo
	}
	return st.Err()
}

// ValidateMetadata checks metadata as FastDFS stores it: records
// "name\x02value" joined by "\x01", names of at most
// protocol.MetaNameMaxLen bytes and values of at most
// protocol.MetaValueMaxLen bytes (upstream's FDFS_MAX_META_NAME_LEN and
// FDFS_MAX_META_VALUE_LEN; storages silently cut longer ones). A name or
// value holding a separator would be stored as other pairs, an empty name
// as a pair no client can ask for: all are refused, each violation naming
// its field as `metadata["name"]`. Names and values must be UTF-8 (the
// API's strings are). Names starting with SessionMetaPrefix are reserved:
// they would turn a file into an unfinished upload session, which expires.
func ValidateMetadata(meta map[string]string) error {
	var vs []FieldViolation
	for k, v := range meta {
		field := "metadata[" + strconv.Quote(k) + "]"
		switch {
		case k == "":
			vs = append(vs, FieldViolation{field, "metadata names must not be empty"})
		case len(k) > protocol.MetaNameMaxLen:
			vs = append(vs, FieldViolation{field, fmt.Sprintf("metadata name of %d bytes exceeds the maximum of %d", len(k), protocol.MetaNameMaxLen)})
		case strings.ContainsAny(k, metaSeparators):
			vs = append(vs, FieldViolation{field, "metadata names must not contain the bytes 0x01 and 0x02 (FastDFS separators)"})
		case strings.HasPrefix(k, SessionMetaPrefix):
			// They mark an unfinished upload session, whose file expires.
			vs = append(vs, FieldViolation{field, "metadata names starting with " + SessionMetaPrefix + " are reserved for upload sessions"})
		case !utf8.ValidString(k):
			vs = append(vs, FieldViolation{field, "metadata names must be valid UTF-8"})
		case len(v) > protocol.MetaValueMaxLen:
			vs = append(vs, FieldViolation{field, fmt.Sprintf("metadata value of %d bytes exceeds the maximum of %d", len(v), protocol.MetaValueMaxLen)})
		case strings.ContainsAny(v, metaSeparators):
			vs = append(vs, FieldViolation{field, "metadata values must not contain the bytes 0x01 and 0x02 (FastDFS separators)"})
		case !utf8.ValidString(v):
			vs = append(vs, FieldViolation{field, "metadata values must be valid UTF-8"})
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Field < vs[j].Field })
	return InvalidFields(vs...)
}

var metaSeparators = string([]byte{protocol.MetaRecordSep, protocol.MetaFieldSep})

// WithErrorInfo returns st with a google.rpc.ErrorInfo (domain
// ErrorDomain) if it has none, for errors that did not come through
// ToStatus (grpc-gateway's own, grpc-go's): the reason is the code's name
// (INVALID_ARGUMENT, NOT_FOUND, ...). An INVALID_ARGUMENT without a
// google.rpc.BadRequest gets one naming field (when not ""). OK stays as
// it is.
func WithErrorInfo(st *status.Status, field string) *status.Status {
	if st.Code() == codes.OK {
		return st
	}
	hasInfo, hasBR := false, false
	for _, d := range st.Details() {
		switch d.(type) {
		case *errdetails.ErrorInfo:
			hasInfo = true
		case *errdetails.BadRequest:
			hasBR = true
		}
	}
	var add []protoadapt.MessageV1
	if !hasInfo {
		add = append(add, &errdetails.ErrorInfo{Reason: codeReason(st.Code()), Domain: ErrorDomain})
	}
	if st.Code() == codes.InvalidArgument && !hasBR && field != "" {
		add = append(add, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: st.Message()}}})
	}
	if len(add) == 0 {
		return st
	}
	if d, err := st.WithDetails(add...); err == nil {
		return d
	}
	return st
}

// codeReason is the canonical name of a code: INVALID_ARGUMENT for
// codes.InvalidArgument.
func codeReason(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
