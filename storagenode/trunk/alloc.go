package trunk

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/tmpfile"
)

// newTrunkPattern names the temporary file of a trunk file being made when
// no staging Dir is given: a hidden upload temp file, which a storage
// removes after a crash.
const newTrunkPattern = ".upload-trunk-*.tmp"

// Config is what the allocator of a trunk server needs: the tracker's
// trunk parameters and the storage's paths.
type Config struct {
	StorePaths    []string
	BasePath      string // the trunk binlog and storage_trunk.dat live under <base>/data
	SlotMinSize   int64  // bytes; smaller requests get this much
	SlotMaxSize   int64  // bytes, header included
	AlignSize     int64  // trunk_alloc_alignment_size, bytes (0: none)
	TrunkFileSize int64  // bytes
	Merge         bool   // trunk_free_space_merge
	DeleteUnused  bool   // delete_unused_trunk_files
	// CheckOccupying drops, when loading, free blocks whose slot header
	// says a file is there (trunk_init_check_occupying).
	CheckOccupying bool
	// ReloadFromBinlog ignores storage_trunk.dat (trunk_init_reload_from_binlog).
	ReloadFromBinlog bool
	BinlogMaxBackups int // trunk_binlog_max_backups

	// NextID returns the next trunk file id (current_trunk_file_id + 1,
	// persisted by the caller before it returns).
	NextID func() (uint32, error)
	// Dir picks the data directory of a new trunk file.
	Dir func(storePathIndex int, id uint32) (high, low int)
	// Staging makes new trunk files on each store path (by index); nil:
	// named temporary files.
	Staging []*tmpfile.Dir

	Log *slog.Logger
	Now func() time.Time // time.Now when nil
}

// Allocator hands out slots of trunk files and takes them back, as the
// group's trunk server does (trunk_mem.c). Every change of the free space
// is a trunk binlog record, written before the call returns; Load rebuilds
// the free space from storage_trunk.dat and the binlog after it.
type Allocator struct {
	cfg Config

	mu     sync.Mutex
	ix     *index
	binlog *os.File
	size   int64  // bytes in the binlog
	gen    int64  // binlog generation: bumped when Compress rewrites it
	buf    []byte // records of the call in progress
}

// BinlogPath is the trunk binlog of a storage: <base>/data/trunk/binlog.
func BinlogPath(base string) string { return filepath.Join(base, "data", "trunk", "binlog") }

// DataPath is the free space snapshot: <base>/data/storage_trunk.dat.
func DataPath(base string) string { return filepath.Join(base, "data", "storage_trunk.dat") }

func (a *Allocator) now() int64 {
	if a.cfg.Now != nil {
		return a.cfg.Now().Unix()
	}
	return time.Now().Unix()
}

// record queues a binlog record; flush writes the queue.
func (a *Allocator) record(op byte, l Location) {
	a.buf = AppendRecord(a.buf, Record{Timestamp: a.now(), Op: op, Block: l})
}

func (a *Allocator) flush() error {
	if len(a.buf) == 0 {
		return nil
	}
	n, err := a.binlog.Write(a.buf)
	a.size += int64(n)
	a.buf = a.buf[:0]
	if err != nil {
		return fmt.Errorf("trunk: writing the trunk binlog: %w", err)
	}
	return nil
}

// aligned is the alloc size of a slot of size bytes (header included).
func (a *Allocator) aligned(size int64) int64 {
	switch {
	case size <= a.cfg.SlotMinSize:
		return a.cfg.SlotMinSize
	case a.cfg.AlignSize <= 0 || size%a.cfg.AlignSize == 0:
		return size
	default:
		return size + a.cfg.AlignSize - size%a.cfg.AlignSize
	}
}

// Alloc reserves a slot of at least size bytes (header included) on store
// path p: the smallest free block that fits, split when the rest is worth
// keeping (>= slot_min_size), or a new trunk file. The slot is held until
// Confirm.
func (a *Allocator) Alloc(p int, size int64) (Location, error) {
	if p < 0 || p >= len(a.cfg.StorePaths) {
		return Location{}, fmt.Errorf("trunk: store path index %d: %w", p, protocol.ErrInvalid)
	}
	if size <= 0 || size > a.cfg.SlotMaxSize {
		return Location{}, fmt.Errorf("trunk: slot of %d bytes outside 1..slot_max_size %d: %w", size, a.cfg.SlotMaxSize, protocol.ErrInvalid)
	}
	want := uint32(a.aligned(size))
	a.mu.Lock()
	defer a.mu.Unlock()
	l, err := a.take(p, want)
	// Whatever was changed is logged, even on an error.
	if ferr := a.flush(); err == nil {
		err = ferr
	}
	return l, err
}

// take reserves a block of want bytes on store path p; a.mu held.
func (a *Allocator) take(p int, want uint32) (Location, error) {
	l, ok := a.ix.bestFit(p, want)
	if ok {
		a.ix.remove(l, false)
	} else {
		var err error
		if l, err = a.newTrunk(p); err != nil {
			return Location{}, err
		}
	}
	a.record(OpDel, l)
	if rest := l.Size - want; int64(rest) >= a.cfg.SlotMinSize {
		r := l
		r.Offset, r.Size = l.Offset+want, rest
		if err := a.ix.insert(r, false); err != nil {
			return Location{}, err
		}
		a.record(OpAdd, r)
		l.Size = want
	}
	if err := a.ix.insert(l, true); err != nil {
		return Location{}, err
	}
	a.record(OpAdd, l) // a held slot is free space until confirmed, as upstream
	return l, nil
}

// newTrunk creates the next trunk file on store path p, sparse, and
// returns it as one free block (not in the index).
func (a *Allocator) newTrunk(p int) (Location, error) {
	for range 1000 {
		id, err := a.cfg.NextID()
		if err != nil {
			return Location{}, err
		}
		l := Location{StorePathIndex: p, ID: id, Size: uint32(a.cfg.TrunkFileSize)}
		l.High, l.Low = a.cfg.Dir(p, id)
		if _, known := a.ix.trunks[keyOf(l)]; known {
			// The free space has blocks of it (current_trunk_file_id went
			// back): its slot would overlap them.
			continue
		}
		err = CreateFile(a.staging(p), l.Path(a.cfg.StorePaths[p]), a.cfg.TrunkFileSize)
		if errors.Is(err, fs.ErrExist) {
			continue // left by an earlier life: the next id
		}
		if err != nil {
			return Location{}, err
		}
		a.record(OpAdd, l)
		return l, nil
	}
	return Location{}, fmt.Errorf("trunk: no unused trunk file id: %w", protocol.ErrNoSpace)
}

// staging is store path p's Dir for new files; nil when none was given.
func (a *Allocator) staging(p int) *tmpfile.Dir {
	if p < len(a.cfg.Staging) {
		return a.cfg.Staging[p]
	}
	return nil
}

// CreateFile creates a trunk file of size bytes (sparse: ftruncate, as
// upstream's trunk_init_file); fs.ErrExist if there is one. The file is
// sized before it gets its name, through d (nil: a named temporary file),
// so no other writer of the group's trunk files (a replica arriving from
// another storage, an upload) ever opens it short: upstream waits for a
// file another thread is sizing (trunk_wait_file_ready) instead.
func CreateFile(d *tmpfile.Dir, path string, size int64) error {
	if d == nil {
		d = tmpfile.Named(newTrunkPattern, 0o644)
	}
	f, err := d.Create(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Link(path)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("trunk: creating %s: %w", path, err)
	}
	return err
}

// Confirm ends the hold of an allocated slot: used (ok), the slot is no
// longer free space; else it is free again.
func (a *Allocator) Confirm(l Location, ok bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		if !a.ix.setHeld(l, false) {
			return fmt.Errorf("trunk: confirm of %s: not reserved: %w", l, protocol.ErrNotFound)
		}
		return nil
	}
	if !a.ix.remove(l, true) {
		return fmt.Errorf("trunk: confirm of %s: not reserved: %w", l, protocol.ErrNotFound)
	}
	a.record(OpDel, l)
	return a.flush()
}

// Free returns a deleted file's slot to the free space, merged with free
// neighbours when trunk_free_space_merge is on; a trunk file that becomes
// wholly free is deleted when delete_unused_trunk_files is on. A block
// smaller than slot_min_size is ignored (upstream: not worth keeping); a
// block that overlaps free or reserved space is EEXIST.
func (a *Allocator) Free(l Location) error {
	if int64(l.Size) < a.cfg.SlotMinSize {
		return nil
	}
	if int64(l.Offset)+int64(l.Size) > a.cfg.TrunkFileSize && !a.largerTrunk(l) {
		return fmt.Errorf("trunk: freeing %s: past the end of its trunk file: %w", l, protocol.ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.ix.insert(l, false); err != nil {
		return errors.Join(err, a.flush())
	}
	a.record(OpAdd, l)
	if a.cfg.Merge {
		l = a.merge(l)
	}
	if a.cfg.DeleteUnused && l.Offset == 0 && int64(l.Size) >= a.cfg.TrunkFileSize {
		a.ix.remove(l, false)
		a.record(OpDel, l)
		if err := os.Remove(l.Path(a.cfg.StorePaths[l.StorePathIndex])); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log().Warn("deleting an unused trunk file failed", "trunk", l.String(), "err", err)
		}
	}
	return a.flush()
}

// largerTrunk reports whether l's trunk file is large enough for it (a
// trunk file made when trunk_file_size was larger).
func (a *Allocator) largerTrunk(l Location) bool {
	if l.StorePathIndex < 0 || l.StorePathIndex >= len(a.cfg.StorePaths) {
		return false
	}
	fi, err := os.Stat(l.Path(a.cfg.StorePaths[l.StorePathIndex]))
	return err == nil && int64(l.Offset)+int64(l.Size) <= fi.Size()
}

// merge joins the free block l with its free neighbours and returns the
// result.
func (a *Allocator) merge(l Location) Location {
	prev, next := a.ix.neighbours(l)
	if prev.Size == 0 && next.Size == 0 {
		return l
	}
	a.ix.remove(l, false)
	a.record(OpDel, l)
	for _, n := range []Location{prev, next} {
		if n.Size == 0 {
			continue
		}
		a.ix.remove(n, false)
		a.record(OpDel, n)
		if n.Offset < l.Offset {
			l.Offset = n.Offset
		}
		l.Size += n.Size
	}
	a.ix.insert(l, false) // cannot overlap: it covers exactly what was removed
	a.record(OpAdd, l)
	return l
}

func (a *Allocator) log() *slog.Logger {
	if a.cfg.Log != nil {
		return a.cfg.Log
	}
	return slog.Default()
}

// FreeBytes is the free trunk space (g_trunk_total_free_space), held
// slots excluded.
func (a *Allocator) FreeBytes() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ix.free
}

// FreeBlocks is the number of free blocks.
func (a *Allocator) FreeBlocks() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ix.count
}

// CreateAdvance creates trunk files until the free trunk space reaches
// threshold bytes (trunk_create_file_advance), spreading them over the
// store paths; it returns how many it created.
func (a *Allocator) CreateAdvance(threshold int64) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for a.ix.free < threshold {
		l, err := a.newTrunk(n % len(a.cfg.StorePaths))
		if err != nil {
			return n, errors.Join(err, a.flush())
		}
		if err := a.ix.insert(l, false); err != nil {
			return n, errors.Join(err, a.flush())
		}
		n++
	}
	return n, a.flush()
}

// Close closes the binlog.
func (a *Allocator) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.binlog.Close()
}

// Config returns the allocator's configuration.
func (a *Allocator) Config() Config { return a.cfg }

// Generation changes whenever the binlog is rewritten (Compress): a copy
// of the binlog kept elsewhere must then start over.
func (a *Allocator) Generation() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen
}
