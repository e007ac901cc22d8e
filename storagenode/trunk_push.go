package storagenode

// The trunk server keeps a copy of its trunk binlog on every other
// storage of the group (upstream's trunk_sync: TRUNK_SYNC_BINLOG 30 after
// TRUNK_TRUNCATE_BINLOG_FILE 33), so that the storage elected after it
// knows the group's free trunk space. Each trunk server run starts every
// peer's copy over (33, then the whole binlog), which also covers a
// binlog rewritten by a compression, and then sends what is appended.

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// trunkPushEvery is how often the trunk server looks for binlog records
// to push.
const trunkPushEvery = time.Second

// trunkPushChunk bounds one push (upstream's TRUNK_BINLOG_BUFFER_SIZE).
const trunkPushChunk = 64 << 10

// pushTarget is what the trunk server has pushed to one peer.
type pushTarget struct {
	off int64 // bytes of the binlog the peer has; -1: start over
	gen int64 // the binlog generation off refers to
	pc  *peerConn
}

// trunkPush runs on the trunk server until ctx ends.
func (s *Server) trunkPush(ctx context.Context, a *trunk.Allocator) {
	defer s.wg.Done()
	targets := map[string]*pushTarget{}
	defer func() {
		for _, t := range targets {
			if t.pc != nil {
				t.pc.hangUp()
			}
		}
	}()
	tick := time.NewTicker(trunkPushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, b := range s.repl.activePeers() {
			addr := protocol.FormatHostPort(b.IP, int(b.Port))
			t := targets[addr]
			if t == nil {
				t = &pushTarget{off: -1}
				targets[addr] = t
			}
			if err := s.pushTo(ctx, a, addr, t); err != nil {
				s.log.Debug("trunk binlog push", "peer", addr, "err", err)
				if t.pc != nil {
					t.pc.hangUp()
					t.pc = nil
				}
			}
		}
	}
}

// pushTo brings one peer's copy of the binlog up to date.
func (s *Server) pushTo(ctx context.Context, a *trunk.Allocator, addr string, t *pushTarget) error {
	gen := a.Generation()
	f, err := os.Open(trunk.BinlogPath(s.cfg.BasePath))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if a.Generation() != gen {
		return nil // rewritten meanwhile: next time
	}
	if t.off >= 0 && t.gen == gen && t.off == fi.Size() {
		return nil
	}
	if t.pc == nil {
		if t.pc, err = s.dialPeer(ctx, addr); err != nil {
			return err
		}
	}
	if t.off < 0 || t.gen != gen || t.off > fi.Size() {
		if _, err := t.pc.call(protocol.CmdTrunkTruncateBinlogFile, 0, nil, 0); err != nil {
			return err
		}
		t.off, t.gen = 0, gen
	}
	buf := make([]byte, trunkPushChunk)
	for t.off < fi.Size() {
		n, err := f.ReadAt(buf, t.off)
		if err != nil && err != io.EOF {
			return err
		}
		chunk := buf[:n]
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			chunk = chunk[:i+1]
		} else {
			return nil // a line being written: next time
		}
		if _, err := t.pc.call(protocol.CmdTrunkSyncBinlog, 0, chunk, 0); err != nil {
			return err
		}
		t.off += int64(len(chunk))
	}
	return nil
}
