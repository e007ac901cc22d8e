package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodKey = "0123456789abcdef0123"

func TestParse(t *testing.T) {
	t.Setenv("FDFS_TEST_GW_KEY", "env-secret-0123456789")
	c, err := Parse([]byte(`
trackers: ["127.0.0.2:22122", "127.0.0.3"]
grpc_listen: 0.0.0.0:9443
http_listen: 0.0.0.0:8443
network_timeout: 45s
tls: {cert_file: certs/gw.pem, key_file: /etc/gw.key}
api_keys:
  - {name: ci, key: `+goodKey+`, mode: rw}
  - {name: viewer, key_env: FDFS_TEST_GW_KEY}
limits:
  max_upload_size: 2GB
  io_timeout: 90s
  max_concurrent_streams: 10
access_log: false
`), "/srv/gw")
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != "/srv/gw/certs/gw.pem" || c.TLS.KeyFile != "/etc/gw.key" || !c.TLS.Enabled() {
		t.Errorf("tls = %+v", c.TLS)
	}
	if c.APIKeys[0].Mode != ReadWrite || c.APIKeys[1].Mode != ReadOnly || c.APIKeys[1].Key != "env-secret-0123456789" {
		t.Errorf("keys = %+v", c.APIKeys)
	}
	l := c.Limits
	if l.MaxUploadSize != 2<<30 || l.IOTimeout != 90*time.Second || l.MaxConcurrentStreams != 10 {
		t.Errorf("limits = %+v", l)
	}
	if l.RequestTimeout != DefaultRequestTimeout || l.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("defaults not applied: %+v", l)
	}
	if *c.AccessLog || c.LogLevel != "info" {
		t.Errorf("access_log %v, log_level %q", *c.AccessLog, c.LogLevel)
	}
	cc, err := c.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Trackers) != 2 || cc.NetworkTimeout != 45*time.Second || cc.ConnectTimeout != 0 {
		t.Errorf("client config = %+v", cc)
	}
	if cc.ReadRouteTTL != DefaultReadRouteTTL {
		t.Errorf("read route TTL %v, want the default %v", cc.ReadRouteTTL, DefaultReadRouteTTL)
	}
}

func TestReadRouteTTL(t *testing.T) {
	key := "trackers: [a:1]\napi_keys: [{name: a, key: " + goodKey + "}]\n"
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{
		{"", DefaultReadRouteTTL},
		{"read_route_ttl: 30s\n", 30 * time.Second},
		{"read_route_ttl: 0s\n", 0}, // off: the tracker is asked on every read
	} {
		c, err := Parse([]byte(key+tc.yaml), "/")
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		cc, err := c.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cc.ReadRouteTTL != tc.want {
			t.Errorf("%q: read route TTL %v, want %v", tc.yaml, cc.ReadRouteTTL, tc.want)
		}
	}
}

func TestClientConf(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "client.conf"), []byte("tracker_server = 127.0.0.9:22122\nnetwork_timeout = 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte("client_conf: client.conf\napi_keys: [{name: a, key: "+goodKey+"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.GRPCListen != DefaultGRPCListen || c.HTTPListen != DefaultHTTPListen {
		t.Errorf("listen defaults: %s %s", c.GRPCListen, c.HTTPListen)
	}
	cc, err := c.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Trackers) != 1 || cc.Trackers[0] != "127.0.0.9:22122" || cc.NetworkTimeout != 7*time.Second {
		t.Errorf("client config = %+v", cc)
	}
}

func TestParseErrors(t *testing.T) {
	key := "api_keys: [{name: a, key: " + goodKey + "}]\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"no cluster", key, "no cluster"},
		{"no keys", "trackers: [a:1]\n", "at least one key"},
		{"unknown field", "trackers: [a:1]\n" + key + "tracker: b\n", "not found"},
		{"short key", "trackers: [a:1]\napi_keys: [{name: a, key: short}]\n", "at least 16"},
		{"bad mode", "trackers: [a:1]\napi_keys: [{name: a, key: " + goodKey + ", mode: admin}]\n", "mode"},
		{"duplicate name", "trackers: [a:1]\napi_keys: [{name: a, key: " + goodKey + "}, {name: a, key: " + goodKey + "x}]\n", "duplicate"},
		{"duplicate key", "trackers: [a:1]\napi_keys: [{name: a, key: " + goodKey + "}, {name: b, key: " + goodKey + "}]\n", "twice"},
		{"same port", "trackers: [a:1]\n" + key + "grpc_listen: :9000\nhttp_listen: :9000\n", "two ports"},
		{"bad listen", "trackers: [a:1]\n" + key + "grpc_listen: 9000\n", "grpc_listen"},
		{"half tls", "trackers: [a:1]\n" + key + "tls: {cert_file: a.pem}\n", "tls"},
		{"bad size", "trackers: [a:1]\n" + key + "limits: {max_upload_size: lots}\n", "line"},
		{"bad duration", "trackers: [a:1]\n" + key + "limits: {io_timeout: soon}\n", "time.Duration"},
		{"negative duration", "trackers: [a:1]\n" + key + "limits: {io_timeout: -1s}\n", "negative"},
		{"negative read route TTL", "trackers: [a:1]\n" + key + "read_route_ttl: -5s\n", "read_route_ttl"},
		{"bad level", "trackers: [a:1]\n" + key + "log_level: loud\n", "log_level"},
		{"empty env", "trackers: [a:1]\napi_keys: [{name: a, key_env: FDFS_TEST_GW_UNSET}]\n", "empty"},
		{"bad tracker", "trackers: [\"a:b:c\"]\n" + key, "trackers"},
		{"bad origin", "trackers: [a:1]\n" + key + "cors: {allowed_origins: [app.example]}\n", "cors.allowed_origins"},
		{"origin with path", "trackers: [a:1]\n" + key + "cors: {allowed_origins: [\"https://app.example/x\"]}\n", "cors.allowed_origins"},
		{"bad base url", "trackers: [a:1]\n" + key + "download_urls: {base_url: files.example}\n", "base_url"},
		{"bad http port", "trackers: [a:1]\n" + key + "download_urls: {storage_http_port: 70000}\n", "storage_http_port"},
		{"secret twice", "trackers: [a:1]\n" + key + "download_urls: {secret_key: a, secret_key_env: HOME}\n", "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "/")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCORSAndDownloadURLs(t *testing.T) {
	key := "api_keys: [{name: a, key: " + goodKey + "}]\n"
	c, err := Parse([]byte("trackers: [a:1]\n"+key+"cors: {allowed_origins: [\"https://app.example\", \"*\"]}\ndownload_urls: {secret_key: s3cret}\n"), "/")
	if err != nil {
		t.Fatal(err)
	}
	if !c.CORS.Enabled() || len(c.CORS.AllowedMethods) == 0 || len(c.CORS.AllowedHeaders) == 0 || c.CORS.MaxAge != DefaultCORSMaxAge {
		t.Errorf("cors %+v", c.CORS)
	}
	if d := c.DownloadURLs; d.StorageHTTPPort != 8888 || d.TokenTTL != DefaultTokenTTL || d.SecretKey != "s3cret" {
		t.Errorf("download_urls %+v", d)
	}
	c, err = Parse([]byte("trackers: [a:1]\n"+key), "/")
	if err != nil {
		t.Fatal(err)
	}
	if c.CORS.Enabled() || c.DownloadURLs.TokenTTL != 0 || c.HealthInterval != 2*time.Second {
		t.Errorf("defaults: cors %+v, download_urls %+v, health_interval %v", c.CORS, c.DownloadURLs, c.HealthInterval)
	}
}

func TestAuthDisabled(t *testing.T) {
	c := &Config{Trackers: []string{"127.0.0.2:22122"}, AuthDisabled: true}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestExample keeps gateway.example.yaml valid.
func TestExample(t *testing.T) {
	t.Setenv("FDFS_UPLOADER_KEY", "uploader-secret-0123456789")
	c, err := Load("gateway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APIKeys) != 2 || c.Limits.MaxUploadSize != 10<<30 || c.Limits.IdleTimeout != 2*time.Minute {
		t.Errorf("example parsed as %+v", c)
	}
}

func TestUploads(t *testing.T) {
	const key = "api_keys: [{name: a, key: 0123456789abcdef0123}]\n"
	t.Setenv("FDFS_TEST_UPLOAD_SECRET", "a-secret-from-the-environment")
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{"defaults", "", ""},
		{"secret from env", "uploads: {secret_env: FDFS_TEST_UPLOAD_SECRET}\n", ""},
		{"short secret", "uploads: {secret: short}\n", "uploads.secret"},
		{"both", "uploads: {secret: a-long-enough-secret-0123, secret_env: FDFS_TEST_UPLOAD_SECRET}\n", "not both"},
		{"empty env", "uploads: {secret_env: FDFS_TEST_NO_SUCH_VARIABLE}\n", "is empty"},
		{"negative ttl", "uploads: {session_ttl: -1s}\n", "uploads.session_ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("trackers: [a:1]\n"+key+tc.yaml), "/etc/fdfs")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Uploads.SessionTTL != DefaultSessionTTL || c.Uploads.SegmentSize != DefaultSegmentSize {
				t.Fatalf("defaults: %+v", c.Uploads)
			}
		})
	}
}
