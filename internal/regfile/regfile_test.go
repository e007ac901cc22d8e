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
			f, fi, err := Open(tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("Open = %v, want %v (and fs.ErrNotExist)", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil || string(b) != tc.want || fi.Size() != int64(len(tc.want)) {
				t.Fatalf("read %q (size %d), %v; want %q", b, fi.Size(), err, tc.want)
			}
		})
	}
}
