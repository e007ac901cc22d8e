//go:build linux

package tmpfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// dirs returns the ways a test directory's files can be made: whatever New
// finds there, and named temporary files.
func dirs(t *testing.T, root string) map[string]*Dir {
	t.Helper()
	d := New(root, ".t-*.tmp", 0o644)
	if d.mode == modeNamed {
		t.Logf("O_TMPFILE not usable in %s: only named temporary files are tested", root)
	}
	return map[string]*Dir{"probed": d, "named": Named(".t-*.tmp", 0o644)}
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func write(t *testing.T, d *Dir, dir string, content []byte) *File {
	t.Helper()
	f, err := d.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLinkPlacesWholeFileWithExactMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for name, d := range dirs(t, t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			f := write(t, d, dir, []byte("content"))
			path := filepath.Join(dir, "final")
			if err := f.Link(path); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "content" {
				t.Fatalf("read %q, %v", got, err)
			}
			fi, _ := os.Stat(path)
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v under umask 077, want 0644", fi.Mode().Perm())
			}
			if n := entries(t, dir); len(n) != 1 {
				t.Errorf("directory holds %v, want only final", n)
			}
		})
	}
}

func TestLinkNeverReplaces(t *testing.T) {
	for name, d := range dirs(t, t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			taken := filepath.Join(dir, "taken")
			if err := os.WriteFile(taken, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			f := write(t, d, dir, []byte("new"))
			defer f.Close()
			if err := f.Link(taken); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("Link over an existing file: %v, want fs.ErrExist", err)
			}
			if got, _ := os.ReadFile(taken); string(got) != "old" {
				t.Fatalf("the existing file became %q", got)
			}
			// Another name still works after a refusal.
			if err := f.Link(filepath.Join(dir, "other")); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "other")); string(got) != "new" {
				t.Fatalf("other holds %q", got)
			}
		})
	}
}

func TestReplaceAndUnplacedLeaveNothing(t *testing.T) {
	for name, d := range dirs(t, t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			f := write(t, d, dir, bytes.Repeat([]byte("n"), 5000))
			if err := f.Replace(path); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if got, _ := os.ReadFile(path); len(got) != 5000 {
				t.Fatalf("replaced file holds %d bytes", len(got))
			}
			// A file closed without a name leaves no entry behind.
			write(t, d, dir, []byte("dropped")).Close()
			if n := entries(t, dir); len(n) != 1 || n[0] != "f" {
				t.Errorf("directory holds %v, want only f", n)
			}
		})
	}
}

// BenchmarkCreate is one 5 KB file made and placed under a fresh name, as a
// storage stores an upload (the figure in doc.go).
func BenchmarkCreate(b *testing.B) {
	content := make([]byte, 5120)
	root := b.TempDir()
	for name, d := range map[string]*Dir{"probed": New(root, ".t-*.tmp", 0o644), "named": Named(".t-*.tmp", 0o644)} {
		b.Run(name+"/"+d.Mode(), func(b *testing.B) {
			dir := b.TempDir()
			for i := 0; b.Loop(); i++ {
				f, err := d.Create(dir)
				if err != nil {
					b.Fatal(err)
				}
				f.Write(content)
				if err := f.Link(filepath.Join(dir, "f"+string(rune('a'+i%26))+randomPart())); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

func TestCreateTemp(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 100 {
		f, err := CreateTemp(dir, ".upload-*.tmp", 0o644)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f.Name())
		if !strings.HasPrefix(name, ".upload-") || !strings.HasSuffix(name, ".tmp") || seen[name] {
			t.Fatalf("temp name %q (seen before: %v)", name, seen[name])
		}
		seen[name] = true
		if _, err := f.Write([]byte("content")); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() != 7 || fi.Mode().Perm()&^0o644 != 0 {
			t.Fatalf("stat %v size %d mode %v", err, fi.Size(), fi.Mode())
		}
	}
	if _, err := CreateTemp(filepath.Join(dir, "missing"), "*", 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CreateTemp in a missing directory: %v, want ErrNotExist", err)
	}
}
