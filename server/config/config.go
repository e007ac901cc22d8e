package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
)

// Defaults applied by Parse to fields the file leaves unset.
const (
	DefaultGRPCListen           = "127.0.0.1:9090"
	DefaultHTTPListen           = "127.0.0.1:8080"
	DefaultMaxUploadSize        = 64 << 30 // bytes
	DefaultMaxConcurrentStreams = 256      // per connection
	DefaultMaxConnections       = 10000    // REST listener
	DefaultRequestTimeout       = time.Minute
	DefaultIOTimeout            = time.Minute
	DefaultHeaderTimeout        = 10 * time.Second
	DefaultIdleTimeout          = 2 * time.Minute
	DefaultShutdownTimeout      = 5 * time.Minute
	DefaultMaxIdlePerHost       = 64
	DefaultHealthInterval       = 2 * time.Second
	DefaultReadRouteTTL         = 5 * time.Second
)

// Mode is what an API key may do.
type Mode string

// The two modes of an API key.
const (
	ReadOnly  Mode = "ro" // downloads, file info, metadata, listings
	ReadWrite Mode = "rw" // everything
)

// Config is a parsed gateway.yaml.
type Config struct {
	// Trackers are "host:port" tracker addresses. Either Trackers or
	// ClientConf must be set; Trackers wins for the addresses when both are.
	Trackers []string `yaml:"trackers"`
	// ClientConf is an upstream client.conf (tracker_server, timeouts),
	// relative to the directory of gateway.yaml.
	ClientConf string `yaml:"client_conf"`
	// ConnectTimeout and NetworkTimeout are the FastDFS client's timeouts
	// (per TCP connect; per I/O step of a request or a 4 MiB chunk). Unset,
	// they come from client.conf, else from the client's defaults (30 s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	NetworkTimeout time.Duration `yaml:"network_timeout"`
	// MaxIdlePerHost is how many idle connections to each tracker and
	// storage the gateway keeps for reuse. Concurrent requests beyond it
	// dial and close connections, which costs more than the request.
	MaxIdlePerHost int `yaml:"max_idle_per_host"`
	// ReadRouteTTL is how long the gateway remembers which storages serve
	// reads of a file (the tracker's QUERY_FETCH_ALL answer), so a
	// download, file info or metadata read costs one storage round trip
	// instead of a tracker query plus that. Reads rotate over the listed
	// storages; a file that changes through the gateway, or a listed
	// storage that fails, is looked up again. 0 asks the tracker on every
	// read, as upstream clients do (default 5s).
	ReadRouteTTL *time.Duration `yaml:"read_route_ttl"`

	// GRPCListen and HTTPListen are the "host:port" the gRPC server and the
	// REST server listen on (port 0 = ephemeral).
	GRPCListen string `yaml:"grpc_listen"`
	HTTPListen string `yaml:"http_listen"`

	TLS TLS `yaml:"tls"`

	// APIKeys may call the gateway; at least one is required, except for
	// the gateway of `fdfs dev`, which sets AuthDisabled.
	APIKeys []APIKey `yaml:"api_keys"`
	// AuthDisabled lets every request in. It cannot be set from the file.
	AuthDisabled bool `yaml:"-"`

	Limits Limits `yaml:"limits"`

	// AccessLog logs one line per request (default true).
	AccessLog *bool `yaml:"access_log"`
	// LogLevel is debug, info, warn or error (default info).
	LogLevel string `yaml:"log_level"`
	// HealthInterval is how often the gateway checks that a tracker
	// answers; the gRPC health of the fastdfs.v1 services is NOT_SERVING
	// while none does (default 2s).
	HealthInterval time.Duration `yaml:"health_interval"`
	// SpoolDir holds multipart uploads whose size is not known in advance
	// until they are complete (default: the system temp directory).
	SpoolDir string `yaml:"spool_dir"`
	// Console serves the web console under /console/ on the REST port
	// (default false). Its pages are public; what they show comes from
	// the REST API with the API key the user types.
	Console bool `yaml:"console"`

	// CORS lets browser applications of other origins call the REST API
	// (off unless allowed_origins is set).
	CORS CORS `yaml:"cors"`
	// DownloadURLs configure the URLs of CreateDownloadUrl.
	DownloadURLs DownloadURLs `yaml:"download_urls"`
	// Uploads configure resumable uploads (gRPC upload sessions, tus).
	Uploads Uploads `yaml:"uploads"`
}

// Uploads configure resumable uploads. A session is an appender file named
// by a token the gateway signs with Secret: gateways sharing the secret
// serve each other's sessions, and no gateway keeps session state.
type Uploads struct {
	// Secret signs session tokens (at least MinKeyLength characters), or
	// SecretEnv the environment variable holding it. Unset, each gateway
	// process draws a random one: its sessions do not survive a restart
	// and other gateways refuse them.
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
	// SessionTTL is how long a session may stay unfinished before its
	// file is deleted (default 24h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// SessionDir keeps one small record per session this gateway created,
	// which its sweep (every SweepInterval) goes through to delete the
	// files of expired sessions (relative to gateway.yaml). Empty: no
	// sweep; an expired session's file is then deleted only when a
	// request names it.
	SessionDir    string        `yaml:"session_dir"`
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// SegmentSize is the most bytes of one tus PATCH written to the
	// storage in one request (default 4MB): an interrupted PATCH keeps
	// the segments written before the interruption.
	SegmentSize Size `yaml:"segment_size"`
}

// Defaults of Uploads.
const (
	DefaultSessionTTL    = 24 * time.Hour
	DefaultSweepInterval = time.Minute
	DefaultSegmentSize   = 4 << 20
)

// CORS is the cross-origin policy of the REST port.
type CORS struct {
	// AllowedOrigins are the origins ("https://app.example.com") that may
	// call the API from a browser; "*" allows any. Empty disables CORS.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedMethods and AllowedHeaders answer preflight requests
	// (defaults DefaultCORSMethods, DefaultCORSHeaders).
	AllowedMethods []string `yaml:"allowed_methods"`
	AllowedHeaders []string `yaml:"allowed_headers"`
	// ExposedHeaders are the response headers scripts may read (default
	// DefaultCORSExposedHeaders).
	ExposedHeaders []string `yaml:"exposed_headers"`
	// MaxAge is how long browsers may cache a preflight answer (default
	// 10m).
	MaxAge time.Duration `yaml:"max_age"`
}

// Enabled reports whether CORS is configured.
func (c CORS) Enabled() bool { return len(c.AllowedOrigins) > 0 }

// Defaults of CORS.
var (
	DefaultCORSMethods = []string{"GET", "HEAD", "POST", "PATCH", "DELETE"}
	DefaultCORSHeaders = []string{"Authorization", "X-API-Key", "Content-Type", "Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "X-Request-Id",
		"X-Checksum-Crc32", "X-Checksum-Crc32c", "X-Checksum-Sha256",
		"Tus-Resumable", "Upload-Length", "Upload-Defer-Length", "Upload-Offset", "Upload-Metadata", "Upload-Checksum", "X-HTTP-Method-Override"}
	DefaultCORSExposedHeaders = []string{"ETag", "Last-Modified", "Content-Range", "Content-Disposition", "Content-Length", "Accept-Ranges", "Location", "X-Request-Id", "X-Checksum-Crc32",
		"Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm", "Upload-Offset", "Upload-Length", "Upload-Defer-Length", "Upload-Metadata", "Upload-Expires", "Fdfs-File-Id"}
)

// DefaultCORSMaxAge is how long browsers cache a preflight by default.
const DefaultCORSMaxAge = 10 * time.Minute

// DownloadURLs configure CreateDownloadUrl: the URLs point at the storages'
// HTTP servers (fastdfs-nginx-module or the storage's own), signed with
// the anti-steal token those check when secret_key is set.
type DownloadURLs struct {
	// BaseURL is the scheme and host of the URLs clients get, e.g.
	// "https://files.example.com" (a CDN or proxy in front of the
	// storages); empty means "http://<storage ip>:<storage_http_port>" of
	// a storage the tracker picks for reading the file.
	BaseURL string `yaml:"base_url"`
	// StorageHTTPPort is the storages' HTTP port (storage.conf
	// http.server_port; default 8888).
	StorageHTTPPort int `yaml:"storage_http_port"`
	// WithoutGroup leaves the group out of the URL path
	// (url_have_group_name = false in mod_fastdfs.conf).
	WithoutGroup bool `yaml:"without_group"`
	// SecretKey is http.anti_steal.secret_key of the storages (or
	// SecretKeyEnv the environment variable holding it); empty creates
	// URLs without a token.
	SecretKey    string `yaml:"secret_key"`
	SecretKeyEnv string `yaml:"secret_key_env"`
	// TokenTTL is http.anti_steal.token_ttl of the storages; it only sets
	// the expire_time of the reply (default 900s when a secret is set).
	TokenTTL time.Duration `yaml:"token_ttl"`
}

// DefaultTokenTTL is http.anti_steal.token_ttl's upstream default.
const DefaultTokenTTL = 900 * time.Second

// TLS enables TLS on both listeners when CertFile and KeyFile are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// APIKey is one credential. Clients send it as "Authorization: Bearer
// <key>" or "X-API-Key: <key>" (gRPC: the same names as metadata).
type APIKey struct {
	Name string `yaml:"name"` // shown in logs and metrics, never the key
	// Key is the secret itself; KeyEnv names an environment variable
	// holding it instead, so the file need not contain secrets.
	Key    string `yaml:"key"`
	KeyEnv string `yaml:"key_env"`
	Mode   Mode   `yaml:"mode"` // ro or rw (default ro)
}

// Limits bound what one client can make the gateway do.
type Limits struct {
	// MaxUploadSize is the largest upload or append (bytes; "10GB").
	MaxUploadSize Size `yaml:"max_upload_size"`
	// MaxConcurrentStreams bounds the concurrent gRPC streams and HTTP/2
	// streams of one connection.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
	// MaxConnections bounds the open connections of the REST listener:
	// one beyond it is accepted and closed at once, as the tracker and
	// storage do beyond max_connections. gRPC connections are bounded by
	// HeaderTimeout and IdleTimeout only.
	MaxConnections uint32 `yaml:"max_connections"`
	// RequestTimeout bounds unary calls (everything except transfers).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// IOTimeout bounds each read or write step of a REST transfer, the
	// reading of a JSON route's body and the wait for each message of a
	// gRPC client stream, so a stalled client is dropped while a long
	// healthy transfer is not.
	IOTimeout time.Duration `yaml:"io_timeout"`
	// HeaderTimeout bounds reading a request's headers, the wait for a
	// new connection's first request, and the TLS handshake and HTTP/2
	// preface and SETTINGS of a new gRPC connection; IdleTimeout closes
	// connections idle between requests (gRPC: without a stream).
	HeaderTimeout time.Duration `yaml:"header_timeout"`
	IdleTimeout   time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long a graceful shutdown waits for requests
	// and transfers in flight before closing them.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Size is a byte count written as in upstream .conf files ("256KB", "1GB",
// "123").
type Size int64

// UnmarshalYAML accepts a number or a string with a unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a size must be a scalar", n.Line)
	}
	v, err := conf.ParseBytes(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative size %s", n.Line, n.Value)
	}
	*s = Size(v)
	return nil
}

// maxFileSize bounds gateway.yaml (bytes); a bigger file is a mistake.
const maxFileSize = 1 << 20

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileSize)
	}
	c, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses and validates gateway.yaml content; relative paths in it
// are resolved against dir.
func Parse(data []byte, dir string) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for _, p := range []*string{&c.ClientConf, &c.TLS.CertFile, &c.TLS.KeyFile, &c.SpoolDir, &c.Uploads.SessionDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.APIKeys {
		k := &c.APIKeys[i]
		if k.KeyEnv != "" {
			if k.Key != "" {
				return nil, fmt.Errorf("api key %q: set key or key_env, not both", k.Name)
			}
			k.Key = os.Getenv(k.KeyEnv)
			if k.Key == "" {
				return nil, fmt.Errorf("api key %q: environment variable %s is empty", k.Name, k.KeyEnv)
			}
		}
	}
	if d := &c.DownloadURLs; d.SecretKeyEnv != "" {
		if d.SecretKey != "" {
			return nil, errors.New("download_urls: set secret_key or secret_key_env, not both")
		}
		if d.SecretKey = os.Getenv(d.SecretKeyEnv); d.SecretKey == "" {
			return nil, fmt.Errorf("download_urls: environment variable %s is empty", d.SecretKeyEnv)
		}
	}
	if u := &c.Uploads; u.SecretEnv != "" {
		if u.Secret != "" {
			return nil, errors.New("uploads: set secret or secret_env, not both")
		}
		if u.Secret = os.Getenv(u.SecretEnv); u.Secret == "" {
			return nil, fmt.Errorf("uploads: environment variable %s is empty", u.SecretEnv)
		}
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// SetDefaults fills unset fields with the defaults.
func (c *Config) SetDefaults() {
	setDefault(&c.GRPCListen, DefaultGRPCListen)
	setDefault(&c.HTTPListen, DefaultHTTPListen)
	setDefault(&c.LogLevel, "info")
	setDefault(&c.MaxIdlePerHost, DefaultMaxIdlePerHost)
	setDefault(&c.HealthInterval, DefaultHealthInterval)
	if c.ReadRouteTTL == nil {
		ttl := DefaultReadRouteTTL
		c.ReadRouteTTL = &ttl
	}
	if c.AccessLog == nil {
		on := true
		c.AccessLog = &on
	}
	for i := range c.APIKeys {
		setDefault(&c.APIKeys[i].Mode, ReadOnly)
	}
	l := &c.Limits
	setDefault(&l.MaxUploadSize, DefaultMaxUploadSize)
	setDefault(&l.MaxConcurrentStreams, DefaultMaxConcurrentStreams)
	setDefault(&l.MaxConnections, DefaultMaxConnections)
	setDefault(&l.RequestTimeout, DefaultRequestTimeout)
	setDefault(&l.IOTimeout, DefaultIOTimeout)
	setDefault(&l.HeaderTimeout, DefaultHeaderTimeout)
	setDefault(&l.IdleTimeout, DefaultIdleTimeout)
	setDefault(&l.ShutdownTimeout, DefaultShutdownTimeout)
	if c.CORS.Enabled() {
		if len(c.CORS.AllowedMethods) == 0 {
			c.CORS.AllowedMethods = DefaultCORSMethods
		}
		if len(c.CORS.AllowedHeaders) == 0 {
			c.CORS.AllowedHeaders = DefaultCORSHeaders
		}
		if len(c.CORS.ExposedHeaders) == 0 {
			c.CORS.ExposedHeaders = DefaultCORSExposedHeaders
		}
		setDefault(&c.CORS.MaxAge, DefaultCORSMaxAge)
	}
	setDefault(&c.DownloadURLs.StorageHTTPPort, 8888)
	setDefault(&c.Uploads.SessionTTL, DefaultSessionTTL)
	setDefault(&c.Uploads.SweepInterval, DefaultSweepInterval)
	setDefault(&c.Uploads.SegmentSize, DefaultSegmentSize)
	if c.DownloadURLs.SecretKey != "" {
		setDefault(&c.DownloadURLs.TokenTTL, DefaultTokenTTL)
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	for _, check := range []func() error{
		c.validateCluster, c.validateListeners, c.validateAPIKeys,
		c.validateLogLevel, c.validateClientTuning, c.validateCORS,
		c.validateDownloadURLs, c.validateUploadSecret, c.validateDurations,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateCluster checks that the cluster is given (trackers or
// client_conf) and that the tracker addresses parse.
func (c *Config) validateCluster() error {
	if len(c.Trackers) == 0 && c.ClientConf == "" {
		return errors.New("no cluster: set trackers or client_conf")
	}
	for _, t := range c.Trackers {
		if _, err := client.ParseTrackerAddr(t); err != nil {
			return fmt.Errorf("trackers: %w", err)
		}
	}
	return nil
}

// validateListeners checks the gRPC and REST listen addresses, and that
// TLS has both its files or neither.
func (c *Config) validateListeners() error {
	for _, l := range []struct{ name, addr string }{{"grpc_listen", c.GRPCListen}, {"http_listen", c.HTTPListen}} {
		if err := checkListen(l.addr); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
	}
	if c.GRPCListen == c.HTTPListen && !hasPortZero(c.GRPCListen) {
		return fmt.Errorf("grpc_listen and http_listen are both %s: use two ports", c.GRPCListen)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: set both cert_file and key_file")
	}
	return nil
}

// validateAPIKeys checks that there is a key unless authentication is
// off, and that every key is named, unique, long enough and of a known
// mode.
func (c *Config) validateAPIKeys() error {
	if len(c.APIKeys) == 0 && !c.AuthDisabled {
		return errors.New("api_keys: at least one key is required")
	}
	names := make(map[string]bool)
	keys := make(map[string]bool)
	for _, k := range c.APIKeys {
		switch {
		case k.Name == "":
			return errors.New("api_keys: every key needs a name")
		case names[k.Name]:
			return fmt.Errorf("api key %q: duplicate name", k.Name)
		case len(k.Key) < MinKeyLength:
			return fmt.Errorf("api key %q: the key must have at least %d characters", k.Name, MinKeyLength)
		case keys[k.Key]:
			return fmt.Errorf("api key %q: the same key is listed twice", k.Name)
		case k.Mode != ReadOnly && k.Mode != ReadWrite:
			return fmt.Errorf("api key %q: mode %q, want ro or rw", k.Name, k.Mode)
		}
		names[k.Name], keys[k.Key] = true, true
	}
	return nil
}

// validateLogLevel checks log_level.
func (c *Config) validateLogLevel() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
		return nil
	default:
		return fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
}

// validateClientTuning checks what the gateway keeps of the cluster
// between requests: read routes and idle connections.
func (c *Config) validateClientTuning() error {
	if c.ReadRouteTTL != nil && *c.ReadRouteTTL < 0 {
		return fmt.Errorf("read_route_ttl: negative %s", *c.ReadRouteTTL)
	}
	if c.MaxIdlePerHost < 0 {
		return fmt.Errorf("max_idle_per_host: negative %d", c.MaxIdlePerHost)
	}
	return nil
}

// validateCORS checks the allowed origins and the preflight cache time.
func (c *Config) validateCORS() error {
	for _, o := range c.CORS.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return fmt.Errorf("cors.allowed_origins: %q is not an origin (scheme://host[:port]) or *", o)
		}
	}
	if c.CORS.MaxAge < 0 {
		return fmt.Errorf("cors.max_age: negative duration %v", c.CORS.MaxAge)
	}
	return nil
}

// validateDownloadURLs checks download_urls.
func (c *Config) validateDownloadURLs() error {
	if d := c.DownloadURLs; d.BaseURL != "" {
		u, err := url.Parse(d.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("download_urls.base_url: %q is not an http(s) URL", d.BaseURL)
		}
	}
	if p := c.DownloadURLs.StorageHTTPPort; p < 0 || p > 65535 {
		return fmt.Errorf("download_urls.storage_http_port: bad port %d", p)
	}
	if c.DownloadURLs.TokenTTL < 0 {
		return fmt.Errorf("download_urls.token_ttl: negative duration %v", c.DownloadURLs.TokenTTL)
	}
	return nil
}

// validateUploadSecret checks that a set uploads.secret is long enough.
func (c *Config) validateUploadSecret() error {
	if s := c.Uploads.Secret; s != "" && len(s) < MinKeyLength {
		return fmt.Errorf("uploads.secret: at least %d characters", MinKeyLength)
	}
	return nil
}

// validateDurations checks that no timeout or interval is negative.
func (c *Config) validateDurations() error {
	l := c.Limits
	// A list, not a map: the same configuration always gets the same error.
	for _, k := range []struct {
		name string
		d    time.Duration
	}{
		{"connect_timeout", c.ConnectTimeout}, {"network_timeout", c.NetworkTimeout}, {"health_interval", c.HealthInterval},
		{"uploads.session_ttl", c.Uploads.SessionTTL}, {"uploads.sweep_interval", c.Uploads.SweepInterval},
		{"limits.request_timeout", l.RequestTimeout}, {"limits.io_timeout", l.IOTimeout},
		{"limits.header_timeout", l.HeaderTimeout}, {"limits.idle_timeout", l.IdleTimeout},
		{"limits.shutdown_timeout", l.ShutdownTimeout},
	} {
		if k.d < 0 {
			return fmt.Errorf("%s: negative duration %v", k.name, k.d)
		}
	}
	return nil
}

// MinKeyLength is the shortest accepted API key (characters); shorter
// ones are too easy to guess.
const MinKeyLength = 16

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

func hasPortZero(addr string) bool {
	_, port, _ := net.SplitHostPort(addr)
	return port == "0"
}

// ClientConfig is the FastDFS client configuration: client.conf when set,
// with Trackers and the timeouts of gateway.yaml taking precedence.
func (c *Config) ClientConfig() (client.Config, error) {
	var cc client.Config
	if c.ClientConf != "" {
		f, err := conf.LoadClient(c.ClientConf)
		if err != nil {
			return cc, err
		}
		cc = client.ConfigFromConf(f)
	}
	if len(c.Trackers) > 0 {
		cc.Trackers = c.Trackers
	}
	if len(cc.Trackers) == 0 {
		return cc, fmt.Errorf("%s: no tracker_server", c.ClientConf)
	}
	if c.ConnectTimeout > 0 {
		cc.ConnectTimeout = c.ConnectTimeout
	}
	if c.NetworkTimeout > 0 {
		cc.NetworkTimeout = c.NetworkTimeout
	}
	cc.MaxIdlePerHost = c.MaxIdlePerHost
	if c.ReadRouteTTL != nil {
		cc.ReadRouteTTL = *c.ReadRouteTTL
	}
	return cc, nil
}
