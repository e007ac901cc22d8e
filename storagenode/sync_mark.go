package storagenode

import (
	"fmt"
	"os"
	"strconv"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Mark files of the sync workers (protocol.md §7).

// syncMark is the per-peer mark file: where in our binlog the sync to
// that peer stands, in upstream's ini format and key order.
type syncMark struct {
	Index       int   // binlog_index: binlog.NNN being read
	Offset      int64 // binlog_offset: bytes of it already replayed
	NeedSyncOld bool  // we are the peer's old-file (full) sync source
	SyncOldDone bool  // the old-file sync reached the end of the binlog
	Until       int64 // until_timestamp: replica records up to it are sent when NeedSyncOld
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
