package regfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
	}{
		{"regular file", file, "hello", nil},
		{"symlink to a regular file", link, "hello", nil},
		{"directory", dir, "", ErrNotRegular},
		{"fifo", fifo, "", ErrNotRegular},
		{"missing", filepath.Join(dir, "nope"), "", fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rf, err := OpenFile(tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("OpenFile = %v, want %v (and fs.ErrNotExist)", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi := rf.Info()
			f := rf.OS()
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil || string(b) != tc.want || fi.Size() != int64(len(tc.want)) {
				t.Fatalf("read %q (size %d), %v; want %q", b, fi.Size(), err, tc.want)
			}
		})
	}
}

// OpenFile reads at offsets without an *os.File, hands its descriptor to
// one when asked, and refuses what TestOpen's cases refuse.
func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(file, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(dir); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("OpenFile(dir) = %v, want ErrNotRegular", err)
	}
	if _, err := OpenFile(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenFile(missing) = %v", err)
	}
	f, err := OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != 10 || f.Info().Size() != 10 || f.Info().Name() != "f.bin" || f.ModTime().IsZero() {
		t.Fatalf("size %d, info %+v", f.Size(), f.Info())
	}
	for _, tc := range []struct {
		off  int64
		n    int
		want string
		err  error
	}{
		{0, 10, "0123456789", nil},
		{3, 4, "3456", nil},
		{8, 4, "89", io.EOF},
		{10, 1, "", io.EOF},
	} {
		b := make([]byte, tc.n)
		n, err := f.ReadAt(b, tc.off)
		if string(b[:n]) != tc.want || !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("ReadAt(%d bytes at %d) = %q, %v; want %q, %v", tc.n, tc.off, b[:n], err, tc.want, tc.err)
		}
	}
	osf := f.OS()
	if err := f.Close(); err != nil {
		t.Fatalf("Close after OS: %v", err)
	}
	b, err := io.ReadAll(osf)
	if err != nil || string(b) != "0123456789" {
		t.Fatalf("read through OS: %q, %v", b, err)
	}
	if err := osf.Close(); err != nil {
		t.Fatal(err)
	}
}
