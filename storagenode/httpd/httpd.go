package httpd

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
)

// proxiedHeader marks a request forwarded by a peer's proxy mode, so that a
// file missing on both sides answers 404 instead of bouncing between peers.
const proxiedHeader = "X-Fdfs-Proxied"

// Config is what the handler needs from storage.conf, http.conf and the
// running storage server.
type Config struct {
	Group            string
	StorePaths       []string
	SubdirCount      int
	URLHaveGroupName bool

	CheckToken         bool
	TokenTTL           time.Duration
	Secret             string
	TokenCheckFailFile string // served with 200 on a failed check when set

	ResponseMode       string // "proxy" (default) or "redirect"
	DefaultContentType string
	MimeTypesFile      string
	MultiRange         bool

	// SyncFileMaxDelay returns the tracker's storage_sync_file_max_delay: a
	// file older than this that is not here will never arrive, so it is a
	// 404. Nil means never.
	SyncFileMaxDelay func() time.Duration
	// IsLocal reports whether a file's source storage is this server.
	IsLocal func(src fileid.Source) bool
	// SourceAddr returns the host:port of the source storage's HTTP server.
	SourceAddr func(n *fileid.Name) (string, bool)

	Log *slog.Logger
	Now func() time.Time // for tests; time.Now when nil
}

// Handler serves the files of one storage server.
type Handler struct {
	cfg   Config
	mimes map[string]string
	proxy *httputil.ReverseProxy
}

// New returns a handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Group == "" || len(cfg.StorePaths) == 0 {
		return nil, errors.New("httpd: group and store paths are required")
	}
	if cfg.CheckToken && cfg.Secret == "" {
		return nil, errors.New("httpd: anti-steal token check needs a secret key")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultContentType == "" {
		cfg.DefaultContentType = "application/octet-stream"
	}
	if cfg.SubdirCount <= 0 {
		cfg.SubdirCount = 256
	}
	m, err := loadMimeTypes(cfg.MimeTypesFile)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, mimes: m}
	h.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.Header.Set(proxiedHeader, "1")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Log.Warn("http proxy to source storage failed", "url", r.URL.String(), "err", err)
			http.Error(w, "source storage unreachable", http.StatusBadGateway)
		},
	}
	return h, nil
}

// logicalName extracts "Mxx/HH/LL/name" from a request path, checking the
// group when the URL carries one.
func (h *Handler) logicalName(p string) (string, int) {
	p = strings.TrimPrefix(p, "/")
	if h.cfg.URLHaveGroupName || !strings.HasPrefix(p, "M") {
		group, rest, ok := strings.Cut(p, "/")
		if !ok {
			return "", http.StatusBadRequest
		}
		if group != h.cfg.Group {
			return "", http.StatusNotFound
		}
		p = rest
	}
	return p, 0
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	logical, code := h.logicalName(r.URL.Path)
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	if strings.HasSuffix(logical, "-m") {
		// Metadata side files are not content: never serve them.
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	name, err := fileid.Parse(logical)
	if err == nil {
		err = name.Check(len(h.cfg.StorePaths), h.cfg.SubdirCount)
	}
	if err != nil {
		http.Error(w, "bad file id", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	if h.cfg.CheckToken && r.Header.Get(proxiedHeader) == "" {
		if err := httptoken.Check(logical, h.cfg.Secret, q.Get("token"), q.Get("ts"), h.cfg.TokenTTL, h.cfg.Now()); err != nil {
			h.tokenFailed(w, r, logical, err)
			return
		}
	}
	path := name.Path(h.cfg.StorePaths)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			h.notHere(w, r, name)
			return
		}
		h.cfg.Log.Error("http open", "path", path, "err", err)
		http.Error(w, "cannot open file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	modified := st.ModTime()
	if !name.Appender && !name.Slave {
		// Upstream reports a normal file's creation time from its name.
		modified = time.Unix(name.Timestamp, 0)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", h.contentType(name.Ext))
	hdr.Set("ETag", fmt.Sprintf(`"%x-%x"`, st.ModTime().Unix(), st.Size()))
	hdr.Set("Accept-Ranges", "bytes")
	if fn := q.Get("filename"); fn != "" {
		hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fn}))
	}
	if !h.cfg.MultiRange && strings.Contains(r.Header.Get("Range"), ",") {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", modified, f)
}

func (h *Handler) contentType(ext string) string {
	if t, ok := h.mimes[strings.ToLower(ext)]; ok {
		return t
	}
	return h.cfg.DefaultContentType
}

func (h *Handler) tokenFailed(w http.ResponseWriter, r *http.Request, logical string, err error) {
	h.cfg.Log.Info("anti-steal token check failed", "file", logical, "remote", r.RemoteAddr, "err", err)
	if h.cfg.TokenCheckFailFile != "" {
		if f, ferr := os.Open(h.cfg.TokenCheckFailFile); ferr == nil {
			defer f.Close()
			if st, serr := f.Stat(); serr == nil {
				http.ServeContent(w, r, h.cfg.TokenCheckFailFile, st.ModTime(), f)
				return
			}
		}
	}
	http.Error(w, "anti-steal token check failed: "+err.Error(), http.StatusForbidden)
}

// notHere answers for a valid name whose file is not on this server: 404
// when it never will be, else proxy or redirect to its source storage.
func (h *Handler) notHere(w http.ResponseWriter, r *http.Request, name *fileid.Name) {
	age := h.cfg.Now().Sub(time.Unix(name.Timestamp, 0))
	local := h.cfg.IsLocal != nil && h.cfg.IsLocal(name.Source)
	if local || r.Header.Get(proxiedHeader) != "" || (h.cfg.SyncFileMaxDelay != nil && age > h.cfg.SyncFileMaxDelay()) || h.cfg.SourceAddr == nil {
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	addr, ok := h.cfg.SourceAddr(name)
	if !ok {
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	target := &url.URL{Scheme: "http", Host: addr, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if h.cfg.ResponseMode == "redirect" {
		if r.URL.Query().Has("redirect") {
			http.Error(w, "file not synced here and already redirected", http.StatusBadRequest)
			return
		}
		q := r.URL.Query()
		q.Set("redirect", "1")
		target.RawQuery = q.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
		return
	}
	r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
	r.Host = addr
	h.proxy.ServeHTTP(w, r)
}
