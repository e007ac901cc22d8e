package devcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode"
	"github.com/fdfsgo/fdfs/trackernode"
)

// Default ports, as upstream. Random loopback addresses make them safe to
// share between clusters running at the same time.
const (
	DefaultTrackerPort = 22122
	DefaultStoragePort = 23000
	DefaultHTTPPort    = 8888
)

// firstStorageID is the numeric id of the first storage in id mode (as in the
// upstream sample storage_ids.conf); the others follow.
const firstStorageID = 100001

// startAttempts bounds the retries with fresh random addresses when a bind
// fails because another cluster (another test package) took the address.
const startAttempts = 5

// Options describe a cluster. The zero value is one tracker and two storages
// of group1 with one store path each, on random 127.x.y.z addresses.
type Options struct {
	// Dir holds the conf files and every base path. Required.
	Dir string
	// Groups lists the group names; default ["group1"].
	Groups []string
	// Storages is the number of storages per group; default 2.
	Storages int
	// StorePaths is the number of store paths per storage; default 1.
	StorePaths int
	// SubdirCount is subdir_count_per_path; default 256 (upstream). Tests use
	// a small value because the storage creates SubdirCount² directories per
	// store path on first start.
	SubdirCount int
	// UseStorageID switches to id mode: use_storage_id=true with a generated
	// storage_ids.conf (ids 100001, 100002, ...) and id_type_in_filename=id.
	UseStorageID bool
	// TrackerIP and StorageIPs fix the loopback addresses; empty means a
	// random 127.x.y.z (x ≥ 1, so 127.0.0.x stays free for `fdfs dev`), with
	// retries on bind failures. StorageIPs, when given, has one address per
	// storage, in group order.
	TrackerIP  string
	StorageIPs []string
	// TrackerPort, StoragePort and HTTPPort default to 22122, 23000, 8888.
	TrackerPort, StoragePort, HTTPPort int
	// HeartBeatInterval is heart_beat_interval and stat_report_interval in
	// seconds; default 30 (upstream).
	HeartBeatInterval int
	// LogLevel is written to every conf file; default "info".
	LogLevel string
	// TrackerConf and StorageConf are extra "key = value" lines; a key given
	// here replaces the generated line of the same key.
	TrackerConf, StorageConf []string
	// Logger receives the servers' logs; nil discards them.
	Logger *slog.Logger
	// ActiveTimeout bounds the waits for storages to become ACTIVE; default 30 s.
	ActiveTimeout time.Duration
	// Progress, when set, is told each step of Launch as it begins: the
	// first start of a storage creates SubdirCount² directories per store
	// path, which takes seconds, and `fdfs dev` says so.
	Progress func(step string)
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("devcluster: Options.Dir is required")
	}
	if len(o.Groups) == 0 {
		o.Groups = []string{"group1"}
	}
	if o.Storages <= 0 {
		o.Storages = 2
	}
	if o.StorePaths <= 0 {
		o.StorePaths = 1
	}
	if o.SubdirCount <= 0 {
		o.SubdirCount = 256
	}
	if o.TrackerPort == 0 {
		o.TrackerPort = DefaultTrackerPort
	}
	if o.StoragePort == 0 {
		o.StoragePort = DefaultStoragePort
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = DefaultHTTPPort
	}
	if o.HeartBeatInterval <= 0 {
		o.HeartBeatInterval = 30
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ActiveTimeout <= 0 {
		o.ActiveTimeout = 30 * time.Second
	}
	if n := len(o.Groups) * o.Storages; len(o.StorageIPs) != 0 && len(o.StorageIPs) != n {
		return fmt.Errorf("devcluster: %d storage IPs given for %d storages", len(o.StorageIPs), n)
	}
	return nil
}

// Tracker is the cluster's tracker server.
type Tracker struct {
	IP       string
	Port     int
	ConfPath string // tracker.conf
	BasePath string

	mu  sync.Mutex
	srv *trackernode.Server
}

// Addr is "ip:port".
func (t *Tracker) Addr() string { return net.JoinHostPort(t.IP, strconv.Itoa(t.Port)) }

// Running reports whether the tracker is started.
func (t *Tracker) Running() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.srv != nil
}

// Storage is one storage server of the cluster.
type Storage struct {
	Index      int    // position in Cluster.Storages
	Name       string // "storage1", "storage2", ...: file and directory names
	Group      string
	ID         string // storage id: the numeric id in id mode, the IP otherwise
	IP         string
	Port       int
	HTTPPort   int    // http.server_port: HTTP downloads
	ConfPath   string // storageN.conf
	BasePath   string
	StorePaths []string

	mu  sync.Mutex
	srv *storagenode.Server
}

// Addr is "ip:port".
func (s *Storage) Addr() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.Port)) }

// HTTPAddr is "ip:http_port", where the storage serves HTTP downloads.
func (s *Storage) HTTPAddr() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.HTTPPort)) }

// MetricsAddr is where the storage serves /metrics (metrics_listen); ""
// when it does not or is stopped.
func (s *Storage) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.srv.MetricsAddr()
}

// Running reports whether the storage is started.
func (s *Storage) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil
}

// Cluster is a running in-process cluster.
type Cluster struct {
	Opts           Options
	Dir            string
	Tracker        *Tracker
	Storages       []*Storage
	ClientConfPath string         // client.conf
	StorageIDsPath string         // storage_ids.conf (id mode only)
	Client         *client.Client // connected through ClientConfPath
}

// Launch writes the conf files under opts.Dir (replacing earlier ones, while
// data from an earlier run is kept and reused), starts the tracker and the
// storages, and waits until every storage is ACTIVE. On error everything
// started is stopped again.
func Launch(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	c := &Cluster{Opts: opts, Dir: opts.Dir}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if err := c.layout(); err != nil {
		return nil, err
	}
	if err := c.writeConfs(); err != nil {
		return nil, err
	}
	c.progress("starting the tracker on " + c.Tracker.Addr())
	if err := c.StartTracker(); err != nil {
		return nil, err
	}
	for i, s := range c.Storages {
		c.progress(c.storageStep(s))
		if err := c.StartStorage(i); err != nil {
			return nil, err
		}
	}
	cc, err := conf.LoadClient(c.ClientConfPath)
	if err != nil {
		return nil, fmt.Errorf("devcluster: load %s: %w", c.ClientConfPath, err)
	}
	if c.Client, err = client.FromConf(cc); err != nil {
		return nil, fmt.Errorf("devcluster: client: %w", err)
	}
	c.progress("waiting for the storages to join the tracker (ACTIVE)")
	if err := c.WaitActive(ctx); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// RandomIP returns 127.x.y.z with x ≥ 1 (127.0.0.0/16 is left to `fdfs dev`
// and to the machine) and z in 1..254: a last octet of 0 would make a file
// name's source field decode as a storage id (protocol.md §3).
func RandomIP() string {
	return fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
}

// FreeIP returns a random loopback address (see RandomIP) where port can be
// listened on now. Addresses are retried, so clusters of parallel test
// packages do not collide.
func FreeIP(port int) (string, error) {
	return pickAddr("", port)
}

// pickAddr returns fixed if set (after checking that ip:port can be bound),
// else a random loopback address where port is free.
func pickAddr(fixed string, port int) (string, error) {
	var err error
	for range startAttempts {
		ip := fixed
		if ip == "" {
			ip = RandomIP()
		}
		var l net.Listener
		l, err = net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			return ip, l.Close()
		}
		if fixed != "" {
			break
		}
	}
	return "", fmt.Errorf("devcluster: no usable address: %w", err)
}

// layout picks the addresses and names of every server.
func (c *Cluster) layout() error {
	o := &c.Opts
	t := &Tracker{Port: o.TrackerPort, ConfPath: filepath.Join(c.Dir, "tracker.conf"), BasePath: filepath.Join(c.Dir, "tracker")}
	var err error
	if t.IP, err = pickAddr(o.TrackerIP, t.Port); err != nil {
		return err
	}
	c.Tracker = t
	for i := range len(o.Groups) * o.Storages {
		name := fmt.Sprintf("storage%d", i+1)
		s := &Storage{
			Index:    i,
			Name:     name,
			Group:    o.Groups[i/o.Storages],
			Port:     o.StoragePort,
			HTTPPort: o.HTTPPort,
			ConfPath: filepath.Join(c.Dir, name+".conf"),
			BasePath: filepath.Join(c.Dir, name),
		}
		fixed := ""
		if len(o.StorageIPs) > 0 {
			fixed = o.StorageIPs[i]
		}
		if s.IP, err = pickAddr(fixed, s.Port); err != nil {
			return err
		}
		s.ID = s.IP
		if o.UseStorageID {
			s.ID = strconv.Itoa(firstStorageID + i)
		}
		for p := range o.StorePaths {
			s.StorePaths = append(s.StorePaths, filepath.Join(s.BasePath, fmt.Sprintf("path%d", p)))
		}
		c.Storages = append(c.Storages, s)
	}
	return nil
}

// writeConfs creates the directories and writes tracker.conf, storageN.conf,
// client.conf and (id mode) storage_ids.conf.
func (c *Cluster) writeConfs() error {
	o := &c.Opts
	t := c.Tracker
	c.ClientConfPath = filepath.Join(c.Dir, "client.conf")
	c.StorageIDsPath = filepath.Join(c.Dir, "storage_ids.conf")
	clientBase := filepath.Join(c.Dir, "client")
	files := map[string][]byte{
		t.ConfPath: renderTracker(trackerParams{
			BindAddr: t.IP, Port: t.Port, BasePath: t.BasePath,
			UseStorageID: o.UseStorageID, LogLevel: o.LogLevel, Extra: o.TrackerConf,
		}),
		c.ClientConfPath: renderClient(clientParams{
			BasePath: clientBase, Trackers: []string{t.Addr()},
			UseStorageID: o.UseStorageID, StorageIDsFile: c.StorageIDsPath, LogLevel: o.LogLevel,
			HTTPTrackerPort: 8080,
		}),
	}
	dirs := []string{t.BasePath, clientBase}
	var ids []storageIDLine
	for _, s := range c.Storages {
		files[s.ConfPath] = renderStorage(storageParams{
			Group: s.Group, BindAddr: s.IP, Port: s.Port, HTTPPort: s.HTTPPort,
			BasePath: s.BasePath, StorePaths: s.StorePaths, SubdirCount: o.SubdirCount,
			Trackers: []string{t.Addr()}, HeartBeatInterval: o.HeartBeatInterval,
			LogLevel: o.LogLevel, Extra: o.StorageConf,
		})
		dirs = append(dirs, s.BasePath)
		dirs = append(dirs, s.StorePaths...)
		ids = append(ids, storageIDLine{ID: s.ID, Group: s.Group, IP: s.IP})
	}
	if o.UseStorageID {
		files[c.StorageIDsPath] = renderStorageIDs(ids)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("devcluster: %w", err)
		}
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("devcluster: %w", err)
		}
	}
	return nil
}

// StartTracker loads tracker.conf as written and starts the tracker. It does
// not wait for the storages; see WaitActive.
func (c *Cluster) StartTracker() error {
	t := c.Tracker
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.srv != nil {
		return fmt.Errorf("devcluster: tracker %s already running", t.Addr())
	}
	cfg, err := conf.LoadTracker(t.ConfPath)
	if err != nil {
		return fmt.Errorf("devcluster: load %s: %w", t.ConfPath, err)
	}
	srv, err := trackernode.New(cfg, c.Opts.Logger.With("node", "tracker"))
	if err != nil {
		return fmt.Errorf("devcluster: tracker: %w", err)
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		return fmt.Errorf("devcluster: start tracker on %s: %w", t.Addr(), err)
	}
	t.srv = srv
	return nil
}

// StopTracker closes the tracker; a stopped tracker is a no-op.
func (c *Cluster) StopTracker() error {
	t := c.Tracker
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.srv == nil {
		return nil
	}
	err := t.srv.Close()
	t.srv = nil
	if err != nil {
		return fmt.Errorf("devcluster: stop tracker: %w", err)
	}
	return nil
}

// progress reports a step of Launch to Options.Progress.
func (c *Cluster) progress(step string) {
	if c.Opts.Progress != nil {
		c.Opts.Progress(step)
	}
}

// storageStep describes starting s: a first start (no data directory
// yet) creates the directory tree.
func (c *Cluster) storageStep(s *Storage) string {
	n := c.Opts.SubdirCount * c.Opts.SubdirCount * len(s.StorePaths)
	for _, p := range s.StorePaths {
		if _, err := os.Stat(filepath.Join(p, "data")); err != nil {
			return fmt.Sprintf("starting %s on %s: first start, creating %d data directories", s.Name, s.Addr(), n)
		}
	}
	return fmt.Sprintf("starting %s on %s", s.Name, s.Addr())
}

// StartStorage loads storage i's conf file as written and starts it. It does
// not wait for it to become ACTIVE; see WaitActive.
func (c *Cluster) StartStorage(i int) error {
	s := c.Storages[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return fmt.Errorf("devcluster: %s already running", s.Name)
	}
	cfg, err := conf.LoadStorage(s.ConfPath)
	if err != nil {
		return fmt.Errorf("devcluster: load %s: %w", s.ConfPath, err)
	}
	srv, err := storagenode.New(cfg, c.Opts.Logger.With("node", s.Name))
	if err != nil {
		return fmt.Errorf("devcluster: %s: %w", s.Name, err)
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		return fmt.Errorf("devcluster: start %s on %s: %w", s.Name, s.Addr(), err)
	}
	s.srv = srv
	return nil
}

// StopStorage closes storage i; a stopped storage is a no-op.
func (c *Cluster) StopStorage(i int) error {
	s := c.Storages[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	s.srv = nil
	if err != nil {
		return fmt.Errorf("devcluster: stop %s: %w", s.Name, err)
	}
	return nil
}

// WaitActive polls the tracker until every running storage is ACTIVE, or
// Options.ActiveTimeout passes.
func (c *Cluster) WaitActive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.Opts.ActiveTimeout)
	defer cancel()
	var want []*Storage
	for _, s := range c.Storages {
		if s.Running() {
			want = append(want, s)
		}
	}
	return c.WaitStatus(ctx, want, protocol.StatusActive)
}

// WaitStatus polls the tracker (every 20 ms) until each given storage has
// the given status in the tracker's storage list.
func (c *Cluster) WaitStatus(ctx context.Context, storages []*Storage, status byte) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error // why the previous poll was not done
	for {
		pending, err := c.notInStatus(ctx, storages, status)
		switch {
		case err == nil && len(pending) == 0:
			return nil
		case err == nil:
			last = fmt.Errorf("%s not %s", strings.Join(pending, ", "), protocol.StorageStatusName(status))
		case ctx.Err() == nil || last == nil:
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: waiting for storages: %w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// StatusOf returns storage s's status as the tracker reports it, or
// protocol.StatusNone when the tracker does not list it.
func (c *Cluster) StatusOf(ctx context.Context, s *Storage) (byte, error) {
	list, err := c.Client.ListStorages(ctx, s.Group, "")
	if err != nil {
		return protocol.StatusNone, err
	}
	for _, st := range list {
		if st.ID == s.ID {
			return st.Status, nil
		}
	}
	return protocol.StatusNone, nil
}

func (c *Cluster) notInStatus(ctx context.Context, storages []*Storage, status byte) ([]string, error) {
	var pending []string
	for _, s := range storages {
		st, err := c.StatusOf(ctx, s)
		if err != nil {
			return nil, err
		}
		if st != status {
			pending = append(pending, fmt.Sprintf("%s(%s)=%s", s.Name, s.ID, protocol.StorageStatusName(st)))
		}
	}
	return pending, nil
}

// Close stops the client, the storages and the tracker, returning the first
// error.
func (c *Cluster) Close() error {
	var errs []error
	if c.Client != nil {
		errs = append(errs, c.Client.Close())
	}
	for i := range c.Storages {
		errs = append(errs, c.StopStorage(i))
	}
	if c.Tracker != nil {
		errs = append(errs, c.StopTracker())
	}
	return errors.Join(errs...)
}
