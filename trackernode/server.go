package trackernode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/allowhosts"
	"github.com/fdfsgo/fdfs/internal/backoff"
	"github.com/fdfsgo/fdfs/internal/connstate"
	"github.com/fdfsgo/fdfs/internal/daemonmetrics"
	"github.com/fdfsgo/fdfs/internal/evloop"
	"github.com/fdfsgo/fdfs/internal/mounts"
	"github.com/fdfsgo/fdfs/internal/prebind"
	"github.com/fdfsgo/fdfs/internal/tcpopt"
)

// Version is the version string the tracker reports (cluster stat).
const Version = "6.16.1"

const (
	defaultMaxBody = 128 << 10 // bytes; request bodies are small records
	// maxChangelogChunk bounds one CHANGELOG_REQ reply, as upstream's
	// TRACKER_MAX_PACKAGE_SIZE (8 KB) minus the header.
	maxChangelogChunk = 8<<10 - protocol.HeaderSize
	// maxStorageIDsReply bounds one FETCH_STORAGE_IDS reply in bytes.
	maxStorageIDsReply = 8<<10 - protocol.HeaderSize
	// saveInterval bounds how long report-only changes (disk usage, sync
	// timestamps, counters) stay unsaved.
	saveInterval = 10 * time.Second
)

// Server is a FastDFS tracker.
type Server struct {
	cfg     *conf.Tracker
	log     *slog.Logger
	now     func() time.Time // clock of every cluster decision; tests replace it
	ids     *conf.StorageIDs // storage_ids.conf in id mode, else nil
	ipSize  int              // response IP size: protocol.IPv4AddrSize or IPv6AddrSize
	dataDir string
	maxBody int64
	allow   *allowhosts.List // allow_hosts; nil = everybody

	ln       net.Listener
	loop     *evloop.Server // nil where acceptLoop serves ln
	sem      chan struct{}  // one slot per connection (max_connections)
	saveCh   chan struct{}  // wakes the saver (capacity 1)
	peak     atomic.Int32   // most connections served at once
	done     chan struct{}
	wg       sync.WaitGroup
	connMu   sync.Mutex
	conns    map[net.Conn]struct{}
	served   map[*conn]struct{} // connections Shutdown waits for (shutdown.go)
	draining atomic.Bool        // set by Shutdown
	closeErr error
	once     sync.Once

	mu              sync.Mutex // guards everything below
	groups          map[string]*group
	leaderChg       int64 // bumped when the leader changes; connections remember what they saw
	trunkChgAll     int64 // bumped when a group's trunk server changes (ping replies to followers)
	leaderAddr      string
	startTime       time.Time
	restartInterval int64 // seconds the tracker was down before this start
	changelogSize   int64
	storeGroupRR    int // round-robin cursor over groups (store_lookup=0)
	dirty           bool
	rel             relation // tracker cluster and leader (leader.go)

	reqs    *daemonmetrics.Requests // per-command counts and latencies (metrics.go)
	metrics *daemonmetrics.Server   // metrics_listen, nil when off; set by Start

	sysMu       sync.Mutex // serializes the sys-file check of the first JOINs
	sysChecked  bool       // guarded by sysMu
	sysAttempts int        // failed copies, guarded by sysMu
}

// New validates cfg, loads storage_ids.conf (id mode) and the persisted
// cluster map. It does not listen yet.
func New(cfg *conf.Tracker, log *slog.Logger) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("trackernode: nil config")
	}
	if cfg.BasePath == "" {
		return nil, conf.KeyError(cfg.Raw, "base_path", "not set", "an absolute directory")
	}
	if err := mounts.Check(cfg.BasePath); err != nil {
		// Started now, the tracker would begin with an empty cluster map
		// on the root file system.
		return nil, fmt.Errorf("trackernode: base_path %w", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		now:       time.Now,
		ipSize:    protocol.IPv4AddrSize,
		dataDir:   filepath.Join(cfg.BasePath, "data"),
		maxBody:   defaultMaxBody,
		done:      make(chan struct{}),
		saveCh:    make(chan struct{}, 1),
		conns:     map[net.Conn]struct{}{},
		served:    map[*conn]struct{}{},
		groups:    map[string]*group{},
		leaderChg: 1,
		startTime: time.Now(),
		rel:       relation{kick: make(chan struct{}, 1)},
		reqs:      daemonmetrics.NewRequests("tracker"),
	}
	if cfg.MaxBuffSize > protocol.HeaderSize {
		s.maxBody = cfg.MaxBuffSize - protocol.HeaderSize
	}
	n := cfg.MaxConnections
	if n <= 0 {
		n = 256
	}
	s.sem = make(chan struct{}, n)
	if cfg.UseStorageID {
		ids, err := conf.LoadStorageIDs(cfg.StorageIDsFilename)
		if err != nil {
			return nil, fmt.Errorf("storage ids: %w", err)
		}
		s.ids = ids
	}
	switch cfg.ResponseIPAddrSize {
	case "IPv6", "ipv6":
		s.ipSize = protocol.IPv6AddrSize
	case "IPv4", "ipv4":
	default:
		if s.ids != nil && s.ids.HasIPv6() {
			s.ipSize = protocol.IPv6AddrSize
		}
	}
	allow, err := allowhosts.Parse(cfg.AllowHosts)
	if err != nil {
		return nil, err
	}
	s.allow = allow
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("load tracker data: %w", err)
	}
	return s, nil
}

// Start binds cfg.BindAddr:cfg.Port (port 0 = ephemeral) and serves in the
// background.
func (s *Server) Start() error {
	ln, err := prebind.Listen(serviceAddr(s.cfg))
	if err != nil {
		return err
	}
	if err := s.startMetrics(); err != nil {
		ln.Close()
		return err
	}
	s.ln = ln
	s.mu.Lock()
	s.leaderAddr = s.selfAddr(ln.Addr())
	s.mu.Unlock()
	s.loop, err = evloop.New(evloop.Config{Listener: ln.(*net.TCPListener), WorkThreads: s.cfg.WorkThreads,
		Idle: 2 * s.networkTimeout(), Handler: loopHandler{s}, Log: s.log})
	if err != nil {
		ln.Close()
		if s.metrics != nil {
			s.metrics.Close()
		}
		return err
	}
	if s.loop == nil {
		s.wg.Add(1)
		go s.acceptLoop()
	}
	s.wg.Add(3)
	go s.checkLoop()
	go s.saverLoop()
	go s.relationshipLoop()
	s.log.Info("tracker started", "addr", ln.Addr().String(), "use_storage_id", s.cfg.UseStorageID)
	return nil
}

// selfAddr is this tracker's "ip:port" as announced to storages and
// clients. With a wildcard bind it is resolved per connection instead.
func (s *Server) selfAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta.IP.IsUnspecified() {
		return ""
	}
	return protocol.FormatHostPort(ta.IP.String(), ta.Port)
}

// Addr returns the bound "ip:port".
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting, closes every connection, waits for the handlers
// and persists the cluster map.
func (s *Server) Close() error {
	s.once.Do(func() {
		close(s.done)
		if s.ln != nil {
			s.ln.Close()
		}
		if s.loop != nil {
			s.loop.Close() // before the conns: it may still detach one
		}
		s.connMu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.connMu.Unlock()
		if s.metrics != nil {
			s.metrics.Close() // nothing to lose: scrapers retry
		}
		s.wg.Wait()
		s.closeErr = s.flush()
	})
	return s.closeErr
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	retry := backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.stopping() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Resource exhaustion (EMFILE...): back off instead of spinning.
			pause := retry.Next()
			s.log.Error("accept failed", "err", err, "retry_in", pause)
			time.Sleep(pause)
			continue
		}
		retry.Reset()
		if !s.allow.Allows(c.RemoteAddr()) {
			s.log.Warn("peer not in allow_hosts, refusing", "peer", c.RemoteAddr().String())
			c.Close()
			continue
		}
		select {
		case s.sem <- struct{}{}:
			if n := int32(len(s.sem)); n > s.peak.Load() {
				s.peak.Store(n) // only this goroutine writes
			}
		default:
			s.log.Warn("max_connections reached, refusing", "peer", c.RemoteAddr().String())
			c.Close()
			continue
		}
		s.connMu.Lock()
		select {
		case <-s.done:
			s.connMu.Unlock()
			c.Close()
			<-s.sem
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c, nil)
	}
}

// networkTimeout is network_timeout (30 s when unset).
func (s *Server) networkTimeout() time.Duration {
	if t := s.cfg.NetworkTimeout; t > 0 {
		return t
	}
	return 30 * time.Second
}

// activeInterval is check_active_interval (100 s when unset).
func (s *Server) activeInterval() time.Duration {
	if iv := s.cfg.CheckActiveInterval; iv > 0 {
		return iv
	}
	return 100 * time.Second
}

// checkLoop turns ACTIVE storages whose last beat is older than
// check_active_interval OFFLINE, and saves counters and sync timestamps
// changed by reports every saveInterval.
func (s *Server) checkLoop() {
	defer s.wg.Done()
	iv := s.activeInterval()
	tick := min(iv/2, probeInterval)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastSave := time.Now()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			s.expire(s.now(), iv)
			s.nudgeWaitSync(s.now().Unix())
			s.probeRestored()
			s.checkTrunkServers()
			if time.Since(lastSave) >= saveInterval {
				s.saveLogged()
				lastSave = time.Now()
			}
			s.mu.Unlock()
		}
	}
}

func (s *Server) expire(now time.Time, iv time.Duration) {
	deadline := now.Add(-iv).Unix()
	changed := false
	for _, g := range s.groups {
		for _, st := range g.sorted {
			if st.active() && st.stat.LastHeartBeatTime < deadline {
				s.log.Warn("storage missed its beats, now OFFLINE", "group", g.name, "id", st.id)
				s.setStatus(st, protocol.StatusOffline)
				changed = true
			}
		}
	}
	if changed {
		s.saveLogged()
	}
}

// conn is the per-connection state.
type conn struct {
	c         net.Conn
	r         *bufio.Reader
	peerIP    string
	self      string       // this tracker's "ip:port" as seen on this connection
	st        *storage     // storage joined on this connection, nil before JOIN
	leaderChg int64        // Server.leaderChg last announced on this connection
	trunkSent int64        // Server.trunkChgAll last sent on this follower's connection
	sys       *sysSnapshot // sys files frozen by TRACKER_GET_SYS_FILES_START
	// closedByUs: the connection ended because Close closed it, not
	// because the peer left.
	closedByUs bool
	state      connstate.State // idle, busy or dropped (shutdown.go)
}

// serveConn serves c on this goroutine until it closes; pending is what
// the event loop had read from it (nil from acceptLoop).
func (s *Server) serveConn(c net.Conn, pending []byte) {
	defer s.wg.Done()
	defer func() { <-s.sem }()
	var r io.Reader = c
	if len(pending) > 0 {
		r = io.MultiReader(bytes.NewReader(pending), c)
	}
	cs := &conn{c: c, r: bufio.NewReaderSize(r, 4096)}
	s.serving(cs, true)
	defer s.serving(cs, false)
	s.setConnAddrs(cs)
	defer s.hangUp(cs)
	s.serveRequests(cs)
}

// setConnAddrs sets cs's peer IP and this tracker's "ip:port" as seen on
// cs: the bound address, or with a wildcard bind the connection's local
// one.
func (s *Server) setConnAddrs(cs *conn) {
	if ta, ok := cs.c.RemoteAddr().(*net.TCPAddr); ok {
		cs.peerIP = ta.IP.String()
	}
	s.mu.Lock()
	cs.self = s.leaderAddr
	s.mu.Unlock()
	if cs.self == "" {
		if ta, ok := cs.c.LocalAddr().(*net.TCPAddr); ok {
			cs.self = protocol.FormatHostPort(ta.IP.String(), ta.Port)
		}
	}
}

// hangUp closes cs once serveConn is done with it: disconnected updates
// the storage joined on it, its sys-file lock is released and Close no
// longer tracks it.
func (s *Server) hangUp(cs *conn) {
	cs.c.Close()
	s.disconnected(cs)
	s.releaseSysLock(cs)
	s.connMu.Lock()
	delete(s.conns, cs.c)
	s.connMu.Unlock()
}

// serveRequests reads and answers requests on cs until the peer leaves,
// a request fails in a way that leaves the connection unusable, or the
// server stops.
func (s *Server) serveRequests(cs *conn) {
	timeout := s.networkTimeout()
	// The deadline bounds the wait for a request, two network timeouts
	// (idle storage connections beat every heart_beat_interval; upstream's
	// task timer allows as much), and then the request's body and reply,
	// with at least one network timeout left once its header is in. It is
	// set again only when that would no longer hold: a deadline change
	// (a timer update under a lock, ~150 ns) costs more than parsing a
	// query, and back-to-back queries made three each.
	var deadline time.Time
	renew := func(least time.Duration) {
		if now := time.Now(); deadline.Sub(now) < least {
			deadline = now.Add(2 * timeout)
			cs.c.SetDeadline(deadline)
		}
	}
	for {
		renew(2*timeout - timeout/4)
		h, err := protocol.ReadHeader(cs.r)
		if err != nil {
			cs.closedByUs = errors.Is(err, net.ErrClosed)
			if !errors.Is(err, io.EOF) && !cs.closedByUs {
				s.log.Debug("read header", "peer", cs.peerIP, "err", err)
			}
			return
		}
		if !cs.startRequest() {
			cs.closedByUs = true
			return
		}
		renew(timeout)
		if h.Length > int64(cs.r.Buffered()) {
			// Clients that write the body after the header with Nagle on
			// wait for our ACK of the header (internal/tcpopt).
			tcpopt.QuickAck(cs.c)
		}
		body, err := protocol.ReadBody(cs.r, h, s.maxBody)
		if err != nil {
			// The unread body is still on the wire: answer and drop.
			s.log.Warn("bad request body", "peer", cs.peerIP, "cmd", h.Cmd, "len", h.Length, "err", err)
			protocol.WriteError(cs.c, err)
			return
		}
		if h.Cmd == protocol.CmdQuit {
			return
		}
		if !s.respond(cs, h.Cmd, body) {
			return
		}
		if !s.endRequest(cs) {
			cs.closedByUs = true
			return
		}
	}
}

// respond answers one request on cs and counts it in the metrics; false
// when the connection must close (errClose, or the answer could not be
// written).
func (s *Server) respond(cs *conn, cmd byte, body []byte) bool {
	began := time.Now()
	resp, err := s.dispatch(cs, cmd, body)
	s.reqs.Observe(cmd, protocol.StatusOf(err), time.Since(began))
	if err != nil {
		if errors.Is(err, errClose) {
			return false
		}
		s.log.Debug("request failed", "peer", cs.peerIP, "cmd", cmd, "err", err)
		return protocol.WriteError(cs.c, err) == nil
	}
	return protocol.WriteResponse(cs.c, resp) == nil
}

// stateless reports the commands answered from the cluster map alone,
// with nothing of the connection they came on: what a client sends for
// every file (where to store it, where to read or change it), the
// connection test, and the reads clients and tools make of the map
// (listings, parameters, storage ids; fastdfs-client-java fetches the
// storage ids on every new tracker connection). The event loop answers
// them (loop.go); any other command moves the connection to serveConn.
func stateless(cmd byte) bool {
	switch cmd {
	case protocol.CmdActiveTest,
		protocol.CmdQueryStoreWithoutGroupOne, protocol.CmdQueryStoreWithGroupOne,
		protocol.CmdQueryStoreWithoutGroupAll, protocol.CmdQueryStoreWithGroupAll,
		protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate, protocol.CmdQueryFetchAll,
		protocol.CmdServerListOneGroup, protocol.CmdServerListAllGroups, protocol.CmdServerListStorage,
		protocol.CmdServerStorageClusterStat, protocol.CmdServerStorageVolumeStat,
		protocol.CmdStorageParameterReq, protocol.CmdStorageFetchStorageIDs, protocol.CmdStorageGetServerID:
		return true
	}
	return false
}

// answer answers a command stateless reports.
func (s *Server) answer(cmd byte, body []byte) ([]byte, error) {
	switch cmd {
	case protocol.CmdActiveTest:
		return nil, nil
	case protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate, protocol.CmdQueryFetchAll:
		return s.queryFetch(cmd, body)
	case protocol.CmdServerListOneGroup:
		return s.listOneGroup(body)
	case protocol.CmdServerListAllGroups:
		return s.listAllGroups(body)
	case protocol.CmdServerListStorage:
		return s.listStorage(body)
	case protocol.CmdServerStorageClusterStat:
		return s.storageClusterStat(body)
	case protocol.CmdServerStorageVolumeStat:
		return s.volumeStat(body)
	case protocol.CmdStorageParameterReq:
		return s.parameters(body)
	case protocol.CmdStorageFetchStorageIDs:
		return s.fetchStorageIDs(body)
	case protocol.CmdStorageGetServerID:
		return s.getServerID(body)
	}
	return s.queryStore(cmd, body)
}

// errClose makes serveConn drop the connection without answering.
var errClose = errors.New("close connection")

// disconnected marks a storage whose joined connection ended OFFLINE, as
// upstream does when the storage's long connection closes.
func (s *Server) disconnected(cs *conn) {
	if cs.st == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cs.st
	if st.group.storages[st.id] != st || st.owner != cs {
		return // deleted meanwhile, or rejoined on another connection
	}
	if cs.closedByUs {
		// We are stopping, not the storage: it stays ACTIVE in the saved
		// map, so a quick restart serves at once (restoredStatus).
		return
	}
	st.owner = nil
	if st.status == protocol.StatusActive || st.status == protocol.StatusOnline {
		s.setStatus(st, protocol.StatusOffline)
		s.saveLogged()
	}
}

// dispatch answers one request. Peer commands are checked first
// (checkPeerCmd: only known trackers may elect or copy sys files); the
// commands a storage sends on its joined connection come after the check
// for JOIN, since they update the storage the connection joined as, and
// upstream answers them EACCES before it.
func (s *Server) dispatch(cs *conn, cmd byte, body []byte) ([]byte, error) {
	if err := s.checkPeerCmd(cs, cmd); err != nil {
		return nil, err
	}
	if stateless(cmd) {
		return s.answer(cmd, body)
	}
	switch cmd {
	case protocol.CmdServerDeleteStorage:
		return s.deleteStorage(body)
	case protocol.CmdServerDeleteGroup:
		return s.deleteGroup(body)
	case protocol.CmdServerSetTrunkServer:
		return s.setTrunkServerCmd(body)
	case protocol.CmdServerDrainStorage:
		return s.serverDrainStorage(body)
	case protocol.CmdServerGetLeader:
		return s.serverGetLeader(cs, body)
	case protocol.CmdServerTrackerClusterStat:
		return s.trackerClusterStat(cs, body)
	case protocol.CmdTrackerGetStatus:
		return s.trackerGetStatus(body)
	case protocol.CmdTrackerNotifyReselectLead:
		return s.reselectLeader(cs, body)
	case protocol.CmdTrackerJoinLeader, protocol.CmdTrackerPingLeader:
		return s.followerCheckIn(cs, cmd, body)
	case protocol.CmdTrackerNotifyNextLeader:
		return s.notifyNextLeader(body)
	case protocol.CmdTrackerCommitNextLeader:
		return s.commitNextLeader(body)
	case protocol.CmdTrackerGetSysFilesStart:
		return s.sysFilesStart(cs, body)
	case protocol.CmdTrackerGetSysFilesEnd:
		return s.sysFilesEnd(cs, body)
	case protocol.CmdTrackerGetOneSysFile:
		return s.sysFileChunk(cs, body)

	case protocol.CmdStorageGetMyIP:
		return s.getMyIP(cs, body)
	case protocol.CmdStorageGetGroupName:
		return s.getGroupName(cs, body)
	case protocol.CmdStorageJoin:
		return s.join(cs, body)
	case protocol.CmdStorageSyncSrcReq:
		return s.syncSrcReq(body)
	case protocol.CmdStorageReportStatus:
		return s.reportStatus(body)
	case protocol.CmdStorageGetStatus:
		return s.getStatus(body)
	case protocol.CmdStorageChangelogReq:
		return s.changelog(cs, body)
	case protocol.CmdStorageReportIPChanged:
		return s.reportIPChanged(cs, body)
	}
	if cs.st == nil {
		switch cmd {
		case protocol.CmdStorageBeat, protocol.CmdStorageReportDiskUsage, protocol.CmdStorageSyncReport,
			protocol.CmdStorageSyncDestReq, protocol.CmdStorageSyncNotify, protocol.CmdStorageSyncDestQuery,
			protocol.CmdStorageReplicaChg, protocol.CmdStorageChangeStatus, protocol.CmdStorageFetchTrunkFID,
			protocol.CmdStorageReportTrunkFID, protocol.CmdStorageReportTrunkFree:
			return nil, fmt.Errorf("cmd %d before JOIN: %w", cmd, protocol.ErrAccess)
		}
	}
	switch cmd {
	case protocol.CmdStorageBeat:
		return s.beat(cs, body)
	case protocol.CmdStorageReportDiskUsage:
		return s.diskUsage(cs, body)
	case protocol.CmdStorageSyncReport:
		return s.syncReport(cs, body)
	case protocol.CmdStorageSyncDestReq:
		return s.syncDestReq(cs, body)
	case protocol.CmdStorageSyncNotify:
		return s.syncNotify(cs, body)
	case protocol.CmdStorageSyncDestQuery:
		return s.syncDestQuery(cs, body)
	case protocol.CmdStorageReplicaChg:
		if _, err := protocol.DecodeBriefs(body); err != nil {
			return nil, err
		}
		return nil, nil // the leader already knows; followers would merge
	case protocol.CmdStorageChangeStatus:
		return s.changeStatus(cs, body)
	case protocol.CmdStorageFetchTrunkFID:
		return s.fetchTrunkFID(cs, body)
	case protocol.CmdStorageReportTrunkFID:
		return s.reportTrunkFID(cs, body)
	case protocol.CmdStorageReportTrunkFree:
		return s.reportTrunkFree(cs, body)
	}
	return nil, fmt.Errorf("unknown tracker cmd %d: %w", cmd, protocol.ErrInvalid)
}
