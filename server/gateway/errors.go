package gateway

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"

	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/metrics"
)

// jsonMarshaler is grpc-gateway's default marshaler except that unknown
// fields of a request body are refused (400) instead of dropped: a typo
// in "metadata" with mode OVERWRITE would otherwise wipe all metadata.
var jsonMarshaler = &runtime.HTTPBodyMarshaler{
	Marshaler: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	},
}

// errorHandler is the mux's error handler: every error body is a
// google.rpc.Status with an ErrorInfo, and an INVALID_ARGUMENT made by
// grpc-gateway itself (a body or a parameter that does not parse) gets a
// google.rpc.BadRequest naming the field (fileops.WithErrorInfo). The
// code is recorded for the metrics.
func (g *Gateway) errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var hse *runtime.HTTPStatusError
	inner := err
	if errors.As(err, &hse) {
		inner = hse.Err
	}
	st := status.Convert(inner)
	st = validMessage(fileops.WithErrorInfo(st, guessField(st.Message())))
	if rs, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		rs.code, rs.hasCode = st.Code(), true
	}
	if hse == nil && st.Code() == codes.FailedPrecondition && fileops.IsPreconditionReason(reasonOf(st)) {
		// A precondition the client set (expected_size, If-Match, an
		// idempotency key) is 412, not grpc-gateway's 400.
		hse = &runtime.HTTPStatusError{HTTPStatus: http.StatusPreconditionFailed}
	}
	if hse != nil {
		err = &runtime.HTTPStatusError{HTTPStatus: hse.HTTPStatus, Err: st.Err()}
	} else {
		err = st.Err()
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

var (
	paramField   = regexp.MustCompile(`parameter: ([A-Za-z0-9_.]+)`)
	unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)
	jsonField    = regexp.MustCompile(`invalid value for [^ ]+ field ([A-Za-z0-9_]+)`)
)

// guessField names the field of grpc-gateway's messages about requests it
// cannot parse: "type mismatch, parameter: x", protojson's
// `unknown field "x"` or "invalid value for ... field x"; else the body.
func guessField(msg string) string {
	for _, re := range []*regexp.Regexp{paramField, unknownField, jsonField} {
		if m := re.FindStringSubmatch(msg); m != nil {
			return m[1]
		}
	}
	return "body"
}

// routingError answers requests no route takes with a google.rpc.Status
// carrying an ErrorInfo: 404 (NOT_FOUND, ROUTE_NOT_FOUND) and 405
// (UNIMPLEMENTED, METHOD_NOT_ALLOWED; grpc-gateway would make it 501).
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
	var st *status.Status
	switch code {
	case http.StatusMethodNotAllowed:
		st = status.New(codes.Unimplemented, "method "+r.Method+" not allowed on this route")
		st = withReason(st, fileops.ReasonMethodNotAllowed)
	case http.StatusNotFound:
		st = status.New(codes.NotFound, "no route for "+r.Method+" "+r.URL.Path)
		st = withReason(st, fileops.ReasonRouteNotFound)
	default:
		st = fileops.WithErrorInfo(status.New(metrics.CodeOfHTTP(code), http.StatusText(code)), "")
	}
	if rs, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		rs.code, rs.hasCode = st.Code(), true
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: code, Err: validMessage(st).Err()})
}

// validMessage returns st with its message made valid UTF-8. Messages
// quote what clients sent (a path, a header), which may hold any bytes,
// and protojson refuses to encode a string that is not UTF-8: grpc-gateway
// then answers 500 "failed to marshal error message" instead of the
// client's error.
func validMessage(st *status.Status) *status.Status {
	if utf8.ValidString(st.Message()) {
		return st
	}
	p := st.Proto()
	p.Message = strings.ToValidUTF8(p.Message, "\uFFFD")
	return status.FromProto(p)
}

// withReason adds an ErrorInfo of reason to st.
func withReason(st *status.Status, reason string) *status.Status {
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: fileops.ErrorDomain}); err == nil {
		return d
	}
	return st
}

// reasonOf is the ErrorInfo reason of st ("" without one).
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// etagHeader is a forward-response option of the JSON routes: a response
// carrying a FileInfo (GetFileInfo) sets the ETag header to its etag, the
// validator If-Match takes.
func etagHeader(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	if f, ok := m.(interface{ GetFile() *fastdfsv1.FileInfo }); ok {
		if etag := f.GetFile().GetEtag(); etag != "" {
			w.Header().Set("ETag", etag)
		}
	}
	return nil
}
