package gateway

import (
	"compress/gzip"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// ReasonCORSOrigin is the ErrorInfo reason of a preflight request from an
// origin cors.allowed_origins does not list.
const ReasonCORSOrigin = "CORS_ORIGIN_NOT_ALLOWED"

// cors applies the CORS policy of gateway.yaml (nothing when it is off):
// requests from allowed origins get Access-Control-Allow-Origin (and
// Vary: Origin) and the exposed headers; preflight requests (OPTIONS with
// Access-Control-Request-Method) are answered here, before any API key is
// checked, as browsers send none with them: 204 with the allowed methods,
// headers and max age, or 403 for an origin or method not allowed.
func (g *Gateway) cors(next http.Handler) http.Handler {
	c := g.cfg.CORS
	if !c.Enabled() {
		return next
	}
	any := slices.Contains(c.AllowedOrigins, "*")
	methods := strings.Join(c.AllowedMethods, ", ")
	headers := strings.Join(c.AllowedHeaders, ", ")
	exposed := strings.Join(c.ExposedHeaders, ", ")
	maxAge := strconv.Itoa(int(c.MaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := any || slices.Contains(c.AllowedOrigins, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
				st.route = "*"
			}
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			m := r.Header.Get("Access-Control-Request-Method")
			if !allowed || !slices.Contains(c.AllowedMethods, m) && m != http.MethodOptions {
				writeStatus(w, http.StatusForbidden, status.New(codes.PermissionDenied, "CORS: origin "+origin+" may not send "+m+" requests"), ReasonCORSOrigin)
				return
			}
			h.Set("Access-Control-Allow-Origin", allowOrigin(any, origin))
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", headers)
			h.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", allowOrigin(any, origin))
			h.Set("Access-Control-Expose-Headers", exposed)
		}
		next.ServeHTTP(w, r)
	})
}

func allowOrigin(any bool, origin string) string {
	if any {
		return "*"
	}
	return origin
}

// writeStatus writes st (with an ErrorInfo of reason) as the JSON
// google.rpc.Status body of an HTTP answer of code.
func writeStatus(w http.ResponseWriter, code int, st *status.Status, reason string) {
	st = validMessage(withReason(st, reason))
	b, err := protojson.Marshal(st.Proto())
	if err != nil {
		b = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// acceptsGzip reports whether r accepts a gzip-encoded answer.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, e := range strings.Split(v, ",") {
			name, q, _ := strings.Cut(strings.TrimSpace(e), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// gzipWriter compresses a JSON answer (Content-Encoding: gzip). Answers
// without a body (204, 304, HEAD) are left alone.
type gzipWriter struct {
	http.ResponseWriter
	zw      *gzip.Writer
	started bool
	plain   bool
}

func newGzipWriter(w http.ResponseWriter) *gzipWriter {
	w.Header().Add("Vary", "Accept-Encoding")
	return &gzipWriter{ResponseWriter: w}
}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.started {
		g.started = true
		h := g.Header()
		if code == http.StatusNoContent || code == http.StatusNotModified || code < 200 || h.Get("Content-Encoding") != "" {
			g.plain = true
		} else {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			g.zw = gzipWriters.Get().(*gzip.Writer)
			g.zw.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.started {
		g.WriteHeader(http.StatusOK)
	}
	if g.plain {
		return g.ResponseWriter.Write(p)
	}
	return g.zw.Write(p)
}

func (g *gzipWriter) Flush() {
	if g.zw != nil {
		g.zw.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Close ends the gzip stream.
func (g *gzipWriter) Close() {
	if g.zw != nil {
		g.zw.Close()
		gzipWriters.Put(g.zw)
		g.zw = nil
	}
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
