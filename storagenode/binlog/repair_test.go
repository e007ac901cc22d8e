package binlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Open cuts what a torn write left after the last complete record, keeps
// it beside the binlog, and the next record starts on a line of its own.
func TestOpenRepairsTornTail(t *testing.T) {
	const whole = "1 C M00/00/00/a\n2 A M00/00/00/a 0 5\n"
	tests := []struct {
		name string
		tail string // what follows the whole records on disk
	}{
		{"whole records", ""},
		{"half a record", "3 D M00/00"},
		{"one byte of a record", "3"},
		{"zeros (power loss, data=ordered)", strings.Repeat("\x00", 4096)},
		{"zeros longer than a scan chunk", strings.Repeat("\x00", 3*scanChunk+5)},
		{"garbage without a newline", "\xff\xfe junk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(Path(dir, 0), []byte(whole+tt.tail), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(4, OpCreate, "M00/00/00/b", ""); err != nil {
				t.Fatal(err)
			}
			rep := w.Repaired()
			if o := w.Opened(); o != (Pos{0, int64(len(whole))}) {
				t.Errorf("Opened = %v, want 0/%d", o, len(whole))
			}
			w.Close()
			got, _ := os.ReadFile(Path(dir, 0))
			if want := whole + "4 C M00/00/00/b\n"; string(got) != want {
				t.Errorf("binlog %q, want %q", got, want)
			}
			if tt.tail == "" {
				if rep != nil {
					t.Errorf("repaired %v, want nothing", rep)
				}
				return
			}
			if rep == nil || rep.Offset != int64(len(whole)) || rep.Bytes != int64(len(tt.tail)) {
				t.Fatalf("repair %+v, want %d bytes at %d", rep, len(tt.tail), len(whole))
			}
			saved, err := os.ReadFile(rep.SavedTo)
			if err != nil || string(saved) != tt.tail || filepath.Dir(rep.SavedTo) != dir {
				t.Errorf("saved %q to %s (%v), want %q in %s", saved, rep.SavedTo, err, tt.tail, dir)
			}
		})
	}
}

// A mark's position past the end of the binlog, or inside a record, is
// moved to where no record is missed; a good one is left alone.
func TestAlign(t *testing.T) {
	// binlog.000 (left by the writer) has records at 0 and 6 and 14
	// bytes; binlog.001 is current and was 6 bytes long at Open.
	const f0, f1 = "1 C a\n22 C bb\n", "3 C c\n4 C d\n"
	opened := Pos{1, 6}
	tests := []struct {
		name     string
		p        Pos
		want     Pos
		repaired bool
	}{
		{"start", Pos{0, 0}, Pos{0, 0}, false},
		{"record boundary", Pos{0, 6}, Pos{0, 6}, false},
		{"end of a left file", Pos{0, 14}, Pos{0, 14}, false},
		{"where the binlog ended at start", Pos{1, 6}, Pos{1, 6}, false},
		{"inside a record", Pos{0, 9}, Pos{0, 6}, true},
		{"inside the first record", Pos{0, 3}, Pos{0, 0}, true},
		{"past the end of a left file", Pos{0, 100}, Pos{1, 0}, true},
		{"past the end at start, inside this run's records", Pos{1, 9}, opened, true},
		{"past the end at start and now", Pos{1, 100}, opened, true},
		{"file past the current one", Pos{5, 7}, opened, true},
		{"missing file", Pos{0, 7}, Pos{0, 7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.name != "missing file" {
				os.WriteFile(Path(dir, 0), []byte(f0), 0o644)
			}
			os.WriteFile(Path(dir, 1), []byte(f1), 0o644)
			got, why, err := Align(dir, 1, opened, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || (why != "") != tt.repaired {
				t.Errorf("Align(%v) = %v %q, want %v repaired %v", tt.p, got, why, tt.want, tt.repaired)
			}
		})
	}
}
