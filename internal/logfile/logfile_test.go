package logfile

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct{ now, hhmm, want string }{
		{"2026-12-05 10:00:00", "00:00", "2026-12-06 00:00:00"},
		{"2026-12-05 10:00:00", "10:30", "2026-12-05 10:30:00"},
		{"2026-12-05 10:30:00", "10:30", "2026-12-06 10:30:00"}, // now is not after: tomorrow
		{"2026-12-31 23:59:59", "01:30", "2027-01-01 01:30:00"},
	}
	for _, c := range cases {
		if got := next(at(c.now), c.hhmm); !got.Equal(at(c.want)) {
			t.Errorf("next(%s, %s) = %s, want %s", c.now, c.hhmm, got, c.want)
		}
	}
}

// clock is a settable time for the rotation's names (read by the
// rotation goroutine too).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openTest(t *testing.T, opt Options) (*File, string, *clock, *int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logs", "trackerd.log")
	c := &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.Local)}
	opens := 0
	l, err := open(path, opt, func(*os.File) error { opens++; return nil }, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path, c, &opens
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRotate(t *testing.T) {
	l, path, c, opens := openTest(t, Options{})
	l.Write([]byte("before\n"))
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("after\n"))
	if got := read(t, path+".20261205_100000"); got != "before\n" {
		t.Errorf("rotated file: %q", got)
	}
	if got := read(t, path); got != "after\n" {
		t.Errorf("new file: %q", got)
	}
	if *opens != 2 {
		t.Errorf("onOpen called %d times, want 2", *opens)
	}
	// The same second again: the rotated name is taken; nothing is lost.
	if err := l.Rotate(); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second rotation in the same second: %v, want an error", err)
	}
	l.Write([]byte("still\n"))
	if got := read(t, path); got != "after\nstill\n" {
		t.Errorf("file after a failed rotation: %q", got)
	}
	c.add(time.Second)
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
}

func TestRotateOnSize(t *testing.T) {
	l, path, c, _ := openTest(t, Options{RotateOnSize: 10})
	l.Write([]byte("0123456"))
	c.add(time.Second)
	l.Write([]byte("789abcd")) // would pass 10 bytes: rotates first
	l.Write([]byte("e"))
	if got := read(t, path+".20261205_100001"); got != "0123456" {
		t.Errorf("rotated file: %q", got)
	}
	if got := read(t, path); got != "789abcde" {
		t.Errorf("current file: %q", got)
	}
	// Past the size again within the same second: the rotated name is
	// taken; one failure line, then the lines go on to the current file.
	l.Write([]byte("0123456"))
	l.Write([]byte("x"))
	if got := read(t, path); !strings.HasPrefix(got, "789abcde") || strings.Count(got, "rotation failed") != 1 || !strings.HasSuffix(got, "0123456x") {
		t.Errorf("current file after a failed rotation: %q", got)
	}
}

func TestTidy(t *testing.T) {
	l, path, c, _ := openTest(t, Options{KeepDays: 3, CompressOld: true, CompressDaysBefore: 1})
	dir := filepath.Dir(path)
	names := map[string]string{ // name: what tidy leaves of it
		"trackerd.log.20261205_000000":    "kept",
		"trackerd.log.20261203_000000":    "gzipped",
		"trackerd.log.20261202_000000.gz": "kept",
		"trackerd.log.20261130_000000":    "deleted", // 5 days 10 hours: past 3+1 days
		"trackerd.log.20261101_000000.gz": "deleted",
		"trackerd.log.bak":                "kept", // not a rotated name
		"storaged.log.20261101_000000":    "kept", // another log
	}
	for n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("log of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.tidy(c.now()); err != nil {
		t.Fatal(err)
	}
	for n, want := range names {
		p := filepath.Join(dir, n)
		_, err := os.Stat(p)
		switch want {
		case "kept":
			if err != nil {
				t.Errorf("%s: %v, want kept", n, err)
			}
		case "deleted":
			if err == nil {
				t.Errorf("%s kept, want deleted", n)
			}
		case "gzipped":
			if err == nil {
				t.Errorf("%s kept, want gzipped", n)
			}
			f, err := os.Open(p + ".gz")
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(zr)
			f.Close()
			if err != nil || string(b) != "log of "+n {
				t.Errorf("%s.gz holds %q, %v", n, b, err)
			}
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the current log: %v", err)
	}
}

func TestHeader(t *testing.T) {
	l, path, c, _ := openTest(t, Options{Header: func() []byte { return []byte("columns\n") }})
	l.Write([]byte("a\n"))
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("b\n"))
	if got := read(t, path+"."+c.now().Format(rotatedFormat)); got != "columns\na\n" {
		t.Errorf("first file %q", got)
	}
	if got := read(t, path); got != "columns\nb\n" {
		t.Errorf("file after the rotation %q", got)
	}
	// Appending to a file that has lines: no second header.
	l.Close()
	l2, err := open(path, Options{Header: func() []byte { return []byte("columns\n") }}, nil, c.now)
	if err != nil {
		t.Fatal(err)
	}
	l2.Write([]byte("c\n"))
	l2.Close()
	if got := read(t, path); got != "columns\nb\nc\n" {
		t.Errorf("reopened file %q", got)
	}
}

// TestRotateAfterMove is logrotate's way: the file moved away, then
// SIGHUP (Rotate): a new file is opened, the moved one left alone.
func TestRotateAfterMove(t *testing.T) {
	l, path, _, _ := openTest(t, Options{})
	l.Write([]byte("before\n"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("still to the moved file\n"))
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("after\n"))
	if got := read(t, path+".1"); got != "before\nstill to the moved file\n" {
		t.Errorf("moved file %q", got)
	}
	if got := read(t, path); got != "after\n" {
		t.Errorf("new file %q", got)
	}
}
