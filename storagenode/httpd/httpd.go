package httpd

import (
	"errors"
	"fmt"
	"io"
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
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/httpfast"
	"github.com/fdfsgo/fdfs/internal/regfile"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// proxiedHeader marks a request forwarded by a peer's proxy mode, so that a
// file missing on both sides answers 404 instead of bouncing between peers.
// Anyone can send it, so it only ever stops proxying: it never exempts a
// request from the anti-steal token check.
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
	// Lost reports whether err, from opening file n, says this server's
	// disk cannot give it (its directory gone, an I/O error), and the
	// host:port of the other storages' HTTP servers to ask, in order
	// (none: 503). Nil means never.
	Lost func(n *fileid.Name, err error) (peers []string, lost bool)
	// LostAsked is told the result of each peer asked for a lost file:
	// "ok" (its answer sent, or the client sent to it), "refused" (an
	// error status) or "failed" (unreachable). Nil means not counted.
	LostAsked func(result string)

	// WriteTimeout bounds the sending of one response (network_timeout).
	WriteTimeout time.Duration

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
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
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
		// Out is In with notHere's scheme and host: the client's query,
		// token and ts included, goes to the source, whose own token check
		// then passes for a legitimate request.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.Header.Set(proxiedHeader, "1")
		},
		ModifyResponse: h.peerAnswered,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if h.peerFailed(w, r, err) {
				return
			}
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

// request is what resolve makes of a request's path and query.
type request struct {
	logical  string       // "Mxx/HH/LL/name"
	name     *fileid.Name // nil when code != 0
	code     int          // HTTP status of a request refused before any file access
	tokenErr error        // anti-steal check failure
}

// resolve checks the path, the file ID and the anti-steal token. Every path
// goes through fileid.Parse and Check, so it cannot leave the store paths.
func (h *Handler) resolve(urlPath string, q url.Values) request {
	logical, code := h.logicalName(urlPath)
	if code != 0 {
		return request{code: code}
	}
	if strings.HasSuffix(logical, "-m") {
		// Metadata side files are not content: never serve them.
		return request{code: http.StatusNotFound}
	}
	name, err := fileid.Parse(logical)
	if err == nil {
		err = name.Check(len(h.cfg.StorePaths), h.cfg.SubdirCount)
	}
	if err != nil {
		return request{code: http.StatusBadRequest}
	}
	r := request{logical: logical, name: name}
	if h.cfg.CheckToken {
		r.tokenErr = httptoken.Check(logical, h.cfg.Secret, q.Get("token"), q.Get("ts"), h.cfg.TokenTTL, h.cfg.Now())
	}
	return r
}

// entity describes a local file about to be sent.
type entity struct {
	f           *regfile.File // OS() for sendfile and ServeContent
	base        int64         // offset of the content in f (trunk slots), bytes
	size        int64
	modified    time.Time
	etag        string
	ctype       string
	disposition string // "" when no filename= was asked for
}

// open opens the file of a resolved request; fs.ErrNotExist when it is not
// on this server.
func (h *Handler) open(r request, q url.Values) (*entity, error) {
	var e *entity
	if r.name.Trunk {
		s, err := trunk.OpenFollow(h.cfg.StorePaths, h.cfg.SubdirCount, r.name)
		if err != nil {
			if errors.Is(err, protocol.ErrNotFound) || errors.Is(err, protocol.ErrInvalid) {
				// A free, reused or corrupt slot, or an ID outside its
				// trunk file: nothing of it is served from here.
				h.cfg.Log.Info("http trunk slot refused", "file", r.logical, "err", err)
				err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
			}
			return nil, err
		}
		e = &entity{f: s.File, base: s.Base, size: s.Size, modified: s.Mtime, ctype: h.contentType(r.name.Ext)}
	} else {
		f, err := regfile.OpenFile(r.name.Path(h.cfg.StorePaths))
		if err != nil {
			return nil, err
		}
		e = &entity{f: f, size: f.Size(), modified: f.ModTime(), ctype: h.contentType(r.name.Ext)}
	}
	if !r.name.Appender && !r.name.Slave {
		// Upstream reports a normal file's creation time from its name.
		e.modified = time.Unix(r.name.Timestamp, 0)
	}
	e.etag = fmt.Sprintf(`"%x-%x"`, e.modified.Unix(), e.size)
	if fn := q.Get("filename"); fn != "" {
		e.disposition = mime.FormatMediaType("attachment", map[string]string{"filename": fn})
	}
	return e, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	req := h.resolve(r.URL.Path, q)
	if req.code != 0 {
		msg := http.StatusText(req.code)
		if req.code == http.StatusBadRequest {
			msg = "bad file id"
		}
		http.Error(w, msg, req.code)
		return
	}
	if req.tokenErr != nil {
		h.tokenFailed(w, r, req.logical, req.tokenErr)
		return
	}
	e, err := h.open(req, q)
	if err != nil {
		if peers, lost := h.lost(r, req.name, err); lost {
			h.forwardLost(w, r, peers)
			return
		}
		if errors.Is(err, fs.ErrNotExist) {
			h.notHere(w, r, req.name)
			return
		}
		h.cfg.Log.Error("http open", "file", req.logical, "err", err)
		http.Error(w, "cannot open file", http.StatusInternalServerError)
		return
	}
	defer e.f.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", e.ctype)
	hdr.Set("ETag", e.etag)
	hdr.Set("Accept-Ranges", "bytes")
	if e.disposition != "" {
		hdr.Set("Content-Disposition", e.disposition)
	}
	h.limitRanges(r, e.size)
	f := e.f.OS()
	defer f.Close()
	http.ServeContent(w, r, "", e.modified, io.NewSectionReader(f, e.base, e.size))
}

// ranges applies http.multi_range.enabled and httpfast.MaxRanges to a
// Range header for a file of size bytes. Nil ranges and a nil error mean
// the whole file: no Range, several ranges with multi_range disabled (as
// upstream), or more than MaxRanges (as nginx's max_ranges).
func (h *Handler) ranges(spec string, size int64) ([]httpfast.Range, error) {
	if spec == "" || !h.cfg.MultiRange && strings.Contains(spec, ",") {
		return nil, nil
	}
	rs, err := httpfast.ParseRanges(spec, size)
	if errors.Is(err, httpfast.ErrTooManyRanges) {
		return nil, nil
	}
	return rs, err
}

// limitRanges rewrites r's Range header into what http.ServeContent is to
// answer: none for the whole file, else the coalesced ranges. A header
// that does not parse stays for ServeContent to refuse (416).
func (h *Handler) limitRanges(r *http.Request, size int64) {
	rs, err := h.ranges(r.Header.Get("Range"), size)
	switch {
	case err != nil:
		// Left as sent: ServeContent refuses it with a 416.
	case rs == nil:
		r.Header.Del("Range")
	default:
		r.Header.Set("Range", httpfast.FormatRanges(rs))
	}
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
				h.limitRanges(r, st.Size())
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
	h.forward(w, r, addr)
}

// forward proxies the request to, or redirects the client to, the storage
// HTTP server at addr (http.response_mode).
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, addr string) {
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
