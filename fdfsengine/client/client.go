package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultConnectTimeout  = 30 * time.Second // client.conf connect_timeout
	DefaultNetworkTimeout  = 30 * time.Second // client.conf network_timeout
	DefaultMaxIdlePerHost  = 8
	DefaultIdleTimeout     = time.Hour // client.conf connection_pool_max_idle_time
	DefaultActiveTestAfter = 10 * time.Second
)

// Config configures a Client.
type Config struct {
	// Trackers are "host:port" addresses, tried in order with failover. A
	// missing port means 22122; the upstream dual-IP form "ip1,ip2:port"
	// yields both addresses.
	Trackers []string
	// ConnectTimeout bounds each TCP connect.
	ConnectTimeout time.Duration
	// NetworkTimeout bounds each I/O step: a request or reply, or one
	// 4 MiB chunk of file content.
	NetworkTimeout time.Duration
	// MaxIdlePerHost is the number of idle connections kept per server
	// address; negative disables pooling (one connection per operation).
	MaxIdlePerHost int
	// IdleTimeout closes pooled connections idle for longer.
	IdleTimeout time.Duration
	// ActiveTestAfter: a pooled connection idle for at least this long is
	// checked with ACTIVE_TEST before reuse.
	ActiveTestAfter time.Duration
	// ReadRouteTTL, when positive, caches for that long which storages
	// serve reads of a file (QUERY_FETCH_ALL), so downloads, file info and
	// metadata reads skip the tracker round trip; reads rotate over the
	// listed storages. Zero asks the tracker on every read, as upstream.
	ReadRouteTTL time.Duration
	// ReadRouteEntries bounds that cache (default DefaultReadRouteEntries).
	ReadRouteEntries int
	// Nagle leaves Nagle's algorithm on, as the C client library and
	// fastdfs-client-java do. Like them this client writes the header and
	// the fixed fields of a request in one write and the file content
	// after it, so with Nagle on it meets the servers exactly as they do
	// (fdfs bench --client-profile c); it is never faster.
	Nagle bool
}

// Client is a FastDFS client. It is safe for concurrent use.
type Client struct {
	trackers []string
	cur      atomic.Int32 // index of the tracker that answered last
	pool     *pool
	routes   *routeCache // nil unless Config.ReadRouteTTL > 0
}

// New returns a Client for cfg; it does not connect yet.
func New(cfg Config) (*Client, error) {
	var trackers []string
	for _, t := range cfg.Trackers {
		addrs, err := ParseTrackerAddr(t)
		if err != nil {
			return nil, err
		}
		trackers = append(trackers, addrs...)
	}
	if len(trackers) == 0 {
		return nil, fmt.Errorf("client: no tracker server configured: %w", protocol.ErrInvalid)
	}
	if len(trackers) > protocol.MaxTrackers {
		return nil, fmt.Errorf("client: %d tracker addresses, at most %d: %w", len(trackers), protocol.MaxTrackers, protocol.ErrInvalid)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.NetworkTimeout <= 0 {
		cfg.NetworkTimeout = DefaultNetworkTimeout
	}
	if cfg.MaxIdlePerHost == 0 {
		cfg.MaxIdlePerHost = DefaultMaxIdlePerHost
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ActiveTestAfter <= 0 {
		cfg.ActiveTestAfter = DefaultActiveTestAfter
	}
	return &Client{trackers: trackers, pool: newPool(&cfg), routes: newRouteCache(cfg.ReadRouteTTL, cfg.ReadRouteEntries)}, nil
}

// ConfigFromConf converts client.conf settings: tracker_server,
// connect_timeout, network_timeout, connection_pool_max_idle_time and
// use_connection_pool (false = one connection per operation, as upstream).
func ConfigFromConf(c *conf.Client) Config {
	cfg := Config{
		Trackers:       c.TrackerServers,
		ConnectTimeout: c.ConnectTimeout,
		NetworkTimeout: c.NetworkTimeout,
		IdleTimeout:    c.ConnectionPoolMaxIdleTime,
	}
	if !c.UseConnectionPool {
		cfg.MaxIdlePerHost = -1
	}
	return cfg
}

// FromConf returns a Client configured by a parsed client.conf.
func FromConf(c *conf.Client) (*Client, error) { return New(ConfigFromConf(c)) }

// Close closes the idle connections. Operations in progress finish and
// close their connections.
func (cl *Client) Close() error {
	cl.pool.close()
	return nil
}

// Trackers returns the tracker addresses in failover order.
func (cl *Client) Trackers() []string { return append([]string(nil), cl.trackers...) }

// ParseTrackerAddr expands one tracker_server value into addresses:
// "host:port", "host" (port 22122) or the dual-IP form "ip1,ip2:port".
func ParseTrackerAddr(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a bare host name, IPv4 or (unbracketed) IPv6 address.
		if strings.Contains(s, ":") && net.ParseIP(s) == nil {
			return nil, fmt.Errorf("client: tracker address %q: %w", s, protocol.ErrInvalid)
		}
		host, port = s, strconv.Itoa(protocol.DefaultTrackerPort)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return nil, fmt.Errorf("client: tracker address %q: bad port: %w", s, protocol.ErrInvalid)
	}
	var out []string
	for _, h := range strings.Split(host, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("client: tracker address %q: empty host: %w", s, protocol.ErrInvalid)
		}
		out = append(out, net.JoinHostPort(h, port))
	}
	return out, nil
}

// OpError is the error of a client operation.
type OpError struct {
	Op     string // e.g. "upload", "download", "list groups"
	FileID string // "" when the operation has no file
	Addr   string // server that failed, "" if none was reached
	Err    error
}

func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.FileID != "" {
		b.WriteString(" ")
		b.WriteString(e.FileID)
	}
	if e.Addr != "" {
		b.WriteString(" (")
		b.WriteString(e.Addr)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *OpError) Unwrap() error { return e.Err }

func opErr(op, fileID, addr string, err error) error {
	if err == nil {
		return nil
	}
	// A failed step of a larger operation (a tracker query inside a
	// download) keeps its own address and names both operations.
	if oe, ok := err.(*OpError); ok {
		if oe.Op != op {
			oe.Op = op + " (" + oe.Op + ")"
		}
		if oe.FileID == "" {
			oe.FileID = fileID
		}
		return oe
	}
	return &OpError{Op: op, FileID: fileID, Addr: addr, Err: err}
}

// withTracker runs fn on a connection to a tracker, starting with the one
// that answered last and failing over to the next on connection errors.
// A FastDFS status is an answer and is returned at once. It returns the
// address of the tracker that answered (or failed last).
func (cl *Client) withTracker(ctx context.Context, fn func(c *conn) error) (string, error) {
	n := len(cl.trackers)
	start := int(cl.cur.Load())
	var errs []error
	addr := ""
	for i := range n {
		idx := (start + i) % n
		addr = cl.trackers[idx]
		err := cl.withConn(ctx, addr, fn)
		var re *reusedError
		if errors.As(err, &re) {
			// The tracker may have closed a pooled connection just as it
			// was reused; tracker requests are safe to repeat once on a
			// new connection before giving up on this tracker.
			err = cl.withFreshConn(ctx, addr, fn)
		}
		if err == nil {
			if idx != start {
				cl.cur.Store(int32(idx))
			}
			return addr, nil
		}
		if fdfsnet.IsStatus(err) || ctx.Err() != nil {
			return addr, err
		}
		errs = append(errs, fmt.Errorf("tracker %s: %w", addr, err))
	}
	if len(errs) == 1 {
		return addr, errors.Unwrap(errs[0])
	}
	return "", errors.Join(errs...)
}

// withConn runs fn on a pooled connection to addr. A connection failure
// on a connection taken from the pool is returned as a *reusedError.
func (cl *Client) withConn(ctx context.Context, addr string, fn func(c *conn) error) error {
	c, release, err := cl.pool.get(ctx, addr, false)
	if err != nil {
		return err
	}
	err = fn(c)
	reused := c.reused // once put back, c may be another caller's
	cl.pool.put(c, release)
	if err != nil && reused && !fdfsnet.IsStatus(err) && ctx.Err() == nil {
		return &reusedError{err}
	}
	return err
}

// withFreshConn runs fn on a newly dialled connection to addr (pooled
// afterwards as usual).
func (cl *Client) withFreshConn(ctx context.Context, addr string, fn func(c *conn) error) error {
	c, release, err := cl.pool.get(ctx, addr, true)
	if err != nil {
		return err
	}
	err = fn(c)
	cl.pool.put(c, release)
	return err
}

// reusedError marks a connection failure on a pooled connection.
type reusedError struct{ err error }

func (e *reusedError) Error() string { return e.err.Error() + " (on a reused connection)" }

func (e *reusedError) Unwrap() error { return e.err }
