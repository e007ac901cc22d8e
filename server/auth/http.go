package auth

import (
	"errors"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// FromHeader returns the key a request presents: the bearer token of
// Authorization, else X-API-Key.
func FromHeader(h http.Header) string {
	if k := parseAuthorization(h.Get("Authorization")); k != "" {
		return k
	}
	return h.Get("X-API-Key")
}

// HTTPAccess is the access an HTTP request needs by its method: reads
// (GET, HEAD, OPTIONS) need Read, everything else Write.
func HTTPAccess(r *http.Request) Access {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return Read
	}
	return Write
}

// Middleware authenticates every request before next sees it, needing
// the access HTTPAccess gives its method; the principal is in the
// request's context (FromContext).
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, ok := a.Authorize(w, r, HTTPAccess(r)); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// Authorize checks the key r presents for access. It returns r with the
// principal in its context, or writes the refusal (a JSON body shaped like
// the gateway's other errors, google.rpc.Status) and returns false.
func (a *Authenticator) Authorize(w http.ResponseWriter, r *http.Request, access Access) (*http.Request, bool) {
	p, err := a.Check(FromHeader(r.Header), access)
	if err != nil {
		WriteHTTPError(w, err)
		return r, false
	}
	return r.WithContext(NewContext(r.Context(), p)), true
}

// WriteHTTPError writes the refusal of a Check error: 401 with a
// WWW-Authenticate challenge, or 403; the body is the JSON of Status(err),
// as the gateway's other errors.
func WriteHTTPError(w http.ResponseWriter, err error) {
	st := Status(err)
	code := http.StatusUnauthorized
	if st.Code() == codes.PermissionDenied {
		code = http.StatusForbidden
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fdfs"`)
	}
	b, merr := protojson.Marshal(st.Proto())
	if merr != nil {
		b = []byte(`{"code":16,"message":"unauthenticated"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// ErrorDomain is the google.rpc.ErrorInfo domain of the refusals, that of
// every error of the API.
const ErrorDomain = "fastdfs.v1"

// Reasons of the refusals' google.rpc.ErrorInfo.
const (
	ReasonKeyMissing  = "API_KEY_MISSING"   // UNAUTHENTICATED: no key
	ReasonKeyInvalid  = "API_KEY_INVALID"   // UNAUTHENTICATED: unknown key
	ReasonKeyReadOnly = "API_KEY_READ_ONLY" // PERMISSION_DENIED: a read-only key for a write
)

// Status is the gRPC status of a Check error: UNAUTHENTICATED or
// PERMISSION_DENIED with a google.rpc.ErrorInfo (domain ErrorDomain).
func Status(err error) *status.Status {
	code, reason := codes.Unauthenticated, ReasonKeyInvalid
	switch {
	case errors.Is(err, ErrReadOnly):
		code, reason = codes.PermissionDenied, ReasonKeyReadOnly
	case errors.Is(err, ErrNoKey):
		reason = ReasonKeyMissing
	}
	st := status.New(code, err.Error())
	if d, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}); derr == nil {
		st = d
	}
	return st
}
