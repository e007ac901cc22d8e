package binlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEachRecord: garbage and overlong lines are skipped, a partial last
// line ends the file, and an error from fn stops the scan and is returned.
func TestEachRecord(t *testing.T) {
	in := "100 C M00/00/00/a\n" +
		"bad line\n" +
		strings.Repeat("x", 2*MaxLine) + "\n" +
		"101 D M00/00/00/a\n" +
		"102 C M00/00/00/partial"
	path := filepath.Join(t.TempDir(), "binlog.000")
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	tests := []struct {
		name    string
		stopAt  int // records after which fn fails; 0 never
		want    string
		wantErr error
	}{
		{"all", 0, "100 C M00/00/00/a|101 D M00/00/00/a", nil},
		{"stops", 1, "100 C M00/00/00/a", stop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := EachRecord(path, func(r *Record) error {
				got = append(got, Format(r.Timestamp, r.Op, r.Name, ""))
				if len(got) == tt.stopAt {
					return stop
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if s := strings.Join(got, "|"); s != tt.want {
				t.Fatalf("records %q, want %q", s, tt.want)
			}
		})
	}
	if err := EachRecord(filepath.Join(t.TempDir(), "none"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
