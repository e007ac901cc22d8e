package auth

import (
	"encoding/json"
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"
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
// WWW-Authenticate challenge, or 403.
func WriteHTTPError(w http.ResponseWriter, err error) {
	code, status := codes.Unauthenticated, http.StatusUnauthorized
	if errors.Is(err, ErrReadOnly) {
		code, status = codes.PermissionDenied, http.StatusForbidden
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fdfs"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Code    codes.Code `json:"code"`
		Message string     `json:"message"`
		Details []any      `json:"details"`
	}{code, err.Error(), []any{}})
}
