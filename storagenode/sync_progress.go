package storagenode

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// The mark file is written every write_mark_file_freq records and at
// least every second (markDue), fsynced and renamed into place: too
// costly per record. A storage that dies between two writes (SIGKILL, the
// OOM killer, a panic) sent the records since the last one again at its
// next start, and an upstream peer that deleted such a file meanwhile (a
// client's delete sent there while we were down) took the create again
// and kept the file for good: it keeps no memory of deletes, and skips
// sending its own delete of a file it holds ("exists, maybe created
// later?"). The gaps of sync_gaps.go catch only the creates that follow
// one the peer already had; tests/interop TestMixedChaos found a file
// deleted that way that was the first.
//
// So the position reached is also written, after every record the peer
// answered, to the progress file (<mark>.sent), a 32-byte record mapped
// into memory: a store per record, no system call (a write(2) would add
// its inode time update to each file replicated). The page is the
// kernel's: it outlives the process, not the machine; after a power loss
// the file may be stale, torn or zeros, and the mark and the gaps decide
// as before. A process killed in the middle of a store leaves a record
// whose CRC fails. It names the mark position it extends, so that a mark
// written since by anyone else (a fresh mark, an operator moving
// binlog_offset back to send records again) makes it void.

// progressLen is the size of the progress record: magic, the mark's
// binlog index and offset, the position's, and a CRC-32 of the rest.
const progressLen = 32

var progressMagic = [4]byte{'F', 'S', 'P', '1'}

// syncProgress is a sync position past the mark's.
type syncProgress struct {
	mark, pos binlog.Pos
}

// encodeTo writes the record into b (progressLen bytes).
func (p syncProgress) encodeTo(b []byte) {
	copy(b, progressMagic[:])
	binary.LittleEndian.PutUint32(b[4:], uint32(p.mark.Index))
	binary.LittleEndian.PutUint64(b[8:], uint64(p.mark.Offset))
	binary.LittleEndian.PutUint32(b[16:], uint32(p.pos.Index))
	binary.LittleEndian.PutUint64(b[20:], uint64(p.pos.Offset))
	binary.LittleEndian.PutUint32(b[28:], crc32.ChecksumIEEE(b[:28]))
}

// decodeProgress parses a progress record; false when it is torn, zeros or
// not one.
func decodeProgress(b []byte) (syncProgress, bool) {
	if len(b) != progressLen || [4]byte(b[:4]) != progressMagic || binary.LittleEndian.Uint32(b[28:]) != crc32.ChecksumIEEE(b[:28]) {
		return syncProgress{}, false
	}
	pos := func(i, o []byte) binlog.Pos {
		return binlog.Pos{Index: int(binary.LittleEndian.Uint32(i)), Offset: int64(binary.LittleEndian.Uint64(o))}
	}
	p := syncProgress{mark: pos(b[4:], b[8:]), pos: pos(b[16:], b[20:])}
	if p.mark.Offset < 0 || p.pos.Offset < 0 || packPos(p.pos.Index, p.pos.Offset) < packPos(p.mark.Index, p.mark.Offset) {
		return syncProgress{}, false
	}
	return p, true
}

// progressPath is the progress file beside the mark file at markPath.
func progressPath(markPath string) string { return siblingPath(markPath, progressExt) }

// readProgress returns the position the progress file at path records past
// mark; false when it has none for that mark.
func readProgress(path string, mark binlog.Pos) (binlog.Pos, bool) {
	f, err := os.Open(path)
	if err != nil {
		return binlog.Pos{}, false
	}
	defer f.Close()
	b := make([]byte, progressLen)
	if _, err := io.ReadFull(f, b); err != nil {
		return binlog.Pos{}, false
	}
	p, ok := decodeProgress(b)
	if !ok || p.mark != mark {
		return binlog.Pos{}, false
	}
	return p.pos, true
}

// progressFile is a session's progress file, mapped.
type progressFile struct {
	mem []byte // the file's progressLen bytes, shared with the page cache
}

func openProgress(path string) (*progressFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping holds the file
	// Exactly one record long: a store past the end of the file would
	// never reach it.
	if err := f.Truncate(progressLen); err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, progressLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return &progressFile{mem: mem}, nil
}

// write records that the session reached pos past mark.
func (p *progressFile) write(mark, pos binlog.Pos) {
	syncProgress{mark: mark, pos: pos}.encodeTo(p.mem)
}

func (p *progressFile) close() { unix.Munmap(p.mem) }
