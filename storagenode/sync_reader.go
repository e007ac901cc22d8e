package storagenode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Binlog reading and mark files of the sync workers (protocol.md §7).

// maxBinlogLine bounds one binlog record: a timestamp, an op and two
// names of < 128 bytes plus two numbers fit easily.
const maxBinlogLine = 1024

// syncMark is the per-peer mark file: where in our binlog the sync to
// that peer stands, in upstream's ini format and key order.
type syncMark struct {
	Index       int   // binlog_index: binlog.NNN being read
	Offset      int64 // binlog_offset: bytes of it already replayed
	NeedSyncOld bool  // we are the peer's old-file (full) sync source
	SyncOldDone bool  // the old-file sync reached the end of the binlog
	Until       int64 // until_timestamp: replica records up to it are sent during the old-file sync
	ScanRows    int64 // scan_row_count: records read
	SyncRows    int64 // sync_row_count: records sent
}

func (m *syncMark) encode() []byte {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return fmt.Appendf(nil, "binlog_index=%d\nbinlog_offset=%d\nneed_sync_old=%d\nsync_old_done=%d\nuntil_timestamp=%d\nscan_row_count=%d\nsync_row_count=%d\n",
		m.Index, m.Offset, b(m.NeedSyncOld), b(m.SyncOldDone), m.Until, m.ScanRows, m.SyncRows)
}

// loadMark reads a mark file; fs.ErrNotExist when there is none. A mark
// missing any of the seven items is invalid, as upstream.
func loadMark(path string) (*syncMark, error) {
	f, err := loadIni(path)
	if err != nil {
		return nil, err
	}
	if len(f.keys) == 0 {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	m := &syncMark{}
	ints := map[string]*int64{"binlog_offset": &m.Offset, "until_timestamp": &m.Until, "scan_row_count": &m.ScanRows, "sync_row_count": &m.SyncRows}
	for _, k := range []string{"binlog_index", "binlog_offset", "need_sync_old", "sync_old_done", "until_timestamp", "scan_row_count", "sync_row_count"} {
		v, ok := f.vals[k]
		if !ok {
			return nil, fmt.Errorf("mark file %s lacks %s: %w", path, k, protocol.ErrInvalid)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 && k != "until_timestamp" {
			return nil, fmt.Errorf("mark file %s: bad %s=%q: %w", path, k, v, protocol.ErrInvalid)
		}
		switch k {
		case "binlog_index":
			if n > 999 {
				return nil, fmt.Errorf("mark file %s: bad binlog_index %d: %w", path, n, protocol.ErrInvalid)
			}
			m.Index = int(n)
		case "need_sync_old":
			m.NeedSyncOld = n != 0
		case "sync_old_done":
			m.SyncOldDone = n != 0
		default:
			*ints[k] = n
		}
	}
	return m, nil
}

// binlogReader reads complete records from binlog.NNN files, following
// rotation. The offset only advances when the caller commits a record, so
// a record that could not be sent is read again.
type binlogReader struct {
	dir     string
	current func() int // index the writer is appending to
	index   int
	offset  int64 // start of the next uncommitted record
	f       *os.File
	buf     []byte // bytes read from offset on
}

func newBinlogReader(dir string, current func() int, index int, offset int64) *binlogReader {
	return &binlogReader{dir: dir, current: current, index: index, offset: offset}
}

func (r *binlogReader) path(i int) string {
	return filepath.Join(r.dir, fmt.Sprintf("binlog.%03d", i))
}

func (r *binlogReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.buf = r.buf[:0]
}

// next returns the next complete record (without its newline) and its
// length on disk, or io.EOF when none is available yet.
func (r *binlogReader) next() (string, int, error) {
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			return string(r.buf[:i]), i + 1, nil
		}
		if len(r.buf) >= maxBinlogLine {
			return "", 0, fmt.Errorf("binlog %s: record at offset %d longer than %d bytes: %w", r.path(r.index), r.offset, maxBinlogLine, protocol.ErrInvalid)
		}
		if r.f == nil {
			f, err := os.Open(r.path(r.index))
			if errors.Is(err, fs.ErrNotExist) && r.index < r.current() {
				r.index, r.offset = r.index+1, 0
				continue
			}
			if errors.Is(err, fs.ErrNotExist) {
				return "", 0, io.EOF
			}
			if err != nil {
				return "", 0, err
			}
			r.f = f
		}
		var chunk [4096]byte
		n, err := r.f.ReadAt(chunk[:], r.offset+int64(len(r.buf)))
		r.buf = append(r.buf, chunk[:n]...)
		if n > 0 {
			continue
		}
		if err != nil && err != io.EOF {
			return "", 0, err
		}
		// End of this file: move on only once the writer has rotated
		// past it and no partial record is left.
		if r.index < r.current() && len(r.buf) == 0 {
			// Re-check after the rotation is visible: the writer may
			// have appended before rotating.
			if n2, _ := r.f.ReadAt(chunk[:1], r.offset); n2 > 0 {
				continue
			}
			r.close()
			r.index, r.offset = r.index+1, 0
			continue
		}
		return "", 0, io.EOF
	}
}

// commit consumes a record of n bytes returned by next.
func (r *binlogReader) commit(n int) {
	r.buf = r.buf[n:]
	r.offset += int64(n)
}

// binlogRecord is one parsed binlog line.
type binlogRecord struct {
	Timestamp int64
	Op        byte
	Name      string
	Extra     []string // op-specific fields (offsets, sizes, the old name)
}

func parseRecord(line string) (*binlogRecord, error) {
	f := strings.Fields(line)
	if len(f) < 3 || len(f[1]) != 1 {
		return nil, fmt.Errorf("binlog record %q: %w", line, protocol.ErrInvalid)
	}
	ts, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("binlog record %q: %w", line, protocol.ErrInvalid)
	}
	return &binlogRecord{Timestamp: ts, Op: f[1][0], Name: f[2], Extra: f[3:]}, nil
}

// extraInts parses the two numbers of an A/M/T record.
func (r *binlogRecord) extraInts() (a, b int64, err error) {
	if len(r.Extra) != 2 {
		return 0, 0, fmt.Errorf("binlog %c record of %s has %d extra fields: %w", r.Op, r.Name, len(r.Extra), protocol.ErrInvalid)
	}
	a, err1 := strconv.ParseInt(r.Extra[0], 10, 64)
	b, err2 := strconv.ParseInt(r.Extra[1], 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < 0 {
		return 0, 0, fmt.Errorf("binlog %c record of %s: bad numbers: %w", r.Op, r.Name, protocol.ErrInvalid)
	}
	return a, b, nil
}
