package storagenode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/allowhosts"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/internal/backoff"
	"github.com/fdfsgo/fdfs/internal/daemonmetrics"
	"github.com/fdfsgo/fdfs/internal/evloop"
	"github.com/fdfsgo/fdfs/internal/mounts"
	"github.com/fdfsgo/fdfs/internal/prebind"
	"github.com/fdfsgo/fdfs/internal/tmpfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
	"github.com/fdfsgo/fdfs/storagenode/httpd"
)

// Version is the protocol version this server reports to trackers.
const Version = "6.16.1"

// Defaults applied to zero-valued configuration fields (upstream defaults).
const (
	defaultBuffSize           = 64 << 10
	defaultSubdirCount        = 256
	defaultNetworkTimeout     = 60 * time.Second
	defaultConnectTimeout     = 10 * time.Second
	defaultHeartBeatInterval  = 30 * time.Second
	defaultStatReportInterval = 60 * time.Second
	defaultRotateCount        = 100
	defaultMaxConnections     = 1024
	defaultSyncStatInterval   = 300 * time.Second
	defaultSyncBinlogInterval = 60 * time.Second
	minBuffSize               = 4 << 10
)

// Server is a storage server.
type Server struct {
	cfg   conf.Storage // copy with defaults applied
	log   *slog.Logger
	store *store
	bl    *binlog.Writer
	// marksAligned maps the mark files whose binlog position was checked
	// against the binlog this run (alignMark), or written by it, to
	// whether that position is exactly where the peer's last session
	// stopped (bool).
	marksAligned sync.Map
	stats        *stats
	start        time.Time
	// tempPattern names this run's upload temp files: ".upload-<run>-*.tmp"
	// with <run> the start time, so the sweep after a crash tells them
	// from the dead run's whatever their timestamps.
	tempPattern string
	// staging makes the files of each store path (by index) that must be
	// whole before they get their name (tmpfile: unnamed where the file
	// system allows).
	staging []*tmpfile.Dir
	// trunkGrow serializes the extension of short trunk files (growTrunk).
	trunkGrow sync.Mutex
	// writes counts the client writes in flight: replication yields to
	// them (sync_yield.go).
	writes writeLoad

	params atomic.Pointer[trackerParams]
	myIP   atomic.Pointer[string] // IP the trackers see (GET_MY_IP)
	myID   atomic.Pointer[string] // server id (id mode)
	status atomic.Int32           // our status on the trackers + 1 (0 = not known yet)
	// startIP is last_ip_addr of .data_init_flag as this run found it:
	// the address the trackers knew us by, compared with GET_MY_IP's by
	// every tracker session (ipchange.go); ipReported holds the trackers
	// (by address) that answered the change's report in this run.
	startIP    string
	ipReported sync.Map
	moved      *moves // address changes of ours and of our peers (moved.go)
	// sourceReads counts the reads asked of a file's source storage,
	// lostReads those of files a store path cannot give asked of the
	// group's other storages, and sourceDown maps a storage that failed
	// one to when (time.Time), by address (source_read.go).
	sourceReads sourceReadCounts
	lostReads   sourceReadCounts
	sourceDown  sync.Map
	// appendConflicts counts peers' appends whose range this storage's
	// copy held with other bytes (sync_recv.go).
	appendConflicts atomic.Int64

	// ctx is the server's one stop signal, cancelled by Close: every loop
	// waits on it and every outbound connection is bound to it.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	ln     net.Listener
	loop   *evloop.Server // nil where acceptLoop serves ln
	httpLn net.Listener   // nil when HTTP downloads are off
	httpd  *httpd.Server
	conns  map[net.Conn]struct{}
	served map[*conn]struct{} // client connections being served (shutdown.go)
	closed bool
	// draining is set by Shutdown: no new connection or request is taken.
	draining atomic.Bool
	wg       sync.WaitGroup

	connSem chan struct{}    // bounds concurrent client connections
	allow   *allowhosts.List // allow_hosts: who may connect; nil = everybody
	bufPool sync.Pool        // *[]byte of buff_size

	names nameLocks // per-name locks of file changes

	repl *replicator // sync workers and received sync timestamps (sync_*.go)
	rec  *recovery   // disk recovery of wiped store paths (recovery.go)

	index   *fileIndex    // the files held here, for listing and scrub (fileindex.go)
	deletes *deleteMemory // recent deletes, against stale changes from peers (deletes.go)
	scrub   *scrubber     // re-reads and repairs files (scrub.go)

	syncSrc syncSource // initial-sync source, decided by one tracker session at a time (tracker.go)
	leader  leaderView // tracker leader as the beat replies announce it (tracker.go)
	trunk   trunkRole  // the group's trunk server, and our allocator if it is us (trunk_role.go)

	reqs    *daemonmetrics.Requests // per-command counts and latencies (metrics.go)
	access  *accessLog              // [access-log] of storage.conf, nil when off (accesslog.go)
	metrics *daemonmetrics.Server   // metrics_listen, nil when off; guarded by mu
}

// trackerParams are the cluster-wide settings a storage learns from the
// tracker's PARAMETER_REQ reply.
type trackerParams struct {
	UseStorageID   bool
	IDInFilename   bool // id_type_in_filename=id
	ResponseIPSize int  // 16 or 46
	StorePathMode  conf.StorePathMode
	Reserved       conf.Reserved
	StorageIDs     map[string][]string // id → IPs (id mode)
	// SyncFileMaxDelay is storage_sync_file_max_delay: a file older than
	// this that is missing here will not arrive by replication.
	SyncFileMaxDelay time.Duration
	// IPChangedAutoAdjust is storage_ip_changed_auto_adjust: a storage
	// whose address changed reports it (ipchange.go).
	IPChangedAutoAdjust bool
	Trunk               trunkParams
}

// New validates cfg, prepares the store paths (creating the data
// directories on first start) and opens the binlog. It does not listen yet.
func New(cfg *conf.Storage, log *slog.Logger) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("storagenode: nil config")
	}
	if cfg.Disabled {
		return nil, conf.KeyError(cfg.Raw, "disabled", "true: this storage is disabled", "false to run it")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := *cfg
	if err := applyDefaults(&c); err != nil {
		return nil, err
	}
	allow, err := allowhosts.Parse(c.AllowHosts)
	if err != nil {
		return nil, err
	}
	if err := mounts.Check(append([]string{c.BasePath}, c.StorePaths...)...); err != nil {
		// Started now, the storage would take the empty mount point for
		// a wiped store path and refill it onto the root file system.
		return nil, fmt.Errorf("storagenode: %w", err)
	}
	s := newServer(c, allow, log)
	wiped, err := markWipedPaths(&s.cfg)
	if err != nil {
		return nil, err
	}
	if err := s.openData(wiped); err != nil {
		return nil, err
	}
	return s, nil
}

// newServer is a Server for the configuration c with its in-memory state
// set up and nothing on disk opened yet.
func newServer(c conf.Storage, allow *allowhosts.List, log *slog.Logger) *Server {
	s := &Server{
		allow:   allow,
		cfg:     c,
		log:     log.With("role", "storage", "group", c.GroupName),
		conns:   map[net.Conn]struct{}{},
		served:  map[*conn]struct{}{},
		connSem: make(chan struct{}, c.MaxConnections),
		start:   time.Now(),
		syncSrc: syncSource{sem: make(chan struct{}, 1)},
		reqs:    daemonmetrics.NewRequests("storage"),
		index:   newFileIndex(),
		deletes: newDeleteMemory(),
		scrub:   &scrubber{},
	}
	s.tempPattern = ".upload-" + strconv.FormatInt(s.start.UnixNano(), 36) + "-*.tmp"
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.repl = newReplicator(s)
	s.bufPool.New = func() any {
		b := make([]byte, s.cfg.BuffSize)
		return &b
	}
	s.params.Store(&trackerParams{ResponseIPSize: protocol.IPv4AddrSize, SyncFileMaxDelay: 24 * time.Hour})
	empty := ""
	s.myIP.Store(&empty)
	s.myID.Store(&empty)
	if c.ServerID != "" {
		id := c.ServerID
		s.myID.Store(&id)
	}
	return s
}

// openData opens what the storage keeps on disk: the store paths (wiped:
// the indexes of those that lost their files, to recover), the
// moved-files table, the stats, the binlog and the access log.
func (s *Server) openData(wiped []int) error {
	st, err := openStore(&s.cfg, s.log)
	if err != nil {
		return err
	}
	s.store = st
	s.startIP = st.initFlag.get(flagLastIPAddr)
	if s.moved, err = loadMoves(filepath.Join(s.cfg.BasePath, "data", movedFile)); err != nil {
		return fmt.Errorf("storagenode: %s: %w", movedFile, err)
	}
	for _, p := range st.paths {
		d := tmpfile.New(filepath.Join(p, "data"), s.tempPattern, fileMode)
		s.staging = append(s.staging, d)
		s.log.Debug("new files are written as", "store_path", p, "way", d.Mode())
	}
	s.rec = s.newRecovery()
	if len(wiped) > 0 {
		s.log.Warn("store paths lost their files, recovering them from the group", "store_paths", wiped)
	}
	s.stats = newStats(st.statPath())
	if err := s.stats.load(&st.dist); err != nil {
		return err
	}
	bl, err := binlog.Open(st.syncDir())
	if err != nil {
		return err
	}
	if r := bl.Repaired(); r != nil {
		s.log.Warn("binlog repaired: its end was a torn write (the records before it are kept)", "file", r.File, "offset", r.Offset, "bytes_cut", r.Bytes, "saved_to", r.SavedTo)
	}
	s.bl = bl
	if s.access, err = openAccessLog(&s.cfg); err != nil {
		bl.Close()
		return fmt.Errorf("storagenode: access log: %w", err)
	}
	return nil
}

// applyDefaults fills the zero-valued fields of a configuration built in
// code and refuses what no default can fix, as a *conf.Error naming the key
// (and its file and line when c was loaded from one).
func applyDefaults(c *conf.Storage) error {
	if !fileid.ValidGroup(c.GroupName) {
		return conf.KeyError(c.Raw, "group_name", fmt.Sprintf("%q is not a group name", c.GroupName), "1 to 16 letters and digits")
	}
	if c.BasePath == "" {
		return conf.KeyError(c.Raw, "base_path", "not set", "an absolute directory")
	}
	if len(c.StorePaths) == 0 {
		c.StorePaths = []string{c.BasePath}
	}
	if c.StorePathCount == 0 {
		c.StorePathCount = len(c.StorePaths)
	}
	if c.StorePathCount != len(c.StorePaths) || c.StorePathCount > 256 {
		return conf.KeyError(c.Raw, "store_path_count", fmt.Sprintf("%d with %d store paths", c.StorePathCount, len(c.StorePaths)),
			"the number of store_path0, store_path1, ... keys, at most 256")
	}
	if len(c.StorePathReadonly) < c.StorePathCount {
		ro := make([]bool, c.StorePathCount)
		copy(ro, c.StorePathReadonly)
		c.StorePathReadonly = ro
	}
	if c.SubdirCountPerPath <= 0 {
		c.SubdirCountPerPath = defaultSubdirCount
	}
	if c.SubdirCountPerPath > 256 {
		return conf.KeyError(c.Raw, "subdir_count_per_path", fmt.Sprintf("%d > 256", c.SubdirCountPerPath), "1 to 256")
	}
	if c.BuffSize <= 0 {
		c.BuffSize = defaultBuffSize
	}
	c.BuffSize = max(c.BuffSize, minBuffSize)
	if c.NetworkTimeout <= 0 {
		c.NetworkTimeout = defaultNetworkTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = defaultConnectTimeout
	}
	if c.HeartBeatInterval <= 0 {
		c.HeartBeatInterval = defaultHeartBeatInterval
	}
	if c.StatReportInterval <= 0 {
		c.StatReportInterval = defaultStatReportInterval
	}
	if c.FileDistributeRotateCount <= 0 {
		c.FileDistributeRotateCount = defaultRotateCount
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = defaultMaxConnections
	}
	if c.SyncStatFileInterval <= 0 {
		c.SyncStatFileInterval = defaultSyncStatInterval
	}
	if c.SyncBinlogBuffInterval <= 0 {
		c.SyncBinlogBuffInterval = defaultSyncBinlogInterval
	}
	if c.ScrubPassInterval <= 0 {
		c.ScrubPassInterval = 24 * time.Hour
	}
	if c.Port < 0 || c.Port > 65535 {
		return conf.KeyError(c.Raw, "port", fmt.Sprintf("%d is out of range", c.Port), "0 to 65535 (0: any free port)")
	}
	return nil
}

// Start binds bind_addr:port (port 0 = ephemeral), then serves clients and
// reports to the trackers in the background.
func (s *Server) Start() error {
	ln, httpLn, err := s.listen()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		closeListeners(ln, httpLn)
		return fmt.Errorf("storagenode: closed")
	}
	s.ln = ln
	s.httpLn = httpLn
	s.mu.Unlock()
	// Before any goroutine of ours reads s.log.
	s.log = s.log.With("addr", ln.Addr().String())
	// Before a peer's change can come in.
	s.rememberDeletes()
	// Park: the goroutines serving uploads and replication make file
	// system calls of tens of µs (evloop.Config.Park).
	s.loop, err = evloop.New(evloop.Config{Listener: ln.(*net.TCPListener), WorkThreads: s.cfg.WorkThreads,
		Idle: s.cfg.NetworkTimeout, Park: true, Handler: loopHandler{s}, Log: s.log})
	if err != nil {
		closeListeners(nil, httpLn) // not served yet: Close would not
		s.Close()
		return err
	}
	s.startWorkers(ln, httpLn)
	s.log.Info("storage server started", "store_paths", len(s.cfg.StorePaths), "trackers", len(s.cfg.TrackerServers))
	return nil
}

// listen binds the service port, the HTTP downloads' port (nil when they
// are off) and the metrics listener; on an error it closes what it bound.
func (s *Server) listen() (ln, httpLn net.Listener, err error) {
	if ln, err = prebind.Listen(serviceAddr(&s.cfg)); err != nil {
		return nil, nil, err
	}
	if httpLn, err = s.listenHTTP(); err != nil {
		ln.Close()
		return nil, nil, err
	}
	if err := s.startMetrics(); err != nil {
		closeListeners(ln, httpLn)
		return nil, nil, err
	}
	return ln, httpLn, nil
}

// closeListeners closes the listeners that are not nil.
func closeListeners(lns ...net.Listener) {
	for _, l := range lns {
		if l != nil {
			l.Close()
		}
	}
}

// startWorkers starts the goroutines of a storage whose listeners are
// bound: serving (unless the event loop does), housekeeping, binlog
// packing, the recheck after a crash, the tracker sessions, disk
// recovery, the file index and the scrub.
func (s *Server) startWorkers(ln, httpLn net.Listener) {
	if httpLn != nil {
		s.wg.Add(1)
		go s.serveHTTP(httpLn)
	}
	// Before any client can write a record: when the crashed run wrote
	// its last one.
	crashed, lastRecord := s.crashedBefore(), s.lastRecordTime()
	if s.loop == nil {
		s.wg.Add(1)
		go s.acceptLoop(ln)
	}
	s.wg.Add(2)
	go s.housekeeping()
	go s.watchPaths()
	if s.cfg.CompressBinlog {
		s.wg.Add(1)
		go s.packLoop()
	}
	if crashed {
		s.wg.Add(1)
		go s.afterCrash(lastRecord)
	}
	for _, t := range s.cfg.TrackerServers {
		s.wg.Add(1)
		go s.trackerLoop(t)
	}
	s.startRecovery()
	s.goTracked(s.buildIndex)
	s.startScrub()
}

// Addr returns the bound "ip:port" ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// port returns the port clients reach us on.
func (s *Server) port() int {
	if a, ok := s.listenAddr().(*net.TCPAddr); ok {
		return a.Port
	}
	return s.cfg.Port
}

func (s *Server) listenAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops accepting, closes every connection, waits for the
// goroutines and persists the counters.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.httpd != nil {
		// In-flight downloads get a moment to finish; then they are cut.
		s.mu.Unlock()
		s.httpd.Close(time.Now().Add(httpShutdownGrace))
		s.mu.Lock()
	}
	if s.loop != nil {
		// Unlocked: the loops' Detach takes s.mu.
		s.mu.Unlock()
		s.loop.Close()
		s.mu.Lock()
	}
	for c := range s.conns {
		c.Close()
	}
	m := s.metrics
	s.mu.Unlock()
	if m != nil {
		m.Close() // nothing to lose: scrapers retry
	}
	s.wg.Wait()
	s.trunk.mu.Lock()
	s.trunk.close(s)
	s.trunk.dropPeers()
	s.trunk.mu.Unlock()
	err := s.stats.save(s.store.distSnapshot())
	if berr := s.bl.Close(); err == nil {
		err = berr
	}
	if aerr := s.access.Close(); err == nil {
		err = aerr
	}
	if err == nil {
		// Every handler has returned: no temp file of ours is left.
		err = atomicfile.WriteFile(s.cleanMarkPath(), []byte("clean shutdown\n"), fileMode)
	}
	return err
}

// cleanMarkFile, in base_path/data, says the last run ended with Close:
// every upload had finished or removed its temp file. Upstream ignores it.
const cleanMarkFile = ".clean_shutdown"

func (s *Server) cleanMarkPath() string {
	return filepath.Join(s.cfg.BasePath, "data", cleanMarkFile)
}

// crashedBefore reports whether the last run may have left upload temp
// files behind (it did not end with Close), consuming the clean mark: a
// crash of this run must not find it. Walking every data directory costs
// seconds of I/O right at start (65,536 directories per store path).
func (s *Server) crashedBefore() bool {
	path := s.cleanMarkPath()
	if err := os.Remove(path); err != nil {
		// No mark: a crash, or the first start (nothing to sweep then).
		return !s.store.fresh
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		s.log.Warn("cannot make the removal of the clean shutdown mark durable: sweeping temp files", "err", err)
		return true
	}
	return false
}

func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	retry := backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// Resource exhaustion (EMFILE...): back off instead of spinning.
			pause := retry.Next()
			s.log.Warn("accept failed", "err", err, "retry_in", pause)
			if !backoff.Sleep(s.ctx, pause) {
				return
			}
			continue
		}
		retry.Reset()
		if !s.allow.Allows(c.RemoteAddr()) {
			s.log.Warn("peer not in allow_hosts, refusing", "peer", c.RemoteAddr().String())
			c.Close()
			continue
		}
		select {
		case s.connSem <- struct{}{}:
		default:
			s.log.Warn("max_connections reached, dropping client", "client", c.RemoteAddr().String())
			c.Close()
			continue
		}
		if !s.track(c, true) {
			c.Close()
			<-s.connSem
			return
		}
		s.wg.Add(1)
		s.stats.connOpened()
		go s.serveTracked(c, nil)
	}
}

// serveTracked serves a connection counted in connSem, stats and conns
// until it ends, then gives all three back. pending is what the event
// loop read from it (nil from acceptLoop).
func (s *Server) serveTracked(c net.Conn, pending []byte) {
	defer s.wg.Done()
	defer func() { <-s.connSem }()
	defer s.stats.connClosed()
	defer s.track(c, false)
	defer c.Close()
	defer func() {
		// A bug in one request must not take the server down.
		if r := recover(); r != nil {
			s.log.Error("panic serving client", "client", c.RemoteAddr().String(), "panic", r)
		}
	}()
	s.serveConn(c, pending)
}

// housekeeping persists storage_stat.dat every sync_stat_file_interval
// and fsyncs the binlog every sync_binlog_buff_interval (upstream flushes
// its binlog buffer then; ours reaches the kernel at each record, so this
// bounds what a power loss can take, not a crash).
func (s *Server) housekeeping() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SyncStatFileInterval)
	defer t.Stop()
	bt := time.NewTicker(s.cfg.SyncBinlogBuffInterval)
	defer bt.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.stats.save(s.store.distSnapshot()); err != nil {
				s.log.Warn("writing storage_stat.dat failed", "err", err)
			}
		case <-bt.C:
			if err := s.bl.Sync(); err != nil {
				s.log.Error("binlog fsync failed", "err", err)
			}
		}
	}
}

func (s *Server) dispatch(cc *conn, h protocol.Header) error {
	if s.rec.pending.Load() && changesFiles(h.Cmd) {
		return fmt.Errorf("cmd %d while a disk recovery refills a store path: %w", h.Cmd, protocol.ErrAgain)
	}
	switch h.Cmd {
	case protocol.CmdActiveTest:
		if h.Length != 0 {
			return fmt.Errorf("active test with body: %w", protocol.ErrInvalid)
		}
		if h.Status == protocol.PipelineProbe {
			// A peer of ours asking: pipelined requests are served
			// (the buffered reader takes them in turn).
			return protocol.WritePacket(cc, protocol.CmdResp, protocol.PipelineProbe, nil)
		}
		return cc.reply(nil)
	case protocol.CmdUploadFile:
		return s.handleUpload(cc, h, false)
	case protocol.CmdUploadAppenderFile:
		return s.handleUpload(cc, h, true)
	case protocol.CmdUploadSlaveFile:
		return s.handleUploadSlave(cc, h)
	case protocol.CmdDownloadFile:
		return s.handleDownload(cc, h)
	case protocol.CmdDeleteFile:
		return s.handleDelete(cc, h)
	case protocol.CmdSetMetadata:
		return s.handleSetMetadata(cc, h)
	case protocol.CmdGetMetadata:
		return s.handleGetMetadata(cc, h)
	case protocol.CmdQueryFileInfo:
		return s.handleQueryFileInfo(cc, h)
	case protocol.CmdAppendFile:
		return s.handleAppend(cc, h)
	case protocol.CmdModifyFile:
		return s.handleModify(cc, h)
	case protocol.CmdTruncateFile:
		return s.handleTruncate(cc, h)
	case protocol.CmdRegenerateAppenderFilename:
		return s.handleRegenerate(cc, h)
	case protocol.CmdFetchOnePathBinlog:
		return s.handleFetchOnePathBinlog(cc, h)
	case protocol.CmdListFiles:
		return s.handleListFiles(cc)
	case protocol.CmdScrub:
		return s.handleScrub(cc)
	}
	if handled, err := s.dispatchSync(cc, h); handled {
		return err
	}
	if handled, err := s.dispatchTrunk(cc, h); handled {
		return err
	}
	return fmt.Errorf("unsupported command %d: %w", h.Cmd, protocol.ErrInvalid)
}

// changesFiles says whether a client command changes stored files. While
// a disk recovery runs they are refused (EAGAIN), as upstream's storage,
// which recovers before it listens, refuses every connection: the
// trackers route none to a RECOVERY storage, but a client that goes to a
// file's source directly would change a file the recovery then overwrites
// with the peer's older copy (a metadata change, found by the soak).
func changesFiles(cmd byte) bool {
	switch cmd {
	case protocol.CmdUploadFile, protocol.CmdUploadAppenderFile, protocol.CmdUploadSlaveFile,
		protocol.CmdDeleteFile, protocol.CmdSetMetadata, protocol.CmdAppendFile, protocol.CmdModifyFile,
		protocol.CmdTruncateFile, protocol.CmdRegenerateAppenderFilename:
		return true
	}
	return false
}
