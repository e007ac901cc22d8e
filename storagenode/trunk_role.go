package storagenode

// The storage's part in trunk storage (use_trunk_file): the tracker's
// trunk parameters, who the group's trunk server is (beat replies), and
// when that is this storage, the allocator of the group's trunk space
// (storagenode/trunk) and its scheduled jobs. Other storages allocate
// through the trunk server (TRUNK_ALLOC_SPACE 27, ALLOC_CONFIRM 28,
// FREE_SPACE 29).

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// trunkParams are the tracker's trunk settings (PARAMETER_REQ).
type trunkParams struct {
	Use                                bool
	SlotMin, SlotMax, Align, FileSize  int64 // bytes
	CreateAdvance                      bool
	CreateTimeBase                     string // HH:MM
	CreateInterval                     time.Duration
	CreateThreshold                    int64 // bytes
	CheckOccupying, ReloadFromBinlog   bool
	Merge, DeleteUnused                bool
	CompressMinInterval, CompressEvery time.Duration
	CompressTimeBase                   string // HH:MM
	MaxBackups                         int
}

// parseTrunkParams reads the trunk keys of a PARAMETER_REQ reply, with
// upstream's defaults for missing ones.
func parseTrunkParams(ps protocol.Params) trunkParams {
	num := func(k string, def int64) int64 {
		if v, err := strconv.ParseInt(ps.Get(k), 10, 64); err == nil {
			return v
		}
		return def
	}
	secs := func(k string, def int64) time.Duration { return time.Duration(num(k, def)) * time.Second }
	str := func(k, def string) string {
		if v := ps.Get(k); v != "" {
			return v
		}
		return def
	}
	return trunkParams{
		Use: truthy(ps.Get("use_trunk_file")), SlotMin: num("slot_min_size", 256), SlotMax: num("slot_max_size", 1<<20),
		Align: num("trunk_alloc_alignment_size", 256), FileSize: num("trunk_file_size", 64<<20),
		CreateAdvance: truthy(ps.Get("trunk_create_file_advance")), CreateTimeBase: str("trunk_create_file_time_base", "02:00"),
		CreateInterval: secs("trunk_create_file_interval", 86400), CreateThreshold: num("trunk_create_file_space_threshold", 0),
		CheckOccupying: truthy(ps.Get("trunk_init_check_occupying")), ReloadFromBinlog: truthy(ps.Get("trunk_init_reload_from_binlog")),
		Merge: truthy(ps.Get("trunk_free_space_merge")), DeleteUnused: truthy(ps.Get("delete_unused_trunk_files")),
		CompressMinInterval: secs("trunk_compress_binlog_min_interval", 0), CompressEvery: secs("trunk_compress_binlog_interval", 0),
		CompressTimeBase: str("trunk_compress_binlog_time_base", "03:00"), MaxBackups: int(num("trunk_binlog_max_backups", 0)),
	}
}

// trunkRole is what this storage knows of the group's trunk server.
type trunkRole struct {
	mu     sync.Mutex
	server string // the trunk server's "ip:port", "" if none is known
	self   bool
	alloc  *trunk.Allocator // when self, once loaded
	stop   context.CancelFunc
	peers  []*peerConn // idle connections to a remote trunk server
}

// errNoTrunkServer is upstream's answer while no trunk server is known or
// ready: the client may try again.
var errNoTrunkServer = fmt.Errorf("no trunk server: %w", protocol.ErrAgain)

// setTrunkServer applies a beat reply's trunk server brief: this storage
// becomes (or stops being) the group's trunk server.
func (s *Server) setTrunkServer(c *trackerConn, br protocol.Brief) {
	addr := ""
	if br.IP != "" {
		addr = protocol.FormatHostPort(br.IP, int(br.Port))
	}
	id := s.idForTracker()
	ip, _, _ := strings.Cut(*s.myIP.Load(), ",")
	self := br.IP != "" && (id != "" && br.ID == id || id == "" && (br.IP == ip || br.ID == ip)) && int(br.Port) == s.port()
	tr := &s.trunk
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.server == addr && tr.self == self {
		return
	}
	s.log.Info("trunk server changed", "trunk_server", addr, "self", self)
	tr.server, tr.self = addr, self
	tr.dropPeers()
	if !self {
		tr.close(s)
		return
	}
	if tr.alloc == nil {
		if err := tr.open(s, c); err != nil {
			s.log.Error("trunk allocator not loaded: uploads into trunks fail until it is", "err", err)
		}
	}
}

// open loads the allocator and starts the scheduled jobs; tr.mu held.
func (tr *trunkRole) open(s *Server, c *trackerConn) error {
	p := s.params.Load().Trunk
	s.syncTrunkFID(c)
	a, err := trunk.Load(trunk.Config{
		StorePaths: s.store.paths, BasePath: s.cfg.BasePath,
		SlotMinSize: p.SlotMin, SlotMaxSize: p.SlotMax, AlignSize: p.Align, TrunkFileSize: p.FileSize,
		Merge: p.Merge, DeleteUnused: p.DeleteUnused, CheckOccupying: p.CheckOccupying,
		ReloadFromBinlog: p.ReloadFromBinlog, BinlogMaxBackups: p.MaxBackups,
		NextID: s.nextTrunkFID, Dir: s.trunkDir, Staging: s.staging, Log: s.log.With("component", "trunk"),
	})
	if err != nil {
		return err
	}
	tr.alloc = a
	s.saveTrunk(a, p)
	ctx, cancel := context.WithCancel(s.ctx)
	tr.stop = cancel
	s.wg.Add(2)
	go s.trunkJobs(ctx, a, p)
	go s.trunkPush(ctx, a)
	return nil
}

// close saves and closes the allocator; tr.mu held.
func (tr *trunkRole) close(s *Server) {
	if tr.alloc == nil {
		return
	}
	tr.stop()
	s.saveTrunk(tr.alloc, s.params.Load().Trunk)
	if err := tr.alloc.Close(); err != nil {
		s.log.Warn("closing the trunk binlog failed", "err", err)
	}
	tr.alloc = nil
}

func (tr *trunkRole) dropPeers() {
	for _, pc := range tr.peers {
		pc.hangUp()
	}
	tr.peers = nil
}

// saveTrunk saves the free space when the trunk server starts and stops,
// as upstream's storage_trunk_save: a compression of the binlog instead
// when trunk_compress_binlog_min_interval is set and has passed since the
// last one.
func (s *Server) saveTrunk(a *trunk.Allocator, p trunkParams) {
	f := s.store.initFlag
	last, _ := strconv.ParseInt(f.get(flagTrunkLastCompress), 10, 64)
	if p.CompressMinInterval <= 0 || time.Since(time.Unix(last, 0)) <= p.CompressMinInterval {
		if err := a.Save(); err != nil {
			s.log.Warn("saving the trunk free space failed", "err", err)
		}
		return
	}
	s.compressTrunk(a)
}

// compressTrunk compresses the trunk binlog and records when.
func (s *Server) compressTrunk(a *trunk.Allocator) {
	if err := a.Compress(); err != nil {
		s.log.Warn("trunk binlog compression failed", "err", err)
		return
	}
	f := s.store.initFlag
	f.set(flagTrunkLastCompress, strconv.FormatInt(time.Now().Unix(), 10))
	if err := f.save(); err != nil {
		s.log.Warn("saving trunk_last_compress_time failed", "err", err)
	}
}

// trunkDir picks a new trunk file's data directory as a file's is picked.
func (s *Server) trunkDir(_ int, id uint32) (int, int) {
	return s.store.nextDir(trunk.FileName(id))
}

// nextTrunkFID returns current_trunk_file_id + 1, saved first in
// .data_init_flag, and reports it to the trackers.
func (s *Server) nextTrunkFID() (uint32, error) {
	f := s.store.initFlag
	cur, _ := strconv.ParseInt(f.get(flagCurrentTrunkFileID), 10, 64)
	next := uint32(cur + 1)
	f.set(flagCurrentTrunkFileID, strconv.FormatUint(uint64(next), 10))
	if err := f.save(); err != nil {
		return 0, fmt.Errorf("saving current_trunk_file_id: %w", err)
	}
	return next, nil
}

// syncTrunkFID raises current_trunk_file_id to the tracker's (a new trunk
// server continues after the ids its predecessor used).
func (s *Server) syncTrunkFID(c *trackerConn) {
	b, err := c.call(protocol.CmdStorageFetchTrunkFID, nil)
	if err == nil && len(b) != 4 {
		err = fmt.Errorf("trunk fid reply of %d bytes: %w", len(b), protocol.ErrInvalid)
	}
	if err != nil {
		s.log.Warn("fetching the current trunk file id from the tracker failed", "err", err)
		return
	}
	id := int64(int32(binary.BigEndian.Uint32(b)))
	f := s.store.initFlag
	if cur, _ := strconv.ParseInt(f.get(flagCurrentTrunkFileID), 10, 64); id > cur {
		f.set(flagCurrentTrunkFileID, strconv.FormatInt(id, 10))
		if err := f.save(); err != nil {
			s.log.Warn("saving current_trunk_file_id failed", "err", err)
		}
	}
}

// reportTrunk tells the tracker, as the trunk server, the current trunk
// file id and the free trunk space (REPORT_TRUNK_FID 73, REPORT_TRUNK_FREE
// 74) with every beat. A tracker that disagrees (not the trunk server in
// its view) answers EINVAL, which changes nothing here.
func (s *Server) reportTrunk(c *trackerConn) {
	a, self := s.localTrunk()
	if !self || a == nil {
		return
	}
	cur, _ := strconv.ParseInt(s.store.initFlag.get(flagCurrentTrunkFileID), 10, 64)
	if _, err := c.call(protocol.CmdStorageReportTrunkFID, binary.BigEndian.AppendUint32(nil, uint32(cur))); err != nil {
		s.log.Debug("REPORT_TRUNK_FID", "err", err)
	}
	mb := a.FreeBytes() >> 20
	if _, err := c.call(protocol.CmdStorageReportTrunkFree, binary.BigEndian.AppendUint64(nil, uint64(mb))); err != nil {
		s.log.Debug("REPORT_TRUNK_FREE", "err", err)
	}
}

// trunkJobs runs the trunk server's schedule: trunk files created in
// advance at trunk_create_file_time_base every trunk_create_file_interval
// (when trunk_create_file_advance), the binlog compressed at
// trunk_compress_binlog_time_base every trunk_compress_binlog_interval.
func (s *Server) trunkJobs(ctx context.Context, a *trunk.Allocator, p trunkParams) {
	defer s.wg.Done()
	type job struct {
		next  time.Time
		every time.Duration
		run   func()
	}
	var jobs []*job
	if p.CreateAdvance && p.CreateInterval > 0 {
		jobs = append(jobs, &job{next: nextAt(time.Now(), p.CreateTimeBase, p.CreateInterval), every: p.CreateInterval, run: func() {
			if n, err := a.CreateAdvance(p.CreateThreshold); err != nil || n > 0 {
				s.log.Info("trunk files created in advance", "files", n, "err", err)
			}
		}})
	}
	if p.CompressEvery > 0 {
		jobs = append(jobs, &job{next: nextAt(time.Now(), p.CompressTimeBase, p.CompressEvery), every: p.CompressEvery, run: func() {
			s.compressTrunk(a)
		}})
	}
	for len(jobs) > 0 {
		first := jobs[0]
		for _, j := range jobs[1:] {
			if j.next.Before(first.next) {
				first = j
			}
		}
		t := time.NewTimer(time.Until(first.next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		first.run()
		first.next = first.next.Add(first.every)
	}
}

// nextAt is the first time after now that is base (HH:MM, local time)
// plus a multiple of every.
func nextAt(now time.Time, base string, every time.Duration) time.Time {
	var h, m int
	fmt.Sscanf(base, "%d:%d", &h, &m)
	t := time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, now.Location())
	for t.After(now) {
		t = t.Add(-every)
	}
	for !t.After(now) {
		t = t.Add(every)
	}
	return t
}
