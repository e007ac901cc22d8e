package binlog

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The reader returns whole records only, resumes at the committed offset
// and follows the writer to the next binlog file.
func TestReader(t *testing.T) {
	dir := t.TempDir()
	write := func(i int, s string) {
		f, err := os.OpenFile(Path(dir, i), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	current := 0
	r := NewReader(dir, func() int { return current }, 0, 0)
	defer r.Close()
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("empty binlog: %v", err)
	}
	write(0, "1 C M00/00/00/a\n2 A M00/00/00/a 0 5\n3 D M0")
	var got []string
	for {
		line, n, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
		r.Commit(n)
	}
	if len(got) != 2 || got[1] != "2 A M00/00/00/a 0 5" {
		t.Fatalf("records %q", got)
	}
	write(0, "0/00/00/b\n")
	current = 1
	write(1, "4 C M00/00/00/c\n")
	for _, want := range []string{"3 D M00/00/00/b", "4 C M00/00/00/c"} {
		line, n, err := r.Next()
		if err != nil || line != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
		r.Commit(n)
	}
	if i, off := r.Pos(); i != 1 || off != int64(len("4 C M00/00/00/c\n")) {
		t.Errorf("position %d/%d", i, off)
	}
	// A new reader resumes from a saved position.
	r2 := NewReader(dir, func() int { return current }, 0, int64(len("1 C M00/00/00/a\n")))
	defer r2.Close()
	if line, _, _ := r2.Next(); line != "2 A M00/00/00/a 0 5" {
		t.Errorf("resumed at %q", line)
	}
}

// Where a reader stops: the records it returns in order, then the end.
func TestReaderEnds(t *testing.T) {
	// No end of line within MaxLine bytes: no record this package wrote.
	long := "1 C " + strings.Repeat("x", MaxLine)
	// A power loss can leave a block of zeros where records were: here
	// one that swallowed the start of the record "2 C b".
	zeros := strings.Repeat("\x00", 3*scanChunk)
	tests := []struct {
		name    string
		files   []string // binlog.000, .001...; "-": absent
		current int
		want    []string
		end     error
	}{
		{"no file", nil, 0, nil, io.EOF},
		{"partial record", []string{"1 C a\n2 C b"}, 0, []string{"1 C a"}, io.EOF},
		{"partial record of a rotated file is garbage", []string{"1 C a\n2 C b", "3 C c\n"}, 1, []string{"1 C a", Garbage, "3 C c"}, io.EOF},
		{"file the writer moved past is skipped", []string{"-", "1 C a\n"}, 1, []string{"1 C a"}, io.EOF},
		{"empty rotated files", []string{"", "", "1 C a\n"}, 2, []string{"1 C a"}, io.EOF},
		{"overlong record being written waits", []string{"1 C a\n" + long}, 0, []string{"1 C a"}, io.EOF},
		{"overlong record is garbage", []string{"1 C a\n" + long + "\n2 C b\n"}, 0, []string{"1 C a", Garbage, "2 C b"}, io.EOF},
		{"zeros inside the file", []string{"1 C a\n" + zeros + "2 C b\n3 C c\n"}, 0, []string{"1 C a", Garbage, "3 C c"}, io.EOF},
		{"short garbage line", []string{"1 C a\n\x00\x00junk\n2 C b\n"}, 0, []string{"1 C a", "\x00\x00junk", "2 C b"}, io.EOF},
		{"overlong tail of a rotated file", []string{"1 C a\n" + zeros, "2 C b\n"}, 1, []string{"1 C a", Garbage, "2 C b"}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, s := range tt.files {
				if s != "-" {
					if err := os.WriteFile(Path(dir, i), []byte(s), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			r := NewReader(dir, func() int { return tt.current }, 0, 0)
			defer r.Close()
			var got []string
			var err error
			for {
				var line string
				var n int
				if line, n, err = r.Next(); err != nil {
					break
				}
				if strings.HasPrefix(line, Garbage+" ") {
					if _, perr := Parse(line); !errors.Is(perr, protocol.ErrInvalid) {
						t.Errorf("Parse(%q) = %v, want EINVAL", line, perr)
					}
					line = Garbage
				}
				got = append(got, line)
				r.Commit(n)
			}
			if !errors.Is(err, tt.end) || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("records %q, end %v; want %q, %v", got, err, tt.want, tt.end)
			}
		})
	}
}

// Peek looks past the uncommitted record without moving the position,
// stops at a partial record and at the end of the file, and never
// returns garbage (Next does).
func TestReaderPeek(t *testing.T) {
	dir := t.TempDir()
	recs := "1 C M00/00/00/a\n2 C M00/00/00/bb\n3 D M00/00/00/a\n4 C M00/0"
	if err := os.WriteFile(Path(dir, 0), []byte(recs), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewReader(dir, func() int { return 0 }, 0, 0)
	defer r.Close()
	if _, _, ok := r.Peek(0); ok {
		t.Error("Peek before the first Next (nothing read yet) found a record")
	}
	first, n, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for skip := n; ; {
		line, m, ok := r.Peek(skip)
		if !ok {
			break
		}
		got = append(got, line)
		skip += m
	}
	if want := []string{"2 C M00/00/00/bb", "3 D M00/00/00/a"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("peeked %q, want %q", got, want)
	}
	if line, _, _ := r.Next(); line != first {
		t.Errorf("Next after Peek: %q, want %q again", line, first)
	}
	if i, off := r.Pos(); i != 0 || off != 0 {
		t.Errorf("Peek moved the position to %d/%d", i, off)
	}
	// Past a record longer than MaxLine: no record.
	long := strings.Repeat("x", MaxLine+10) + "\n5 C M00/00/00/c\n"
	if err := os.WriteFile(Path(dir, 1), []byte("1 C M00/00/00/a\n"+long), 0o644); err != nil {
		t.Fatal(err)
	}
	r2 := NewReader(dir, func() int { return 1 }, 1, 0)
	defer r2.Close()
	_, n, _ = r2.Next()
	if line, _, ok := r2.Peek(n); ok {
		t.Errorf("Peek returned %q over an overlong line", line)
	}
}
