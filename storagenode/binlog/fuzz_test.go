package binlog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/memtmp"
)

// fuzzRecords are binlog lines as upstream's storage and ours write them:
// every operation, source and replica, with their extra fields.
var fuzzRecords = []string{
	"1700000000 C M00/00/00/wKgBCmVXxyGAcL3BAAAABncc3SA123.txt",
	"1700000001 c M00/00/00/wKgBC2VXxyGAHZ8vAAAABncc3SA789.jpg",
	"1700000002 A M00/00/00/wKgBCmVXxyGEAAAAAAAAAAcAAAA456.log 0 7",
	"1700000003 m M00/00/00/wKgBCmVXxyGEAAAAAAAAAAcAAAA456.log 2 3",
	"1700000004 T M00/00/00/wKgBCmVXxyGEAAAAAAAAAAcAAAA456.log 7 2",
	"1700000005 L M00/00/00/wKgBCmVXxyGAcL3BAAAABncc3SA123_s.txt M00/00/00/wKgBCmVXxyGAcL3BAAAABncc3SA123.txt",
	"1700000006 R M00/00/00/wKgBCmVXxyGAAAAAAAAAAAcAAAA999.log M00/00/00/wKgBCmVXxyGEAAAAAAAAAAcAAAA456.log",
	"1700000007 U M00/00/00/wKgBCmVXxyGAcL3BAAAABncc3SA123.txt-m",
	"1700000008 d M00/00/00/wKgBC2VXxyGAHZ8vAAAABncc3SA789.jpg",
}

// fuzzBinlog is a binlog file of the records above.
var fuzzBinlog = strings.Join(fuzzRecords, "\n") + "\n"

// FuzzParse: a line Parse accepts is written back by String as a line
// that parses to the same record (what the sync workers forward and the
// deferred files keep), and the numbers Ints accepts are never negative;
// a refusal is protocol.ErrInvalid, which the sync workers skip.
func FuzzParse(f *testing.F) {
	for _, l := range fuzzRecords {
		f.Add(l)
	}
	for _, l := range []string{"", "1 C", "x C a", "1 CC a", " 2  D  a ", "3 A a -1 5", "4 M a 1 99999999999999999999", "5 \xff a", "garbage (3 bytes): \"\\x00\""} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := Parse(line)
		if err != nil {
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("Parse(%q): %v, want ErrInvalid", line, err)
			}
			return
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, whose line %q does not parse: %v", line, r, r.String(), err)
		}
		if again.Timestamp != r.Timestamp || again.Op != r.Op || again.Name != r.Name || !slices.Equal(again.Extra, r.Extra) {
			t.Fatalf("Parse(%q) = %+v, its line %q parses to %+v", line, r, r.String(), again)
		}
		a, b, err := r.Ints()
		if err != nil {
			return
		}
		if a < 0 || b < 0 {
			t.Fatalf("Ints of %q = %d, %d", line, a, b)
		}
		r2, err := Parse(Format(r.Timestamp, r.Op, r.Name, strconv.FormatInt(a, 10)+" "+strconv.FormatInt(b, 10)))
		if err != nil {
			t.Fatal(err)
		}
		if a2, b2, err := r2.Ints(); err != nil || a2 != a || b2 != b {
			t.Fatalf("Ints of %q = %d, %d; written back: %d, %d, %v", line, a, b, a2, b2, err)
		}
	})
}

// FuzzOpen: whatever binlog_index.dat and the binlog file it names hold,
// Open either refuses them with an error naming the index file, or
// continues a file that now holds exactly the whole records it held (the
// cut tail saved beside it, byte for byte), takes the next record on a
// line of its own, and keeps the index it read. Align, given any
// position a mark file may hold (loadMark's bounds), returns one at or
// before it, inside the file, at a record boundary: no record is missed
// or read from its middle.
func FuzzOpen(f *testing.F) {
	memtmp.Use(f)
	f.Add([]byte("current_write=0\ncurrent_compress=0\n"), []byte(fuzzBinlog), uint16(0), int64(60))
	f.Add([]byte("current_write=3\ncurrent_compress=2\n"), []byte(fuzzBinlog+"1700000009 D M00/00"), uint16(3), int64(len(fuzzBinlog)+4))
	f.Add([]byte("current_write=1\n"), append([]byte(fuzzBinlog), make([]byte, 3000)...), uint16(1), int64(1<<40))
	f.Add([]byte("current_write=0\n"), []byte("\x00\x00\x00"), uint16(0), int64(2))
	f.Add([]byte(""), []byte{}, uint16(5), int64(0))
	f.Add([]byte("current_write=1000\n"), []byte(fuzzBinlog), uint16(0), int64(0))
	f.Add([]byte("current_write=-1\n"), []byte(fuzzBinlog), uint16(0), int64(0))
	f.Add([]byte("current_write = 7 \r\ncurrent_compress=-4\n garbage\n"), []byte("1 C a\n\n\n2 D"), uint16(7), int64(7))
	f.Add([]byte("current_write=2\ncurrent_compress=99999999999999999999\n"), []byte(fuzzBinlog), uint16(2), int64(3))
	f.Add([]byte(strings.Repeat("x", 70000)+"\ncurrent_write=1\n"), []byte(fuzzBinlog), uint16(1), int64(1))
	f.Fuzz(func(t *testing.T, index, data []byte, pIndex uint16, pOffset int64) {
		dir := t.TempDir()
		ipath := filepath.Join(dir, IndexFile)
		if err := os.WriteFile(ipath, index, 0o644); err != nil {
			t.Fatal(err)
		}
		idx, packed, err := readIndex(ipath)
		if err != nil {
			if !strings.Contains(err.Error(), ipath) {
				t.Fatalf("readIndex(%q): %.200v does not name the file", clip(index), err)
			}
			return
		}
		if idx < 0 || idx > 999 || packed < 0 || packed > idx {
			t.Fatalf("readIndex(%q) = %d, %d", clip(index), idx, packed)
		}
		if err := os.WriteFile(Path(dir, idx), data, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := open(dir, MaxFileSize)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer w.Close()
		checkRepair(t, w, data)
		if i2, p2, err := readIndex(ipath); err != nil || i2 != idx || p2 != packed {
			t.Fatalf("index %q read as %d, %d; written back as %d, %d, %v", clip(index), idx, packed, i2, p2, err)
		}
		checkAlign(t, dir, w, Pos{int(pIndex % 1000), max(pOffset, 0)})
		checkNextRecord(t, w)
	})
}

// checkRepair checks the binlog file Open continues: the whole records of
// data, and its cut tail saved beside it.
func checkRepair(t *testing.T, w *Writer, data []byte) {
	t.Helper()
	end := bytes.LastIndexByte(data, '\n') + 1
	got, err := os.ReadFile(w.Path(w.Index()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[:end]) {
		t.Fatalf("binlog of %q left as %q, want %q", clip(data), clip(got), clip(data[:end]))
	}
	if w.Opened() != (Pos{w.Index(), int64(end)}) {
		t.Fatalf("Opened = %v, want %d/%d", w.Opened(), w.Index(), end)
	}
	rep := w.Repaired()
	if (rep != nil) != (end < len(data)) {
		t.Fatalf("binlog of %q: Repaired = %v", clip(data), rep)
	}
	if rep == nil {
		return
	}
	saved, err := os.ReadFile(rep.SavedTo)
	if err != nil || !bytes.Equal(saved, data[end:]) || rep.Offset != int64(end) || rep.Bytes != int64(len(data)-end) {
		t.Fatalf("binlog of %q: repair %v saved %q, %v", clip(data), rep, clip(saved), err)
	}
}

// checkAlign checks Align of p against the writer's only binlog file.
func checkAlign(t *testing.T, dir string, w *Writer, p Pos) {
	t.Helper()
	q, why, err := Align(dir, w.Index(), w.Opened(), p)
	if err != nil {
		t.Fatalf("Align(%v): %v", p, err)
	}
	if q.Index > p.Index || q.Index == p.Index && q.Offset > p.Offset {
		t.Fatalf("Align(%v) = %v (%s): past the position", p, q, why)
	}
	if (why == "") != (q == p) {
		t.Fatalf("Align(%v) = %v, why %q", p, q, why)
	}
	if q.Index != w.Index() {
		return // a missing file, which a reader moves past
	}
	data, err := os.ReadFile(w.Path(q.Index))
	if err != nil {
		t.Fatal(err)
	}
	if q.Offset < 0 || q.Offset > int64(len(data)) || q.Offset > 0 && data[q.Offset-1] != '\n' {
		t.Fatalf("Align(%v) = %v (%s): not a record boundary of %q", p, q, why, clip(data))
	}
}

// checkNextRecord writes a record and reads it back as the file's last.
func checkNextRecord(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Write(1700000100, OpCreate, "M00/00/00/next.txt", ""); err != nil {
		t.Fatal(err)
	}
	var last *Record
	if err := EachRecord(w.Path(w.Index()), func(r *Record) error { last = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if last == nil || last.String() != "1700000100 C M00/00/00/next.txt" {
		t.Fatalf("last record %+v, want the one written", last)
	}
}

// FuzzEachRecord: EachRecord, over a binlog file as it is or gzipped,
// passes exactly the records a Reader of the same file returns, in order
// (the replays at start and the sync workers see the same binlog), and
// each of them is a whole line of the file.
func FuzzEachRecord(f *testing.F) {
	memtmp.Use(f)
	f.Add([]byte(fuzzBinlog), false)
	f.Add([]byte(fuzzBinlog), true)
	f.Add([]byte(fuzzBinlog+"1700000009 D M00/00"), false)
	f.Add([]byte(fuzzRecords[0]+"\n"+strings.Repeat("\x00", 1500)+"\n"+fuzzRecords[1]+"\n"), true)
	f.Add([]byte(strings.Repeat("y", 1023)+"\n"+strings.Repeat("z", 1024)+"\n1 C a\n"), false)
	f.Add([]byte("1 C a\r\n\n \n2  D  b  \n"+strings.Repeat("w", 5000)), false)
	f.Fuzz(func(t *testing.T, data []byte, packed bool) {
		dir := t.TempDir()
		path := Path(dir, 0)
		if err := writeBinlogFile(path, data, packed); err != nil {
			t.Fatal(err)
		}
		var each []string
		err := EachRecord(path, func(r *Record) error {
			each = append(each, r.String())
			return nil
		})
		if err != nil {
			t.Fatalf("EachRecord: %v", err)
		}
		read := readAllRecords(t, dir)
		if !slices.Equal(each, read) {
			t.Fatalf("binlog %q (gzipped %v): EachRecord %q, Reader %q", clip(data), packed, each, read)
		}
		lines := strings.Split(string(data), "\n")
		for _, rec := range each {
			if !slices.ContainsFunc(lines, func(l string) bool { r, err := Parse(l); return err == nil && r.String() == rec }) {
				t.Fatalf("binlog %q: record %q is no line of it", clip(data), rec)
			}
		}
	})
}

func writeBinlogFile(path string, data []byte, packed bool) error {
	if !packed {
		return os.WriteFile(path, data, 0o644)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return os.WriteFile(path+GzSuffix, b.Bytes(), 0o644)
}

// readAllRecords reads binlog.000 of dir with a Reader, as the file the
// writer appends to, and returns its records that parse.
func readAllRecords(t *testing.T, dir string) []string {
	t.Helper()
	r := NewReader(dir, func() int { return 0 }, 0, 0)
	defer r.Close()
	var out []string
	for {
		line, n, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Reader: %v", err)
		}
		if n <= 0 {
			t.Fatalf("Reader: record %q of %d bytes", line, n)
		}
		r.Commit(n)
		if rec, err := Parse(line); err == nil {
			out = append(out, rec.String())
		}
	}
}

// clip shortens a fuzz input for a failure message.
func clip(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}
