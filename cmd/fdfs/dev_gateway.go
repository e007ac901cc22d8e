package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/gateway"
)

// devGateway is the API gateway of `fdfs dev`: gRPC and REST in front of
// the dev cluster, with authentication off.
type devGateway struct {
	enabled    bool
	grpcListen string
	httpListen string
	gw         *gateway.Gateway
}

func addDevGatewayFlags(cmd *cobra.Command) *devGateway {
	d := &devGateway{}
	cmd.Flags().BoolVar(&d.enabled, "gateway", true, "also run the gRPC/REST API gateway (authentication off)")
	cmd.Flags().StringVar(&d.grpcListen, "grpc-listen", "", "gateway gRPC address (default <base-ip>:9090)")
	cmd.Flags().StringVar(&d.httpListen, "http-listen", "", "gateway REST address (default <base-ip>:8080)")
	return d
}

// start runs the gateway in front of c.
func (d *devGateway) start(c *devcluster.Cluster, log *slog.Logger) error {
	if !d.enabled {
		return nil
	}
	// On the tracker's loopback address by default, so that dev clusters
	// on different --base-ip addresses do not collide.
	if d.grpcListen == "" {
		d.grpcListen = net.JoinHostPort(c.Tracker.IP, "9090")
	}
	if d.httpListen == "" {
		d.httpListen = net.JoinHostPort(c.Tracker.IP, "8080")
	}
	secret, err := devUploadSecret(filepath.Join(c.Dir, "gateway-upload.secret"))
	if err != nil {
		return fmt.Errorf("dev gateway: %w", err)
	}
	cfg := &config.Config{
		Trackers:     []string{c.Tracker.Addr()},
		GRPCListen:   d.grpcListen,
		HTTPListen:   d.httpListen,
		AuthDisabled: true,
		// Upload sessions survive a restart of `fdfs dev` on the same
		// data directory.
		Uploads: config.Uploads{Secret: secret, SessionDir: filepath.Join(c.Dir, "gateway-sessions")},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("dev gateway: %w", err)
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Log: log.With("node", "gateway"), OpenAPI: openAPISpec(), OpenAPI3: openAPI3Spec()})
	if err != nil {
		return fmt.Errorf("dev gateway: %w", err)
	}
	gw.Serve()
	d.gw = gw
	return nil
}

// devUploadSecret returns the upload session secret kept in path, made
// on the first run.
func devUploadSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= config.MinKeyLength {
		return string(b), nil
	}
	var b [24]byte
	rand.Read(b[:])
	secret := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		return "", err
	}
	return secret, nil
}

func (d *devGateway) printBanner(w io.Writer) {
	if d.gw == nil {
		return
	}
	base := d.gw.HTTPURL()
	fmt.Fprintf(w, "\nAPI gateway (no authentication in dev):\n\n")
	fmt.Fprintf(w, "  gRPC      %s   (grpcurl -plaintext %s list)\n", d.gw.GRPCAddr(), d.gw.GRPCAddr())
	fmt.Fprintf(w, "  REST      %s   (OpenAPI: %s/openapi.json and %s/openapi3.json, metrics: %s/metrics)\n", base, base, base, base)
	fmt.Fprintf(w, "\n  curl --data-binary @README.md '%s/v1/files?ext=md'\n", base)
	fmt.Fprintf(w, "  curl -O -J '%s/v1/files/<file-id>:download'\n", base)
	fmt.Fprintf(w, "  curl '%s/v1/files/<file-id>'\n", base)
	fmt.Fprintf(w, "  fdfs upload-resumable --grpc %s big.iso   (tus clients: %s/v1/uploads)\n", d.gw.GRPCAddr(), base)
}

// stop shuts the gateway down, letting transfers in flight finish for a
// few seconds.
func (d *devGateway) stop() error {
	if d.gw == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.gw.Shutdown(ctx)
}
