package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/httpfast"
	"github.com/fdfsgo/fdfs/internal/memconn"
	"github.com/fdfsgo/fdfs/server/auth"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/server/metrics"
	"github.com/fdfsgo/fdfs/server/rest"
)

// maxRecvMsgSize bounds one gRPC message (bytes): a content chunk of at
// most grpcapi.MaxChunkSize plus room for the spec and framing.
const maxRecvMsgSize = grpcapi.MaxChunkSize + 64<<10

// grpcBufferSize is the gRPC server's per-connection read and write buffer
// (bytes).
const grpcBufferSize = 1 << 20

// Options configure a Gateway.
type Options struct {
	Config *config.Config
	// Client is the FastDFS client to use; nil builds one from Config
	// (and Close closes it).
	Client *client.Client
	// Log receives the server log and, when enabled, the access log; nil
	// discards.
	Log *slog.Logger
	// OpenAPI is the OpenAPI (Swagger 2.0) document of the JSON routes;
	// the raw routes are added to it and the result is served at
	// /openapi.json. nil serves only the raw routes.
	OpenAPI []byte
	// OpenAPI3 is the same API as an OpenAPI 3.0 document (converted from
	// the completed OpenAPI one at generation time), served as is at
	// /openapi3.json. nil serves none.
	OpenAPI3 []byte
	// GRPC holds the services' options beyond Client and Log; the
	// download URL fields left zero are taken from Config.DownloadURLs.
	GRPC grpcapi.Options
}

// Gateway is a running API server.
type Gateway struct {
	cfg        *config.Config
	log        *slog.Logger
	cl         *client.Client
	ownsClient bool
	auth       *auth.Authenticator
	metrics    *metrics.Metrics
	health     *health.Server

	grpcServer  *grpc.Server
	innerServer *grpc.Server // behind the JSON routes, no listener
	innerLis    *memconn.Listener
	innerConn   *grpc.ClientConn
	httpServer  *http.Server
	// fast answers small plaintext downloads before httpServer (which
	// gets every other request); nil with TLS.
	fast *httpfast.Server
	rest *rest.Handler // the raw routes, for fast
	idem *fileops.Idempotency
	// sessions are the resumable uploads of gRPC and tus.
	sessions *fileops.Sessions
	mux      *runtime.ServeMux // every route; routeMiddleware answers its refusals through it

	grpcLis, httpLis net.Listener
	tls              bool

	wg        sync.WaitGroup
	stopWatch context.CancelFunc // ends watchCluster
	clusterUp *bool              // the last probe's result (nil before the first), for logging changes
	stopOnce  sync.Once
	stopErr   error
}

// New builds the gateway and binds both listeners; Serve starts serving.
func New(opt Options) (g *Gateway, err error) {
	cfg := opt.Config
	if cfg == nil {
		return nil, errors.New("gateway: no config")
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g = &Gateway{cfg: cfg, log: log, cl: opt.Client, metrics: metrics.New(), health: health.NewServer()}
	// The returns below set g to nil: what was built is closed by its
	// own name.
	built := g
	defer func() {
		if err != nil {
			built.Close()
		}
	}()
	if g.cl == nil {
		if err := g.openClient(); err != nil {
			return nil, err
		}
	}
	if g.auth, err = newAuthenticator(cfg); err != nil {
		return nil, err
	}
	tlsConf, err := loadTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	g.tls = tlsConf != nil

	svc := g.buildGRPC(opt.GRPC, tlsConf)
	if err := g.startInner(svc); err != nil {
		return nil, err
	}
	handler, err := g.newHTTPHandler(opt.OpenAPI, opt.OpenAPI3)
	if err != nil {
		return nil, err
	}
	g.buildHTTP(handler, tlsConf)
	if err := g.listen(); err != nil {
		return nil, err
	}
	return g, nil
}

// openClient builds the gateway's own FastDFS client from its
// configuration; Close closes it.
func (g *Gateway) openClient() error {
	cc, err := g.cfg.ClientConfig()
	if err != nil {
		return err
	}
	if g.cl, err = client.New(cc); err != nil {
		return err
	}
	g.ownsClient = true
	return nil
}

// loadTLS returns the TLS configuration of both listeners, nil when t is
// not enabled.
func loadTLS(t config.TLS) (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// buildGRPC builds the gRPC server (TLS when tlsConf is not nil) with the
// services of opt, health, reflection and metrics. It returns the
// services' options, which the inner server shares.
func (g *Gateway) buildGRPC(opt grpcapi.Options, tlsConf *tls.Config) grpcapi.Options {
	svc := opt
	svc.Client, svc.Log = g.cl, g.log
	// One memory of upload idempotency keys for gRPC, the JSON routes
	// (through the inner server) and the raw routes.
	g.idem = fileops.NewIdempotency(0, 0)
	svc.Idempotency = g.idem
	g.sessions = newSessions(g.cfg, g.cl, g.log)
	svc.Sessions = g.sessions
	downloadURLs(&svc, g.cfg.DownloadURLs)
	g.grpcServer = g.newGRPCServer(tlsConf)
	grpcapi.Register(g.grpcServer, svc)
	healthpb.RegisterHealthServer(grpcapi.StrictServer{Server: g.grpcServer}, g.health)
	reflection.Register(grpcapi.StrictServer{Server: g.grpcServer})
	g.metrics.SetGRPCMethods(g.grpcServer)
	g.metrics.RegisterScrub(g.scrubSamples)
	return svc
}

// buildHTTP builds the REST server of handler (TLS when tlsConf is not
// nil) and, without TLS, the fast path in front of it.
func (g *Gateway) buildHTTP(handler http.Handler, tlsConf *tls.Config) {
	l := g.cfg.Limits
	g.httpServer = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.HeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConf,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: int(l.MaxConcurrentStreams)},
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	if !g.tls {
		g.fast = httpfast.New(g.answerFast, g.httpServer, l.IdleTimeout, l.HeaderTimeout)
	}
}

// listen binds the gRPC and the REST listeners.
func (g *Gateway) listen() (err error) {
	if g.grpcLis, err = net.Listen("tcp", g.cfg.GRPCListen); err != nil {
		return fmt.Errorf("grpc_listen: %w", err)
	}
	if g.httpLis, err = net.Listen("tcp", g.cfg.HTTPListen); err != nil {
		return fmt.Errorf("http_listen: %w", err)
	}
	// Not the gRPC listener: grpc-go reads a bare *net.TCPConn with
	// buffers taken from a pool only while data is ready; a counting
	// wrapper makes it allocate a read buffer of grpcBufferSize per
	// connection (2,400 flood connections: 2.6 GB of heap in use instead
	// of 60 MB, VmRSS 205 MB instead of 115 MB).
	g.httpLis = limitConns(g.httpLis, g.cfg.Limits.MaxConnections)
	return nil
}

// newSessions returns the upload sessions of uploads: in gateway.yaml.
func newSessions(cfg *config.Config, cl *client.Client, log *slog.Logger) *fileops.Sessions {
	u := cfg.Uploads
	if u.Secret == "" {
		log.Warn("uploads.secret is not set: upload sessions are signed with a random key and do not survive a restart of this gateway nor reach another one")
	}
	return fileops.NewSessions(fileops.New(cl, log), fileops.SessionConfig{
		Secret:      []byte(u.Secret),
		TTL:         u.SessionTTL,
		MaxSize:     int64(cfg.Limits.MaxUploadSize),
		SegmentSize: int64(u.SegmentSize),
		RecordDir:   u.SessionDir,
		SpoolDir:    cfg.SpoolDir,
	})
}

func newAuthenticator(cfg *config.Config) (*auth.Authenticator, error) {
	if cfg.AuthDisabled {
		return auth.Disabled(), nil
	}
	keys := make([]auth.Key, len(cfg.APIKeys))
	for i, k := range cfg.APIKeys {
		keys[i] = auth.Key{Name: k.Name, Secret: k.Key, Write: k.Mode == config.ReadWrite}
	}
	return auth.New(keys)
}

func (g *Gateway) newGRPCServer(tlsConf *tls.Config) *grpc.Server {
	l := g.cfg.Limits
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		// Content moves in 2 MiB messages of 16 KiB HTTP/2 frames: big
		// socket buffers turn a message into a few syscalls, not 64.
		grpc.WriteBufferSize(grpcBufferSize),
		grpc.ReadBufferSize(grpcBufferSize),
		// Fixed flow-control windows instead of grpc-go's 64 KiB that
		// grows with a bandwidth estimate: an upload streams without
		// waiting for window updates, and one connection never makes the
		// gateway hold more than 16 MiB of content it has not forwarded.
		grpc.InitialWindowSize(4 << 20),
		grpc.InitialConnWindowSize(16 << 20),
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.ForceServerCodecV2(grpcapi.Codec()),
		experimental.BufferPool(recvBufferPool),
		grpc.StatsHandler(g.metrics.StatsHandler()),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: l.IdleTimeout}),
		// The TLS handshake, the HTTP/2 preface and the client's SETTINGS
		// must arrive within header_timeout (grpc-go's default is 120 s:
		// a silent or trickling connection held a descriptor that long).
		grpc.ConnectionTimeout(l.HeaderTimeout),
		grpc.ChainUnaryInterceptor(g.logUnary, g.auth.UnaryInterceptor(), g.timeoutUnary),
		grpc.ChainStreamInterceptor(g.logStream, g.auth.StreamInterceptor(), g.limitStream),
	}
	if tlsConf != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConf)))
	}
	return grpc.NewServer(opts...)
}

// startInner runs the in-memory gRPC server the JSON routes call. It has
// no auth interceptor: the HTTP middleware authenticated the request.
func (g *Gateway) startInner(svc grpcapi.Options) error {
	g.innerServer = grpc.NewServer(
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.ChainUnaryInterceptor(g.timeoutUnary),
	)
	grpcapi.Register(g.innerServer, svc)
	healthpb.RegisterHealthServer(g.innerServer, g.health)
	// 1 MiB of in-memory socket buffer per direction.
	g.innerLis = memconn.Listen(1 << 20)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.innerServer.Serve(g.innerLis)
	}()
	conn, err := grpc.NewClient("passthrough:///fdfs-gateway-inner",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return g.innerLis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsgSize)),
	)
	if err != nil {
		return fmt.Errorf("gateway: inner connection: %w", err)
	}
	g.innerConn = conn
	return nil
}

// registerJSONRoutes adds the generated grpc-gateway routes to mux.
func (g *Gateway) registerJSONRoutes(mux *runtime.ServeMux) error {
	ctx := context.Background()
	if err := fastdfsv1.RegisterFileServiceHandler(ctx, mux, g.innerConn); err != nil {
		return err
	}
	return fastdfsv1.RegisterClusterServiceHandler(ctx, mux, g.innerConn)
}

// services are the health-checked services that need the cluster.
var services = []string{fastdfsv1.FileService_ServiceDesc.ServiceName, fastdfsv1.ClusterService_ServiceDesc.ServiceName}

// Serve serves both listeners in the background. The overall health ("",
// and /healthz) and that of the fastdfs.v1 services follow whether a
// tracker answers, checked once before Serve returns (at most
// healthTimeout per unreachable tracker) and then every health_interval;
// all are NOT_SERVING after shutdown.
func (g *Gateway) Serve() {
	ctx, cancel := context.WithCancel(context.Background())
	g.stopWatch = cancel
	g.checkCluster(ctx)
	g.wg.Add(4)
	go func() {
		defer g.wg.Done()
		g.watchCluster(ctx)
	}()
	go func() {
		defer g.wg.Done()
		g.sessions.Run(ctx, g.cfg.Uploads.SweepInterval)
	}()
	go func() {
		defer g.wg.Done()
		if err := g.grpcServer.Serve(g.grpcLis); err != nil {
			g.log.Error("grpc server", "err", err)
		}
	}()
	go func() {
		defer g.wg.Done()
		var err error
		if g.tls {
			// ServeTLS adds HTTP/2 ("h2") to the TLS configuration.
			err = g.httpServer.ServeTLS(g.httpLis, "", "")
		} else {
			err = g.fast.Serve(g.httpLis)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("http server", "err", err)
		}
	}()
}

// GRPCAddr is the "host:port" the gRPC server listens on.
func (g *Gateway) GRPCAddr() string { return g.grpcLis.Addr().String() }

// HTTPAddr is the "host:port" the HTTP server listens on.
func (g *Gateway) HTTPAddr() string { return g.httpLis.Addr().String() }

// HTTPURL is the base URL of the REST API, e.g. "http://127.0.0.1:8080".
func (g *Gateway) HTTPURL() string {
	scheme := "http"
	if g.tls {
		scheme = "https"
	}
	return scheme + "://" + g.HTTPAddr()
}

// Metrics returns the gateway's metrics.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// Shutdown stops the gateway gracefully: health turns NOT_SERVING, no new
// connection or call is accepted, and calls and transfers in flight may
// finish until ctx ends; then whatever is left is closed.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.stopOnce.Do(func() { g.stopErr = g.shutdown(ctx) })
	return g.stopErr
}

// Close stops the gateway at once, breaking calls in flight.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return g.Shutdown(ctx)
}

func (g *Gateway) shutdown(ctx context.Context) error {
	if g.stopWatch != nil {
		g.stopWatch()
	}
	g.health.Shutdown()
	var errs []error
	var wg sync.WaitGroup
	if g.httpServer != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.fast != nil {
				// Shuts httpServer down as well.
				g.fast.Shutdown(ctx)
			} else if err := g.httpServer.Shutdown(ctx); err != nil {
				g.httpServer.Close()
			}
		}()
	}
	if g.grpcServer != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopGRPC(ctx, g.grpcServer)
		}()
	}
	wg.Wait()
	// The inner server served the JSON routes, which are done now.
	if g.innerConn != nil {
		errs = append(errs, g.innerConn.Close())
	}
	if g.innerServer != nil {
		g.innerServer.Stop()
	}
	// Listeners of a gateway that never served are still open.
	for _, l := range []net.Listener{g.grpcLis, g.httpLis} {
		if l != nil {
			l.Close()
		}
	}
	g.wg.Wait()
	if g.ownsClient && g.cl != nil {
		errs = append(errs, g.cl.Close())
	}
	return errors.Join(errs...)
}

// healthTimeout bounds one tracker's answer to a health check.
const healthTimeout = 3 * time.Second

// watchCluster runs checkCluster every health_interval until ctx ends.
func (g *Gateway) watchCluster(ctx context.Context) {
	t := time.NewTicker(g.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.checkCluster(ctx)
		}
	}
}

// checkCluster sets the health of the fastdfs.v1 services: SERVING when a
// tracker answers ACTIVE_TEST, NOT_SERVING when none does.
func (g *Gateway) checkCluster(ctx context.Context) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	for _, addr := range g.cl.Trackers() {
		cctx, cancel := context.WithTimeout(ctx, min(g.cfg.HealthInterval, healthTimeout))
		err := g.cl.ActiveTest(cctx, addr)
		cancel()
		if err == nil {
			st = healthpb.HealthCheckResponse_SERVING
			break
		}
	}
	if ctx.Err() != nil {
		return
	}
	up := st == healthpb.HealthCheckResponse_SERVING
	if g.clusterUp == nil || *g.clusterUp != up {
		if up {
			g.log.Info("a tracker answers: serving", "trackers", g.cl.Trackers())
		} else {
			g.log.Warn("no tracker answers: not serving", "trackers", g.cl.Trackers())
		}
		g.clusterUp = &up
	}
	for _, name := range append([]string{""}, services...) {
		g.health.SetServingStatus(name, st)
	}
}

// stopGRPC stops s gracefully, or at once when ctx ends first.
func stopGRPC(ctx context.Context, s *grpc.Server) {
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Stop()
		<-done
	}
}

// timeoutUnary bounds unary calls by limits.request_timeout.
func (g *Gateway) timeoutUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if d := g.cfg.Limits.RequestTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	return handler(ctx, req)
}
