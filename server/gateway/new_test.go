package gateway

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/server/config"
)

// A gateway that cannot start returns why, with what it had built
// closed, instead of panicking.
func TestNewFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		want string
	}{
		{"HTTP port in use", func(c *config.Config) { c.HTTPListen = busy.Addr().String() }, busy.Addr().String()},
		{"gRPC port in use", func(c *config.Config) { c.GRPCListen = busy.Addr().String() }, busy.Addr().String()},
		{"no certificate", func(c *config.Config) {
			c.TLS = config.TLS{CertFile: filepath.Join(dir, "none.pem"), KeyFile: filepath.Join(dir, "none.key")}
		}, "none.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Trackers: []string{"127.0.0.2:22122"}, GRPCListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0"}
			tc.mod(cfg)
			cfg.SetDefaults()
			g, err := New(Options{Config: cfg})
			if err == nil || g != nil {
				g.Close()
				t.Fatalf("New: %v, %v; want an error", g, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}
