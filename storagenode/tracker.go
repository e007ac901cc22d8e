package storagenode

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/backoff"
)

// maxTrackerReply bounds tracker replies read by the storage (parameter
// lists, storage id lists and changelogs are all far below it).
const maxTrackerReply = 1 << 20

// trackerLoop keeps one tracker informed for the server's lifetime:
// a session (GET_MY_IP, PARAMETER_REQ, [ids], JOIN, beats...) that is
// re-established with exponential backoff whenever it fails.
func (s *Server) trackerLoop(addr string) {
	defer s.wg.Done()
	log := s.log.With("tracker", addr)
	retry := backoff.Backoff{Min: 500 * time.Millisecond, Max: s.cfg.HeartBeatInterval}
	for {
		err := s.trackerSession(addr)
		if s.ctx.Err() != nil {
			return
		}
		pause := retry.Next()
		log.Warn("tracker session ended, reconnecting", "err", err, "retry_in", pause)
		if !backoff.Sleep(s.ctx, pause) {
			return
		}
	}
}

// trackerConn is a connection to a tracker, bound for its whole life to
// the server's context: closing the server aborts a call blocked on it.
type trackerConn struct {
	*fdfsnet.Conn
	s       *Server
	release func() bool
}

// dialTracker connects to one tracker_server entry, "host:port" or a
// dual-IP "ip1,ip2:port" (tried in order), from bind_addr when
// client_bind is set.
func (s *Server) dialTracker(addr string) (*trackerConn, error) {
	c, err := s.dialer().Dial(s.ctx, addr)
	if err != nil {
		return nil, err
	}
	if !s.track(c.NetConn(), true) {
		c.Close()
		return nil, net.ErrClosed
	}
	return &trackerConn{Conn: c, s: s, release: c.Bind(s.ctx)}, nil
}

// close closes the connection.
func (c *trackerConn) close() {
	c.release()
	c.s.track(c.NetConn(), false)
	c.Close()
}

// call sends one request and reads its reply, each step within
// network_timeout.
func (c *trackerConn) call(cmd byte, body []byte) ([]byte, error) {
	return c.RoundTrip(cmd, body, maxTrackerReply)
}

// shortCall runs f on a connection of its own, then says QUIT.
func (s *Server) shortCall(addr string, f func(c *trackerConn) error) error {
	c, err := s.dialTracker(addr)
	if err != nil {
		return err
	}
	defer c.close()
	err = f(c)
	if err == nil {
		c.Send(protocol.CmdQuit, 0, nil, nil, 0)
	}
	return err
}

func (s *Server) trackerSession(addr string) error {
	// GET_MY_IP: the address the tracker sees us as (used in new file names).
	err := s.shortCall(addr, func(c *trackerConn) error {
		req := protocol.GetMyIPRequest{Group: s.cfg.GroupName, Port: int32(s.port())}
		b, err := c.call(protocol.CmdStorageGetMyIP, req.Encode())
		if err != nil {
			return fmt.Errorf("GET_MY_IP: %w", err)
		}
		ip := protocol.CString(b)
		s.myIP.Store(&ip)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.shortCall(addr, s.fetchParams); err != nil {
		return err
	}
	if err := s.reportIPChange(addr); err != nil {
		return err
	}
	if s.params.Load().UseStorageID {
		if err := s.shortCall(addr, s.fetchIDs); err != nil {
			return err
		}
	}
	c, err := s.dialTracker(addr)
	if err != nil {
		return err
	}
	defer c.close()
	host := addr[:strings.LastIndexByte(addr, ':')]
	host, _, _ = strings.Cut(host, ",")
	if err := s.join(c, host); err != nil {
		return err
	}
	held, err := s.holdRecovery(c)
	if err != nil {
		return err
	}
	if held {
		if err := s.recoveryHeld(c); err != nil {
			return err
		}
	}
	return s.beatLoop(c, addr)
}

// fetchParams asks PARAMETER_REQ for the cluster settings.
func (s *Server) fetchParams(c *trackerConn) error {
	b, err := c.call(protocol.CmdStorageParameterReq, nil)
	if err != nil {
		return fmt.Errorf("PARAMETER_REQ: %w", err)
	}
	ps, err := protocol.DecodeParams(b)
	if err != nil {
		return err
	}
	old := s.params.Load()
	p := *old
	p.UseStorageID = truthy(ps.Get("use_storage_id"))
	p.IDInFilename = ps.Get("id_type_in_filename") == "id"
	p.ResponseIPSize = protocol.IPv4AddrSize
	if ps.Get("response_ip_addr_size") == strconv.Itoa(protocol.IPv6AddrSize) {
		p.ResponseIPSize = protocol.IPv6AddrSize
	}
	mode, _ := strconv.Atoi(ps.Get("store_path"))
	p.StorePathMode = conf.StorePathMode(mode)
	if d, err := strconv.Atoi(ps.Get("storage_sync_file_max_delay")); err == nil && d > 0 {
		p.SyncFileMaxDelay = time.Duration(d) * time.Second
	}
	if r, err := conf.ParseReserved(ps.Get("reserved_storage_space")); err == nil {
		p.Reserved = r
	}
	p.IPChangedAutoAdjust = truthy(ps.Get("storage_ip_changed_auto_adjust"))
	p.Trunk = parseTrunkParams(ps)
	s.params.Store(&p)
	return nil
}

func truthy(v string) bool {
	b, err := conf.ParseBool(v)
	return err == nil && b
}

// fetchIDs loads storage_ids.conf from the tracker (FETCH_STORAGE_IDS,
// paged) and learns our own id (GET_SERVER_ID) in id mode.
func (s *Server) fetchIDs(c *trackerConn) error {
	ids := map[string][]string{}
	for start := int32(0); ; {
		req := protocol.FetchStorageIDsRequest{StartIndex: start}
		b, err := c.call(protocol.CmdStorageFetchStorageIDs, req.Encode())
		if err != nil {
			return fmt.Errorf("FETCH_STORAGE_IDS: %w", err)
		}
		r, err := protocol.DecodeStorageIDsReply(b)
		if err != nil {
			return err
		}
		for _, l := range r.Lines {
			f := strings.Fields(l)
			if len(f) < 3 {
				continue
			}
			hostPart := f[2]
			if i := strings.LastIndexByte(hostPart, ':'); i >= 0 && !strings.Contains(hostPart[i:], "]") && strings.Count(hostPart, ":") == 1 {
				hostPart = hostPart[:i]
			}
			ids[f[0]] = strings.Split(hostPart, ",")
		}
		start += int32(len(r.Lines))
		if len(r.Lines) == 0 || start >= r.Total {
			break
		}
	}
	p := *s.params.Load()
	p.StorageIDs = ids
	s.params.Store(&p)
	if s.cfg.ServerID != "" {
		return nil
	}
	ip, _, _ := strings.Cut(*s.myIP.Load(), ",")
	req := protocol.GroupAndAddr{Group: s.cfg.GroupName, Addr: protocol.FormatHostPort(ip, s.port())}
	b, err := c.call(protocol.CmdStorageGetServerID, req.Encode())
	if err != nil {
		return fmt.Errorf("GET_SERVER_ID: %w", err)
	}
	id := protocol.CString(b)
	s.myID.Store(&id)
	return nil
}

// join sends STORAGE_JOIN and, until the initial sync is done, tells the
// tracker the source of the initial sync (SYNC_NOTIFY), which the first
// session to get there asks its tracker for (SYNC_DEST_REQ).
func (s *Server) join(c *trackerConn, trackerHost string) error {
	flag := s.store.initFlag
	joinTime, _ := strconv.ParseInt(flag.get(flagJoinTime), 10, 64)
	done := flag.get(flagSyncOldDone) == flagDone
	status := s.joinStatus(done)
	req := protocol.JoinRequest{
		Group:              s.cfg.GroupName,
		StoragePort:        int64(s.port()),
		StorePathCount:     int64(len(s.cfg.StorePaths)),
		SubdirCountPerPath: int64(s.cfg.SubdirCountPerPath),
		UploadPriority:     int64(s.cfg.UploadPriority),
		JoinTime:           joinTime,
		UpTime:             s.start.Unix(),
		Version:            Version,
		InitFlag:           !done,
		Status:             status,
		StorageID:          s.idForTracker(),
		CurrentTrackerIP:   trackerHost,
		Trackers:           s.cfg.TrackerServers,
	}
	b, err := c.call(protocol.CmdStorageJoin, req.Encode())
	if err != nil {
		return fmt.Errorf("JOIN: %w", err)
	}
	resp, err := protocol.DecodeJoinResponse(b)
	if err != nil {
		return err
	}
	s.setStatus(resp.Status)
	if done {
		s.renotifySyncSource(c)
		return nil
	}
	// One tracker picks the source (SYNC_DEST_REQ), the others are told
	// (SYNC_NOTIFY), as upstream's reporter_thread_lock does: the sessions
	// with every tracker start together, and two trackers asked at once can
	// answer differently (one sees the other storages ACTIVE, the other not
	// yet), which left a tracker with a source nobody syncs from, the new
	// storage WAIT_SYNC there forever.
	d, err := s.lockSyncSource()
	if err != nil {
		return err
	}
	defer d.release()
	if !d.decided {
		if err := s.decideSyncSource(c, d); err != nil {
			return err
		}
	}
	// Also when another session decided "no source": this tracker, which
	// heard of us INIT, makes us ONLINE.
	body := protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: d.src, Until: d.until})
	if _, err := c.call(protocol.CmdStorageSyncNotify, body); err != nil {
		return fmt.Errorf("SYNC_NOTIFY: %w", err)
	}
	return nil
}

// decideSyncSource sets d to the source of this storage's initial sync:
// the one decided in an earlier run, or the one tracker c names now
// (SYNC_DEST_REQ), saved in the init flag file. Not from sync_old_done: a
// JOIN reply may set it from a stale record, as when the tracker still
// lists a storage that lost its data.
func (s *Server) decideSyncSource(c *trackerConn, d *syncSource) error {
	flag := s.store.initFlag
	d.src = flag.get(flagSyncSrcServer)
	d.until, _ = strconv.ParseInt(flag.get(flagSyncUntil), 10, 64)
	if d.src == "" {
		b, err := c.call(protocol.CmdStorageSyncDestReq, nil)
		if err != nil {
			return fmt.Errorf("SYNC_DEST_REQ: %w", err)
		}
		ss, err := protocol.DecodeSyncSource(b)
		if err != nil {
			return err
		}
		if ss != nil {
			d.src, d.until = ss.SrcID, ss.Until
		}
		flag.set(flagSyncSrcServer, d.src)
		flag.set(flagSyncUntil, strconv.FormatInt(d.until, 10))
		if d.src == "" {
			// Nobody to copy old files from: the initial sync is trivially done.
			flag.set(flagSyncOldDone, flagDone)
		}
		if err := flag.save(); err != nil {
			return err
		}
	}
	d.decided = true
	return nil
}

// renotifySyncSource tells a tracker, after a JOIN once the initial sync
// is done, the source it was decided with ("" for none), as upstream's
// reporter thread does after every JOIN: a tracker that heard of us INIT
// before another tracker's "nothing to copy" ended the initial sync keeps
// us INIT otherwise (a JOIN does not move an INIT storage). A refusal (a
// source since deleted) changes nothing here, as upstream.
func (s *Server) renotifySyncSource(c *trackerConn) {
	flag := s.store.initFlag
	until, _ := strconv.ParseInt(flag.get(flagSyncUntil), 10, 64)
	body := protocol.EncodeSyncSource(&protocol.SyncSource{SrcID: flag.get(flagSyncSrcServer), Until: until})
	if _, err := c.call(protocol.CmdStorageSyncNotify, body); err != nil {
		s.log.Debug("SYNC_NOTIFY after JOIN", "err", err)
	}
}

// syncSource is a server's initial-sync source as its tracker sessions
// decided it, one at a time (a one-slot semaphore). The server owns it
// (Server.syncSrc): it lives and goes with the server.
type syncSource struct {
	sem     chan struct{}
	decided bool // src and until hold the decision (src "" = none needed)
	src     string
	until   int64
}

func (d *syncSource) release() { <-d.sem }

// lockSyncSource takes the server's syncSource for one session; it returns
// an error when the server closes while waiting.
func (s *Server) lockSyncSource() (*syncSource, error) {
	d := &s.syncSrc
	select {
	case d.sem <- struct{}{}:
		return d, nil
	case <-s.ctx.Done():
		return nil, net.ErrClosed
	}
}

// joinStatus is the status field of JOIN: INIT (or WAIT_SYNC once a source
// is known) until the initial sync is done, afterwards the last status a
// tracker told us (ACTIVE if none yet, or if the last one was from before
// the initial sync ended: another tracker session may have just found
// that there was nothing to copy).
func (s *Server) joinStatus(syncDone bool) byte {
	if !syncDone {
		if s.store.initFlag.get(flagSyncSrcServer) != "" {
			return protocol.StatusWaitSync
		}
		return protocol.StatusInit
	}
	switch st := s.status.Load(); {
	case st == 0:
	case byte(st-1) == protocol.StatusInit, byte(st-1) == protocol.StatusWaitSync, byte(st-1) == protocol.StatusSyncing:
	default:
		return byte(st - 1)
	}
	return protocol.StatusActive
}

// setStatus records the status a tracker reported for us and completes the
// initial sync once the tracker considers us past it.
func (s *Server) setStatus(st byte) {
	s.status.Store(int32(st) + 1)
	switch st {
	case protocol.StatusOffline, protocol.StatusOnline, protocol.StatusActive:
		f := s.store.initFlag
		if f.get(flagSyncOldDone) != flagDone {
			f.set(flagSyncOldDone, flagDone)
			if err := f.save(); err != nil {
				s.log.Warn("writing .data_init_flag failed", "err", err)
			}
		}
	}
}

// idForTracker is the storage id sent in JOIN ("" in IP mode).
func (s *Server) idForTracker() string {
	if s.params.Load().UseStorageID {
		return *s.myID.Load()
	}
	return ""
}

// beatLoop beats every heart_beat_interval (with the stat block when the
// counters changed), asks for the changelog after each beat and reports
// disk usage every stat_report_interval, the first ones right away, and
// at once when the free space of a store path moved enough (space.go):
// the tracker must stop choosing a storage that cannot take more files
// without waiting up to a minute.
func (s *Server) beatLoop(c *trackerConn, addr string) error {
	beat := time.NewTicker(s.cfg.HeartBeatInterval)
	defer beat.Stop()
	disk := time.NewTicker(s.cfg.StatReportInterval)
	defer disk.Stop()
	spaceMoved, unwatch := s.store.watchSpace()
	defer unwatch()
	r := &reporter{s: s, c: c, addr: addr}
	if err := r.beat(); err != nil {
		return err
	}
	if err := r.disk(); err != nil {
		return err
	}
	for {
		var err error
		select {
		case <-s.ctx.Done():
			return net.ErrClosed
		case <-beat.C:
			if err = r.beat(); err == nil {
				err = r.syncReport()
			}
		case <-disk.C:
			err = r.disk()
		case <-spaceMoved:
			err = r.disk()
		}
		if err != nil {
			return err
		}
	}
}

// reporter is what beatLoop sends one tracker (addr, over c), and what it
// remembers of what it sent there.
type reporter struct {
	s          *Server
	c          *trackerConn
	addr       string
	lastSent   *protocol.StatBlock // the stat block last sent; nil: none yet
	reportSeen int64               // sync timestamps version last reported
}

// beat sends a heartbeat, with the stat block only when a counter
// changed since the last one sent, then asks for the changelog.
func (r *reporter) beat() error {
	cur := r.s.stats.snapshot()
	cur.LastHeartBeatTime = time.Now().Unix()
	var body []byte
	cmp := cur
	if r.lastSent != nil {
		cmp.LastHeartBeatTime = r.lastSent.LastHeartBeatTime
	}
	if r.lastSent == nil || cmp != *r.lastSent {
		body = cur.Encode()
		r.lastSent = &cur
	}
	b, err := r.c.call(protocol.CmdStorageBeat, body)
	if err != nil {
		return fmt.Errorf("BEAT: %w", err)
	}
	// The changelog first: a peer's address change must rename its
	// sync mark before the notice starts a worker for the new address.
	chg, err := r.c.call(protocol.CmdStorageChangelogReq, nil)
	if err != nil {
		return fmt.Errorf("CHANGELOG_REQ: %w", err)
	}
	r.s.applyChangelog(chg)
	r.s.applyNotice(r.addr, r.c, b)
	r.s.reportTrunk(r.c)
	return nil
}

// disk reports the store paths' disk usage.
func (r *reporter) disk() error {
	b, err := r.c.call(protocol.CmdStorageReportDiskUsage, protocol.EncodeDiskUsage(r.s.store.usage()))
	if err != nil {
		return fmt.Errorf("REPORT_DISK_USAGE: %w", err)
	}
	r.s.applyNotice(r.addr, r.c, b)
	return nil
}

// syncReport reports the peers' sync timestamps, when they moved since the
// last report.
func (r *reporter) syncReport() error {
	body, ver := r.s.repl.syncReport(r.reportSeen)
	if body == nil {
		return nil
	}
	b, err := r.c.call(protocol.CmdStorageSyncReport, body)
	if err != nil {
		return fmt.Errorf("SYNC_REPORT: %w", err)
	}
	r.reportSeen = ver
	r.s.applyNotice(r.addr, r.c, b)
	return nil
}

// applyNotice reads a change notification from tracker addr: a leader
// announcement, and the group list in which our own brief tells us our
// status. Only the leader fills notifications.
func (s *Server) applyNotice(addr string, c *trackerConn, b []byte) {
	n, err := protocol.DecodeChangeNotice(b)
	if err != nil {
		s.log.Debug("bad change notification", "err", err)
		return
	}
	if n.Flags&protocol.ChangeLeader != 0 {
		s.followLeader(addr, n.Leader)
	}
	if n.Flags&protocol.ChangeTrunk != 0 && s.params.Load().Trunk.Use {
		s.setTrunkServer(c, n.TrunkServer)
	}
	if n.Flags&protocol.ChangeGroup == 0 {
		return
	}
	id := s.idForTracker()
	ip, _, _ := strings.Cut(*s.myIP.Load(), ",")
	self := func(br protocol.Brief) bool {
		return id != "" && br.ID == id || id == "" && (br.IP == ip || br.ID == ip)
	}
	for _, br := range n.Storages {
		if self(br) {
			s.setStatus(br.Status)
			break
		}
	}
	s.repl.updatePeers(n.Storages, self)
}

// Status returns the status the trackers last reported for this storage
// (protocol.StatusNone if none has answered yet).
func (s *Server) Status() byte {
	if st := s.status.Load(); st != 0 {
		return byte(st - 1)
	}
	return protocol.StatusNone
}

// leaderView is the tracker leader as the beat replies announced it; the
// server owns it (Server.leader).
type leaderView struct {
	mu     sync.Mutex
	leader string // tracker_server entry of the leader, "" if unknown
}

func (s *Server) leaderView() *leaderView { return &s.leader }

// trackerEntry finds the tracker_server entry naming ip:port.
func (s *Server) trackerEntry(ip string, port int) (string, bool) {
	for _, t := range s.cfg.TrackerServers {
		i := strings.LastIndexByte(t, ':')
		if i < 0 || t[i+1:] != strconv.Itoa(port) {
			continue
		}
		for h := range strings.SplitSeq(t[:i], ",") {
			if strings.Trim(strings.TrimSpace(h), "[]") == ip {
				return t, true
			}
		}
	}
	return "", false
}

// followLeader records the leader announced by tracker from. When a second
// tracker announces itself while the previous leader still claims the
// role (split brain), both are told to re-elect
// (TRACKER_NOTIFY_RESELECT_LEADER) and the leader is unknown again.
func (s *Server) followLeader(from string, b protocol.Brief) {
	v := s.leaderView()
	if b.IP == "" {
		v.mu.Lock()
		v.leader = ""
		v.mu.Unlock()
		return
	}
	leader, ok := s.trackerEntry(b.IP, int(b.Port))
	if !ok {
		s.log.Warn("announced tracker leader is not in tracker_server", "tracker", from, "leader", protocol.FormatHostPort(b.IP, int(b.Port)))
		return
	}
	v.mu.Lock()
	old := v.leader
	v.mu.Unlock()
	if old != "" && old != leader && s.claimsLeadership(old) {
		s.log.Warn("two tracker leaders, asking both to re-elect", "old", old, "new", leader)
		for _, t := range []string{old, leader} {
			if err := s.shortCall(t, func(c *trackerConn) error {
				_, err := c.call(protocol.CmdTrackerNotifyReselectLead, nil)
				return err
			}); err != nil {
				s.log.Warn("TRACKER_NOTIFY_RESELECT_LEADER failed", "tracker", t, "err", err)
			}
		}
		leader = ""
	} else if old != leader {
		s.log.Info("tracker leader", "leader", leader)
	}
	v.mu.Lock()
	v.leader = leader
	v.mu.Unlock()
}

// claimsLeadership asks tracker addr whether it is the leader
// (TRACKER_GET_STATUS); an unreachable tracker does not claim anything.
func (s *Server) claimsLeadership(addr string) bool {
	var leader bool
	s.shortCall(addr, func(c *trackerConn) error {
		b, err := c.call(protocol.CmdTrackerGetStatus, nil)
		if err != nil {
			return err
		}
		st, err := protocol.DecodeTrackerStatus(b)
		if err != nil {
			return err
		}
		leader = st.IsLeader
		return nil
	})
	return leader
}
