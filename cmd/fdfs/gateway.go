package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/internal/grpcslog"
	"github.com/fdfsgo/fdfs/openapi"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/gateway"
)

func init() {
	var confPath string
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the fastdfs.v1 gRPC and REST API in front of a FastDFS cluster",
		Long: `Serve the fastdfs.v1 API: gRPC (with health checks and server reflection)
on grpc_listen, and on http_listen the REST mapping of the JSON methods, raw
upload/download/append routes, /openapi.json, /metrics and /healthz.

gateway.yaml names the trackers (or an upstream client.conf), the listen
addresses, optional TLS, the API keys (mode ro or rw) and the limits:

  trackers: ["10.0.0.2:22122"]
  grpc_listen: 0.0.0.0:9090
  http_listen: 0.0.0.0:8080
  api_keys:
    - {name: uploader, key_env: FDFS_UPLOADER_KEY, mode: rw}
    - {name: viewer, key: "a-long-random-read-only-key", mode: ro}
  limits: {max_upload_size: 10GB, io_timeout: 60s, shutdown_timeout: 5m}

server/config/gateway.example.yaml documents every key.

SIGINT or SIGTERM stops it gracefully: transfers in flight may finish
within limits.shutdown_timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if confPath == "" {
				return fmt.Errorf("--config gateway.yaml is required")
			}
			cfg, err := config.Load(confPath)
			if err != nil {
				return err
			}
			log, flushLog := batchedLogger(os.Stderr, func(w io.Writer) slog.Handler {
				return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slogLevel(cfg.LogLevel)})
			})
			defer flushLog()
			grpcslog.Install(log)
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runGateway(ctx, gateway.Options{Config: cfg, Log: log, OpenAPI: openAPISpec(), OpenAPI3: openAPI3Spec()}, func(g *gateway.Gateway) {
				log.Info("gateway serving", "grpc", g.GRPCAddr(), "rest", g.HTTPURL(), "trackers", cfg.Trackers, "client_conf", cfg.ClientConf)
			})
		},
	}
	cmd.Flags().StringVarP(&confPath, "config", "c", "", "gateway.yaml")
	rootCmd.AddCommand(cmd)
}

// runGateway serves until ctx ends, then shuts down gracefully within
// limits.shutdown_timeout. started is called once both listeners are bound.
func runGateway(ctx context.Context, opt gateway.Options, started func(*gateway.Gateway)) error {
	g, err := gateway.New(opt)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.Serve()
	started(g)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), opt.Config.Limits.ShutdownTimeout)
	defer cancel()
	opt.Log.Info("gateway stopping; waiting for requests in flight", "timeout", opt.Config.Limits.ShutdownTimeout)
	return g.Shutdown(sctx)
}

// openAPISpec is the generated OpenAPI document of the JSON routes
// (openapi/fastdfs.swagger.json); the gateway adds the raw routes and the
// API key schemes to it.
func openAPISpec() []byte { return openapi.JSON }

// openAPI3Spec is the OpenAPI 3.0 document of the whole REST API
// (openapi/fastdfs.openapi3.json), served as is.
func openAPI3Spec() []byte { return openapi.JSON3 }
