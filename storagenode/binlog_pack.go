package storagenode

import (
	"errors"
	"io/fs"
	"time"

	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// packEvery is how often the binlog files are gzipped when compress_binlog
// is set: once a day at compress_binlog_time, as upstream.
const packEvery = 24 * time.Hour

// packLoop gzips the binlog files no sync session needs any more, once a
// day at compress_binlog_time (binlog.Pack; upstream's storage runs gzip
// on them at that time). A sync session that needs one again unpacks it
// (binlog.OpenFile), as upstream's does; whole-file replays read it
// through gzip (binlog.EachRecord).
func (s *Server) packLoop() {
	defer s.wg.Done()
	for {
		t := time.NewTimer(time.Until(nextAt(time.Now(), s.cfg.CompressBinlogTime, packEvery)))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.packBinlogs()
	}
}

// packBinlogs gzips every binlog file before packUntil that is not gzipped
// yet, oldest first, and records how far it got in binlog_index.dat.
func (s *Server) packBinlogs() {
	until := s.packUntil()
	dir := s.store.syncDir()
	done := 0
	for i := range until {
		if err := binlog.Pack(binlog.Path(dir, i)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("gzipping a binlog file failed", "file", binlog.Path(dir, i), "err", err)
			break
		}
		done = i + 1
	}
	if done > 0 {
		if err := s.bl.SetPacked(done); err != nil {
			s.log.Warn("recording the gzipped binlog files failed", "err", err)
		}
		s.log.Info("binlog files gzipped", "before", binlog.Path(dir, done))
	}
}

// packUntil is the first binlog file to keep as it is: the one being
// written, or an earlier one a running sync session is reading. As
// upstream, a peer with no session now (down, say) does not hold the
// packing back: its session unpacks what it needs when it resumes.
func (s *Server) packUntil() int {
	until := s.bl.Index()
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	for _, w := range s.repl.workers {
		if idx, _, ok := unpackPos(w.pos.Load()); ok && idx < until {
			until = idx
		}
	}
	return until
}
