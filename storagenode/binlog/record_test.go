package binlog

import (
	"errors"
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestParse(t *testing.T) {
	tests := []struct {
		line string
		want *Record // nil: invalid
	}{
		{"1795619294 C M00/00/00/a.txt", &Record{1795619294, OpCreate, "M00/00/00/a.txt", []string{}}},
		{"1795619358 A M00/00/00/b.txt 5 10", &Record{1795619358, OpAppend, "M00/00/00/b.txt", []string{"5", "10"}}},
		{"1795619358 r M00/00/00/new.txt M00/00/00/old.txt", &Record{1795619358, OpReplicaRename, "M00/00/00/new.txt", []string{"M00/00/00/old.txt"}}},
		{"7 d M00/00/00/c.txt-m", &Record{7, OpReplicaDelete, "M00/00/00/c.txt-m", []string{}}},
		{"-1 D x", &Record{-1, OpDelete, "x", []string{}}},
		{"  3   T  x  9 4 ", &Record{3, OpTruncate, "x", []string{"9", "4"}}}, // fields, not single spaces
		{"", nil},
		{"1795619294 C", nil},
		{"1795619294 CC M00/00/00/a.txt", nil},
		{"x C M00/00/00/a.txt", nil},
		{"1.5 C M00/00/00/a.txt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := Parse(tt.line)
			if tt.want == nil {
				if !errors.Is(err, protocol.ErrInvalid) {
					t.Fatalf("Parse = %+v, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Timestamp != tt.want.Timestamp || got.Op != tt.want.Op || got.Name != tt.want.Name || !slices.Equal(got.Extra, tt.want.Extra) {
				t.Errorf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Format writes what Parse reads back, as upstream lays the line out.
func TestFormat(t *testing.T) {
	tests := []struct {
		ts    int64
		op    Op
		name  string
		extra string
		want  string
	}{
		{1795619294, OpCreate, "M00/00/00/a.txt", "", "1795619294 C M00/00/00/a.txt"},
		{1795619358, OpModify, "M00/00/00/b.txt", "0 4", "1795619358 M M00/00/00/b.txt 0 4"},
		{1795619358, OpReplicaLink, "M00/00/00/s.txt", "M00/00/00/m.txt", "1795619358 l M00/00/00/s.txt M00/00/00/m.txt"},
		{7, Op(0xff), "x", "", "7 \xff x"}, // a byte that is no letter stays one byte
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			line := Format(tt.ts, tt.op, tt.name, tt.extra)
			if line != tt.want {
				t.Fatalf("Format = %q, want %q", line, tt.want)
			}
			rec, err := Parse(line)
			if err != nil {
				t.Fatal(err)
			}
			if rec.String() != tt.want {
				t.Errorf("round trip %q", rec.String())
			}
		})
	}
}

func TestInts(t *testing.T) {
	tests := []struct {
		line string
		a, b int64
		ok   bool
	}{
		{"1 A x 0 5", 0, 5, true},
		{"1 T x 1048576 3", 1048576, 3, true},
		{"1 A x 5", 0, 0, false},
		{"1 A x 5 6 7", 0, 0, false},
		{"1 M x -1 5", 0, 0, false},
		{"1 M x 1 five", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			rec, err := Parse(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			a, b, err := rec.Ints()
			switch {
			case tt.ok && (err != nil || a != tt.a || b != tt.b):
				t.Errorf("Ints = %d %d %v, want %d %d", a, b, err, tt.a, tt.b)
			case !tt.ok && !errors.Is(err, protocol.ErrInvalid):
				t.Errorf("Ints = %d %d %v, want ErrInvalid", a, b, err)
			}
		})
	}
}
