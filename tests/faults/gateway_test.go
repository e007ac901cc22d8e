package faults

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// The gateway's API keys (at least 16 characters, config.MinKeyLength).
const (
	rwKey = "faults-rw-key-0123456789abcdef"
	roKey = "faults-ro-key-0123456789abcdef"
)

const (
	gwGRPCPort = 9090
	gwHTTPPort = 8080
)

// gatewayConf is gateway.yaml: trackers, grpc_listen, http_listen,
// spool_dir.
const gatewayConf = `trackers: [%q]
grpc_listen: %s
http_listen: %s
spool_dir: %s
connect_timeout: 2s
network_timeout: 10s
health_interval: 1s
access_log: false
log_level: warn
api_keys:
  - {name: writer, key: %q, mode: rw}
  - {name: reader, key: %q, mode: ro}
limits:
  max_upload_size: 64MB
  header_timeout: 5s
  io_timeout: 10s
  request_timeout: 20s
  shutdown_timeout: 1s
`

// gateway is an `fdfs gateway` process and a gRPC connection to it.
type gateway struct {
	*proc
	grpcAddr, httpAddr string
	spool              string
	tls                *tls.Config // nil: plaintext
	conn               *grpc.ClientConn
	files              fastdfsv1.FileServiceClient
	http               *http.Client
}

// startGateway starts a gateway on ip for the tracker at trackerAddr and
// waits until its gRPC health is SERVING (it reaches a tracker).
func startGateway(t *testing.T, trackerAddr, ip string) *gateway {
	t.Helper()
	return startGatewayTLS(t, trackerAddr, ip, false)
}

// startGatewayTLS is startGateway, with TLS on both ports (a self-signed
// certificate for ip) when withTLS.
func startGatewayTLS(t *testing.T, trackerAddr, ip string, withTLS bool) *gateway {
	t.Helper()
	return startGatewayConf(t, gatewayConf, trackerAddr, ip, withTLS)
}

// startGatewayConf is startGatewayTLS with another gateway.yaml template
// (gatewayConf's verbs, in its order).
func startGatewayConf(t *testing.T, format, trackerAddr, ip string, withTLS bool) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{
		grpcAddr: net.JoinHostPort(ip, fmt.Sprint(gwGRPCPort)),
		httpAddr: net.JoinHostPort(ip, fmt.Sprint(gwHTTPPort)),
		spool:    filepath.Join(dir, "spool"),
	}
	mkdir(t, g.spool)
	creds := insecure.NewCredentials()
	if withTLS {
		certFile, keyFile, pool := selfSigned(t, dir, ip)
		format += fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", certFile, keyFile)
		g.tls = &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}}
		creds = credentials.NewTLS(g.tls)
	}
	conf := writeConf(t, filepath.Join(dir, "gateway.yaml"), format,
		trackerAddr, g.grpcAddr, g.httpAddr, g.spool, rwKey, roKey)
	g.proc = newProc(t, "gateway", conf, g.grpcAddr, filepath.Join(dir, "gateway.log"))
	// Reconnect within 200 ms of a restart: grpc-go's default backoff
	// grows to seconds after a few failed dials.
	params := grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: 200 * time.Millisecond}, MinConnectTimeout: 2 * time.Second}
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(creds), grpc.WithConnectParams(params),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	g.conn, g.files = conn, fastdfsv1.NewFileServiceClient(conn)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	if g.tls != nil {
		// HTTP/1.1: g.tls offers only h2, for the raw HTTP/2 clients.
		tr.TLSClientConfig = g.tls.Clone()
		tr.TLSClientConfig.NextProtos = nil
	}
	g.http = &http.Client{Transport: tr}
	t.Cleanup(g.http.CloseIdleConnections)
	g.start(t)
	return g
}

// start starts the process and waits until it serves.
func (g *gateway) start(t *testing.T) {
	t.Helper()
	g.proc.start()
	health := healthpb.NewHealthClient(g.conn)
	testwait.For(t, waitLimit, "gateway SERVING", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(false))
		if err != nil {
			return err
		}
		if r.Status != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health %v", r.Status)
		}
		c, err := net.DialTimeout("tcp", g.httpAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// withKey returns ctx carrying key as gRPC metadata.
func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// url is the REST URL of path on g.
func (g *gateway) url(path string) string {
	if g.tls != nil {
		return "https://" + g.httpAddr + path
	}
	return "http://" + g.httpAddr + path
}

// selfSigned writes a certificate for ip and its key into dir.
func selfSigned(t *testing.T, dir, ip string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fdfs faults"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "gw.pem"), filepath.Join(dir, "gw.key")
	writeConf(t, certFile, "%s", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeConf(t, keyFile, "%s", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
