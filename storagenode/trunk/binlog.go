package trunk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Trunk binlog operations (TRUNK_OP_TYPE_*).
const (
	OpAdd byte = 'A' // the block is free space
	OpDel byte = 'D' // the block is no longer free space
)

// Record is one line of the trunk binlog (data/trunk/binlog) and of
// storage_trunk.dat: "timestamp op store_path_index high low id offset size".
type Record struct {
	Timestamp int64 // unix seconds
	Op        byte
	Block     Location
}

// AppendRecord appends r's line (with its newline) to b.
func AppendRecord(b []byte, r Record) []byte {
	b = strconv.AppendInt(b, r.Timestamp, 10)
	b = append(b, ' ', r.Op, ' ')
	l := r.Block
	for i, v := range []int64{int64(l.StorePathIndex), int64(l.High), int64(l.Low), int64(l.ID), int64(l.Offset), int64(l.Size)} {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, '\n')
}

// ParseRecord parses one line without its newline.
func ParseRecord(line string) (Record, error) {
	f := strings.Split(line, " ")
	if len(f) != 8 || len(f[1]) != 1 || (f[1][0] != OpAdd && f[1][0] != OpDel) {
		return Record{}, fmt.Errorf("trunk binlog line %q: %w", clip(line), protocol.ErrInvalid)
	}
	var v [7]int64
	for i, s := range append(f[:1:1], f[2:]...) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return Record{}, fmt.Errorf("trunk binlog line %q: field %d: %w", clip(line), i+1, protocol.ErrInvalid)
		}
		v[i] = n
	}
	if v[1] > 255 || v[2] > 255 || v[3] > 255 || v[4] > 1<<32-1 || v[5] > 1<<32-1 || v[6] > 1<<32-1 {
		return Record{}, fmt.Errorf("trunk binlog line %q: value out of range: %w", clip(line), protocol.ErrInvalid)
	}
	return Record{Timestamp: v[0], Op: f[1][0], Block: Location{StorePathIndex: int(v[1]), High: int(v[2]), Low: int(v[3]),
		ID: uint32(v[4]), Offset: uint32(v[5]), Size: uint32(v[6])}}, nil
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// ReadRecords calls fn for each well-formed record of r and returns the
// bytes consumed: up to the end of the last whole line (a torn last line,
// from a crash mid-write, is left for the caller to cut). A malformed
// whole line is skipped and counted in bad, as upstream skips it.
func ReadRecords(r io.Reader, fn func(Record) error) (consumed int64, bad int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return consumed, bad, nil
		}
		if err != nil {
			return consumed, bad, err
		}
		consumed += int64(len(line))
		rec, perr := ParseRecord(line[:len(line)-1])
		if perr != nil {
			bad++
			continue
		}
		if err := fn(rec); err != nil {
			return consumed, bad, err
		}
	}
}
