package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/httpfast"
	"github.com/fdfsgo/fdfs/server/auth"
	"github.com/fdfsgo/fdfs/server/console"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/server/metrics"
	"github.com/fdfsgo/fdfs/server/rest"
)

// maxJSONBody bounds the body of a JSON route (bytes); only the raw routes
// take content.
const maxJSONBody = 1 << 20

// newHTTPHandler builds the HTTP side: public /metrics, /openapi.json,
// /openapi3.json and /healthz, and everything else on the grpc-gateway mux, where
// routeMiddleware checks API keys, all wrapped in request IDs, access logs
// and metrics.
func (g *Gateway) newHTTPHandler(spec, spec3 []byte) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMiddlewares(g.routeMiddleware),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler),
		runtime.WithForwardResponseOption(etagHeader),
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			return metadata.Pairs(requestIDHeader, RequestID(ctx))
		}),
	)
	g.mux = mux
	if err := g.registerJSONRoutes(mux); err != nil {
		return nil, err
	}
	var err error
	if g.rest, err = rest.Register(mux, rest.Options{
		Client:        g.cl,
		MaxUploadSize: int64(g.cfg.Limits.MaxUploadSize),
		IOTimeout:     g.cfg.Limits.IOTimeout,
		SpoolDir:      g.cfg.SpoolDir,
		Log:           g.log,
		Idempotency:   g.idem,
		Sessions:      g.sessions,
	}); err != nil {
		return nil, err
	}
	doc, err := openAPIDocument(spec)
	if err != nil {
		return nil, err
	}
	root := http.NewServeMux()
	root.Handle("GET /metrics", named("/metrics", g.metrics.Handler()))
	root.Handle("GET /openapi.json", named("/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})))
	if spec3 != nil {
		root.Handle("GET /openapi3.json", named("/openapi3.json", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(spec3)
		})))
	}
	root.Handle("GET /healthz", named("/healthz", http.HandlerFunc(g.healthz)))
	if g.cfg.Console {
		root.Handle("GET "+console.Prefix, named(console.Prefix, g.statusErrors(console.Handler())))
		root.Handle("GET /console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	}
	root.Handle("/", mux)
	return g.observe(g.cors(apiAsSent(root, mux))), nil
}

// apiAsSent hands the API's paths (/v1/...) to mux as they were sent and
// everything else to root. http.ServeMux answers a path with "." or ".."
// segments or "//" with a redirect to its cleaned form, which names
// another file ID (group1/M00/00/00/x/../<name> is <name>): a client
// following the 307 would delete or overwrite that file. No file ID has
// such segments, so the API's checks refuse them with INVALID_ARGUMENT.
// A target that is no path ("*" with another method than OPTIONS, a
// CONNECT's authority) goes to mux too, which refuses it with its JSON
// status where http.ServeMux would answer a bare 400 or a plain-text 404.
func apiAsSent(root, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") || !strings.HasPrefix(r.URL.Path, "/") {
			mux.ServeHTTP(w, r)
			return
		}
		root.ServeHTTP(w, r)
	})
}

// statusErrors turns the error answers of h, a handler outside the API
// mux (the console's http.FileServer: 404 for a missing file, 416 for a
// bad Range, 412 for a failed If-Match, in plain text), into the JSON
// google.rpc.Status every other route answers, written by routingError.
func (g *Gateway) statusErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&errorStatusWriter{ResponseWriter: w, fail: func(code int) {
			_, m := runtime.MarshalerForRequest(g.mux, r)
			routingError(r.Context(), g.mux, m, w, r, code)
		}}, r)
	})
}

// errorStatusWriter hands a status of 400 or more to fail, which writes the
// whole answer, and drops the body the handler then writes.
type errorStatusWriter struct {
	http.ResponseWriter
	fail   func(code int)
	failed bool
}

func (e *errorStatusWriter) WriteHeader(code int) {
	switch {
	case e.failed:
	case code < 400:
		e.ResponseWriter.WriteHeader(code)
	default:
		e.failed = true
		e.fail(code)
	}
}

func (e *errorStatusWriter) Write(p []byte) (int, error) {
	if e.failed {
		return len(p), nil
	}
	return e.ResponseWriter.Write(p)
}

func (e *errorStatusWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// named records route as the route of the requests h serves (metrics,
// access log).
func named(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
			st.route = route
		}
		h.ServeHTTP(w, r)
	})
}

// rawRoutes are the patterns of the routes that stream content; the others
// get a bounded body and the unary timeout.
var rawRoutes = map[string]bool{
	rest.UploadPattern: true, rest.DownloadPattern: true, rest.AppendPattern: true,
	rest.TusCreatePattern: true, rest.TusUploadPattern: true,
}

// tusRoutes are the tus routes: OPTIONS (discovery of what the server
// supports) needs no key, every other method a read-write key, HEAD
// included, as gRPC's upload session methods do.
var tusRoutes = map[string]bool{rest.TusCreatePattern: true, rest.TusUploadPattern: true}

// readPOSTRoutes are POST routes that only read, so a read-only key may
// call them as it may call their gRPC methods (auth.MethodAccess). Every
// other POST, PUT, PATCH or DELETE needs a read-write key.
var readPOSTRoutes = map[string]bool{"/v1/files/{file_id=**}:createDownloadUrl": true}

// routeMiddleware runs inside the mux once a route matched: it checks the
// API key for the route, records the route for the metrics and bounds the
// JSON routes.
func (g *Gateway) routeMiddleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		route := ""
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			route = p.String()
		}
		st, _ := r.Context().Value(stateKey{}).(*requestState)
		if st != nil {
			st.route = route
		}
		access := auth.HTTPAccess(r)
		if readPOSTRoutes[route] && r.Method == http.MethodPost {
			access = auth.Read
		}
		if tusRoutes[route] {
			access = auth.Write
			if r.Method == http.MethodOptions {
				access = auth.Public
			}
		}
		r, ok := g.auth.Authorize(w, r, access)
		if !ok {
			return
		}
		if p, ok := auth.FromContext(r.Context()); ok && st != nil {
			st.key = p.Name
		}
		if !rawRoutes[route] {
			if err := checkUTF8(r, params); err != nil {
				_, m := runtime.MarshalerForRequest(g.mux, r)
				runtime.HTTPError(r.Context(), g.mux, m, w, r, grpcapi.ToStatus(err, ""))
				return
			}
			forwardIfMatch(r)
			r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
			defer g.bodyDeadline(w, r)()
			if d := g.cfg.Limits.RequestTimeout; d > 0 {
				ctx, cancel := context.WithTimeout(r.Context(), d)
				defer cancel()
				r = r.WithContext(ctx)
			}
			// JSON answers are compressed for clients that take gzip;
			// the raw routes' bytes are not (ranges, sendfile).
			if acceptsGzip(r) {
				gw := newGzipWriter(w)
				defer gw.Close()
				w = gw
			}
		}
		next(w, r, params)
	}
}

// checkUTF8 refuses URL parameters that are not UTF-8 (EINVAL, so 400):
// the JSON routes copy them into protobuf string fields, which cannot hold
// them, and the call to the inner server would fail with INTERNAL. The raw
// routes check their file IDs themselves.
func checkUTF8(r *http.Request, params map[string]string) error {
	for k, v := range params {
		if !utf8.ValidString(v) {
			return fmt.Errorf("path parameter %s is not valid UTF-8: %w", k, protocol.ErrInvalid)
		}
	}
	for k, vs := range r.URL.Query() {
		if !utf8.ValidString(k) || slices.ContainsFunc(vs, func(v string) bool { return !utf8.ValidString(v) }) {
			return fmt.Errorf("query parameter %q is not valid UTF-8: %w", k, protocol.ErrInvalid)
		}
	}
	return nil
}

// bodyDeadline bounds the reading of r's body (a JSON route's) by
// limits.io_timeout, as the raw routes bound each of their reads:
// request_timeout does not interrupt a read, so a client that announced a
// body and stopped sending it held the handler and its connection until
// it went away. The deadline is lifted once the body is read or fails,
// and by the returned func when the handler is done: net/http reads the
// connection in the background once a body is done, and a deadline
// expiring there would cancel a long call as if its client had gone.
func (g *Gateway) bodyDeadline(w http.ResponseWriter, r *http.Request) (lift func()) {
	d := g.cfg.Limits.IOTimeout
	rc := http.NewResponseController(w)
	if d <= 0 || r.Body == nil || r.Body == http.NoBody || rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return func() {}
	}
	lift = sync.OnceFunc(func() { rc.SetReadDeadline(time.Time{}) })
	r.Body = &deadlineBody{ReadCloser: r.Body, lift: lift, timeout: d}
	return lift
}

// deadlineBody is a body read under a deadline (bodyDeadline).
type deadlineBody struct {
	io.ReadCloser
	lift    func()
	timeout time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.lift()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Not net's "read tcp <addresses>: i/o timeout".
		err = fmt.Errorf("the request body stalled for limits.io_timeout (%v)", b.timeout)
	}
	return n, err
}

// forwardIfMatch makes every If-Match value of r reach the service, which
// reads it from the metadata grpc-gateway makes of the headers:
// grpc-gateway drops a value that is not valid gRPC metadata (a byte
// outside printable ASCII), which turned a conditional delete or metadata
// write into an unconditional one. Such a value goes quoted instead (Go
// escapes): no etag holds those bytes, so it fails as any If-Match that
// matches nothing does (412).
func forwardIfMatch(r *http.Request) {
	vs := r.Header["If-Match"]
	for i, v := range vs {
		if strings.IndexFunc(v, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0 {
			vs[i] = strconv.QuoteToASCII(v)
		}
	}
}

// healthz answers 200 while a tracker answers the gateway's probes
// (health_interval), 503 when none does and once the gateway shuts down.
func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	resp, err := g.health.Check(r.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		http.Error(w, "NOT_SERVING", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "SERVING\n")
}

type stateKey struct{}

// requestState is what the outer middleware learns from the inner ones.
type requestState struct {
	route string // the matched route pattern, "" if none
	key   string // the API key's name, "" if none was checked
	// code is the gRPC code of the google.rpc.Status answered, when
	// hasCode (otherwise it is derived from the HTTP status).
	code    codes.Code
	hasCode bool
}

// observe gives every request an ID (X-Request-Id, the client's if sane),
// and records it in the metrics and the access log.
func (g *Gateway) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		done := g.metrics.StartHTTP()
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		st := &requestState{}
		ctx := context.WithValue(withRequestID(r.Context(), id), stateKey{}, st)
		body := &countingReader{r: r.Body}
		r.Body = body
		rec := &recorder{ResponseWriter: w}
		defer func() {
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			if p := recover(); p != nil {
				// ErrAbortHandler: a transfer broke after its headers;
				// status 0 marks it in the log and the metrics.
				code = 0
				defer panic(p)
			}
			rc := metrics.CodeOfHTTP(code)
			if st.hasCode {
				rc = st.code
			}
			done(r.Method, st.route, rc, body.n, rec.n)
			if *g.cfg.AccessLog {
				g.log.Info("access", "proto", "http", "method", r.Method, "path", r.URL.Path,
					"route", st.route, "status", code, "request_id", id, "remote", r.RemoteAddr,
					"bytes_in", body.n, "bytes_out", rec.n, "duration", time.Since(start),
					"key", st.key)
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
		g.boundBodyDiscard(w, body)
	})
}

// boundBodyDiscard bounds what net/http does once a handler returned
// without reading the whole request body (a refusal before the content,
// a route that takes none): it reads and discards the rest before it
// closes the connection or reads the next request, with no deadline of
// its own, so a client that stopped sending held the connection and its
// goroutine until it went away. io_timeout bounds that read as it bounds
// every read of a body. When the body was read, net/http clears this
// deadline itself: it ends its background read of the connection, and
// reading the next request sets deadlines of its own.
func (g *Gateway) boundBodyDiscard(w http.ResponseWriter, body *countingReader) {
	d := g.cfg.Limits.IOTimeout
	switch {
	case body.failed:
		// The handler's read of the body failed (its own io_timeout, a
		// broken connection): the connection cannot serve another
		// request, so nothing is worth waiting for. A new deadline here
		// would have held it open for one more io_timeout.
		http.NewResponseController(w).SetReadDeadline(time.Now())
	case d > 0:
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
}

// answerFast answers on the fast path (internal/httpfast) the small
// downloads rest.MatchFast accepts, giving them what observe and
// routeMiddleware give a request through net/http: authentication,
// request ID, metrics and access log. A request whose key is refused goes
// to net/http, which writes the refusal.
func (g *Gateway) answerFast(ctx context.Context, c net.Conn, r *httpfast.Request) (keep, ok bool) {
	d, ok := rest.MatchFast(r)
	if !ok || g.cfg.CORS.Enabled() && r.Has("Origin") {
		return false, false
	}
	p, err := g.auth.Check(fastKey(g.auth, r), auth.Read)
	if err != nil {
		return false, false
	}
	start := time.Now()
	done := g.metrics.StartHTTP()
	id := r.Header(requestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	keep = g.rest.ServeFast(ctx, c, r, d, id, func(code int, n int64) {
		done(r.Method, rest.DownloadPattern, metrics.CodeOfHTTP(code), 0, n)
		if *g.cfg.AccessLog {
			g.log.Info("access", "proto", "http", "method", r.Method, "path", r.Path,
				"route", rest.DownloadPattern, "status", code, "request_id", id, "remote", c.RemoteAddr().String(),
				"bytes_in", int64(0), "bytes_out", n, "duration", time.Since(start),
				"key", p.Name)
		}
	})
	return keep, true
}

// fastKey is the API key r presents, as auth.FromHeader reads it.
func fastKey(a *auth.Authenticator, r *httpfast.Request) string {
	if !a.Enabled() {
		return ""
	}
	h := make(http.Header, 2)
	for _, k := range []string{"Authorization", "X-Api-Key"} {
		if r.Has(k) {
			h.Set(k, r.Header(k))
		}
	}
	return auth.FromHeader(h)
}

// recorder captures a response's status and body size. It keeps the
// ResponseWriter's ReadFrom (zero-copy downloads) and, through Unwrap,
// its deadlines and flushing for http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := httpfast.ReadFrom(r.ResponseWriter, src)
	r.n += n
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// countingReader counts the bytes of a request body.
type countingReader struct {
	r      io.ReadCloser
	n      int64
	failed bool // a read returned an error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.failed = true
	}
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// newRequestID returns 16 random hex digits.
func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a client's request ID of 1..128 characters of
// [A-Za-z0-9._:-]; anything else is replaced, so logs stay clean.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
