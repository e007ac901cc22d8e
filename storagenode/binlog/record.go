package binlog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// MaxLine bounds one binlog record: a timestamp, an op and two names of
// < 128 bytes plus two numbers fit easily.
const MaxLine = 1024

// Record is one binlog line: "<unix_ts> <op> <logical filename>[ <extra>]".
type Record struct {
	Timestamp int64
	Op        Op
	Name      string
	Extra     []string // op-specific fields (offsets, sizes, the old name)
}

// Format formats one binlog line (without the newline). extra is "" or
// the op-specific trailing fields (see the Op constants).
func Format(ts int64, op Op, name, extra string) string {
	s := strconv.FormatInt(ts, 10) + " " + op.String() + " " + name
	if extra != "" {
		s += " " + extra
	}
	return s
}

// String formats r as its binlog line (without the newline).
func (r *Record) String() string {
	return Format(r.Timestamp, r.Op, r.Name, strings.Join(r.Extra, " "))
}

// Parse parses one binlog line (without its newline). A malformed line is
// an error wrapping protocol.ErrInvalid, the status a peer or the sync
// worker treats as permanent.
func Parse(line string) (*Record, error) {
	f := strings.Fields(line)
	if len(f) < 3 || len(f[1]) != 1 {
		return nil, fmt.Errorf("binlog record %q: %w", line, protocol.ErrInvalid)
	}
	ts, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("binlog record %q: %w", line, protocol.ErrInvalid)
	}
	return &Record{Timestamp: ts, Op: Op(f[1][0]), Name: f[2], Extra: f[3:]}, nil
}

// Ints parses the two numbers of an append, modify or truncate record.
func (r *Record) Ints() (a, b int64, err error) {
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
