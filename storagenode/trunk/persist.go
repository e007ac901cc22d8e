package trunk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// Load opens the trunk server's free space: storage_trunk.dat (the free
// blocks at a binlog offset) and the binlog records after that offset,
// as upstream's storage_trunk_load/restore. A torn last binlog line (a
// crash mid-write) is cut. With CheckOccupying, free blocks whose slot
// holds a file are dropped. The snapshot is then saved again.
func Load(cfg Config) (*Allocator, error) {
	a := &Allocator{cfg: cfg, ix: newIndex(len(cfg.StorePaths))}
	if err := os.MkdirAll(filepath.Dir(BinlogPath(cfg.BasePath)), 0o755); err != nil {
		return nil, err
	}
	offset := int64(0)
	if !cfg.ReloadFromBinlog {
		var err error
		if offset, err = a.loadData(); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(BinlogPath(cfg.BasePath), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	a.binlog = f
	if err := a.replay(offset); err != nil {
		f.Close()
		return nil, err
	}
	if cfg.CheckOccupying {
		a.dropOccupied()
	}
	if err := errors.Join(a.flush(), a.save()); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

// loadData reads storage_trunk.dat into the index and returns its binlog
// offset (0 without the file).
func (a *Allocator) loadData() (int64, error) {
	f, err := os.Open(DataPath(a.cfg.BasePath))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	first, err := br.ReadString('\n')
	offset, perr := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil || perr != nil || offset < 0 {
		a.log().Warn("storage_trunk.dat has no binlog offset: reloading from the binlog", "line", clip(first))
		return 0, nil
	}
	_, bad, err := ReadRecords(br, func(r Record) error {
		if err := a.ix.insert(r.Block, false); err != nil {
			a.log().Warn("storage_trunk.dat: block skipped", "block", r.Block.String(), "err", err)
		}
		return nil
	})
	if bad > 0 {
		a.log().Warn("storage_trunk.dat: malformed lines skipped", "lines", bad)
	}
	return offset, err
}

// replay applies the binlog from offset on and leaves the file positioned
// at its (cut) end.
func (a *Allocator) replay(offset int64) error {
	fi, err := a.binlog.Stat()
	if err != nil {
		return err
	}
	if offset > fi.Size() {
		a.log().Warn("trunk binlog shorter than storage_trunk.dat says", "offset", offset, "size", fi.Size())
		offset = fi.Size()
	}
	if _, err := a.binlog.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	consumed, bad, err := ReadRecords(a.binlog, func(r Record) error {
		if r.Block.StorePathIndex >= len(a.cfg.StorePaths) {
			return fmt.Errorf("trunk binlog %s: record %q: store path index %d: only %d store paths: %w",
				a.binlog.Name(), bytes.TrimSuffix(AppendRecord(nil, r), []byte("\n")), r.Block.StorePathIndex, len(a.cfg.StorePaths), protocol.ErrInvalid)
		}
		if r.Op == OpAdd {
			if err := a.ix.insert(r.Block, false); errors.Is(err, protocol.ErrExists) {
				a.log().Debug("trunk binlog: block already free", "block", r.Block.String())
			} else if err != nil {
				a.log().Warn("trunk binlog: block skipped", "block", r.Block.String(), "err", err)
			}
		} else {
			a.ix.remove(r.Block, false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		a.log().Warn("trunk binlog: malformed lines skipped", "lines", bad)
	}
	a.size = offset + consumed
	if consumed == 0 && offset > 0 {
		// No whole record after an offset storage_trunk.dat gave (the
		// binlog's tail was lost or torn): cut back to the record holding
		// it, or the next record would continue a torn one.
		if a.size, err = binlog.RecordEnd(a.binlog, offset); err != nil {
			return err
		}
	}
	if a.size < fi.Size() {
		a.log().Warn("trunk binlog: torn last line cut", "bytes", fi.Size()-a.size)
		if err := a.binlog.Truncate(a.size); err != nil {
			return err
		}
	}
	_, err = a.binlog.Seek(a.size, io.SeekStart)
	return err
}

// dropOccupied removes the free blocks whose slot header says a file is
// stored there (upstream's storage_trunk_is_space_occupied).
func (a *Allocator) dropOccupied() {
	var taken []Location
	a.ix.each(func(l Location, held bool) {
		f, err := os.Open(l.Path(a.cfg.StorePaths[l.StorePathIndex]))
		if err != nil {
			return
		}
		defer f.Close()
		var b [1]byte
		if _, err := f.ReadAt(b[:], int64(l.Offset)); err == nil && (b[0] == TypeRegular || b[0] == TypeLink) {
			taken = append(taken, l)
		}
	})
	for _, l := range taken {
		a.log().Warn("trunk free block holds a file: dropped", "block", l.String())
		a.ix.remove(l, false)
		a.record(OpDel, l)
	}
}

// snapshot renders the free (and held) blocks as 'A' records.
func (a *Allocator) snapshot() []byte {
	var b []byte
	now := a.now()
	a.ix.each(func(l Location, _ bool) { b = AppendRecord(b, Record{Timestamp: now, Op: OpAdd, Block: l}) })
	return b
}

// save writes storage_trunk.dat for the current binlog size.
func (a *Allocator) save() error {
	data := append([]byte(strconv.FormatInt(a.size, 10)+"\n"), a.snapshot()...)
	return atomicfile.WriteFile(DataPath(a.cfg.BasePath), data, 0o644)
}

// Save writes storage_trunk.dat (upstream saves it at exit and after a
// compression), so the next Load replays only what follows.
func (a *Allocator) Save() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.save()
}

// Compress rewrites the trunk binlog as just the free blocks
// (trunk_compress_binlog): the old binlog becomes a backup
// binlog.YYYYMMDDhhmmss, at most BinlogMaxBackups are kept. Each step
// leaves a binlog that Load turns into the same free space: the backup
// is a second link to the old binlog, storage_trunk.dat is reset to
// "replay all from 0" before the new binlog replaces the old one
// atomically, and saved again after.
func (a *Allocator) Compress() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	path := BinlogPath(a.cfg.BasePath)
	snap := a.snapshot()
	backup := path + "." + time.Unix(a.now(), 0).Format("20060102150405")
	if err := os.Link(path, backup); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := atomicfile.WriteFile(DataPath(a.cfg.BasePath), []byte("0\n"), 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, snap, 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	a.binlog.Close()
	a.binlog, a.size = f, int64(len(snap))
	a.gen++
	if err := a.save(); err != nil {
		return err
	}
	return a.pruneBackups()
}

// pruneBackups deletes the oldest binlog backups beyond BinlogMaxBackups.
func (a *Allocator) pruneBackups() error {
	path := BinlogPath(a.cfg.BasePath)
	all, err := filepath.Glob(path + ".[0-9]*")
	if err != nil {
		return err
	}
	slices.Sort(all)
	for len(all) > max(a.cfg.BinlogMaxBackups, 0) {
		if err := os.Remove(all[0]); err != nil {
			return err
		}
		all = all[1:]
	}
	return nil
}
