package mounts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Entry is a file system an fstab file lists.
type Entry struct {
	Device string // first field, as written (UUID=..., /dev/sdb1, host:/export)
	Dir    string // mount point, cleaned
}

// System files, variables so that tests can point them elsewhere.
var (
	FstabFile     = "/etc/fstab"
	MountinfoFile = "/proc/self/mountinfo"
)

// Unmounted returns the fstab entry whose mount point holds path (the
// deepest one) when that mount point is not among mounted (mount points
// now); false when it is mounted, or when no entry but "/" holds path.
func Unmounted(path string, fstab []Entry, mounted map[string]bool) (Entry, bool) {
	p := resolve(path)
	var best Entry
	var bestDir string // best's mount point as p is written: resolved or not
	for _, e := range fstab {
		for _, d := range []string{e.Dir, resolve(e.Dir)} {
			if d != "/" && within(p, d) && len(d) > len(bestDir) {
				best, bestDir = e, d
			}
		}
	}
	// The kernel lists a mount point with its symbolic links followed.
	if bestDir == "" || mounted[best.Dir] || mounted[bestDir] || mounted[resolve(best.Dir)] {
		return Entry{}, false
	}
	return best, true
}

// Find returns the first of paths whose file system, as FstabFile lists
// it, is not mounted now (MountinfoFile), with its entry; false when all
// are mounted, or where either file cannot be read (a container, another
// OS: nothing is checked).
func Find(paths ...string) (string, Entry, bool) {
	fb, err := os.ReadFile(FstabFile)
	if err != nil {
		return "", Entry{}, false
	}
	mb, err := os.ReadFile(MountinfoFile)
	if err != nil {
		return "", Entry{}, false
	}
	fstab, mounted := ParseFstab(fb), ParseMountinfo(mb)
	for _, p := range paths {
		if e, ok := Unmounted(p, fstab, mounted); ok {
			return p, e, true
		}
	}
	return "", Entry{}, false
}

// Check returns an error naming the first of paths whose file system is
// not mounted now (Find) and what to do about it; nil when none.
func Check(paths ...string) error {
	p, e, ok := Find(paths...)
	if !ok {
		return nil
	}
	return fmt.Errorf("%s: its file system (%s on %s in %s) is not mounted: mount it, or take its entry out of %s, and start again", p, e.Device, e.Dir, FstabFile, FstabFile)
}

// Point returns the mount point of the file system that holds path now:
// the deepest mount point MountinfoFile lists that path lies in. False
// where that file cannot be read.
func Point(path string) (string, bool) {
	mb, err := os.ReadFile(MountinfoFile)
	if err != nil {
		return "", false
	}
	return Deepest(resolve(path), ParseMountinfo(mb)), true
}

// Deepest returns the deepest of mounted (mount points) that holds path
// ("" when none does).
func Deepest(path string, mounted map[string]bool) string {
	best := ""
	for d := range mounted {
		if within(path, d) && len(d) > len(best) {
			best = d
		}
	}
	return best
}

// ParseFstab returns the entries of an fstab file that mount a file
// system on a directory (swap and "none" left out).
func ParseFstab(b []byte) []Entry {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "/") || len(f) > 2 && f[2] == "swap" {
			continue
		}
		out = append(out, Entry{Device: unescape(f[0]), Dir: filepath.Clean(unescape(f[1]))})
	}
	return out
}

// ParseMountinfo returns the mount points a /proc/<pid>/mountinfo file
// lists (its fifth field).
func ParseMountinfo(b []byte) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 5 {
			out[filepath.Clean(unescape(f[4]))] = true
		}
	}
	return out
}

// unescape undoes the octal escapes (\040 for a space) of fstab and
// mountinfo fields.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// resolve is path absolute and cleaned, its symbolic links followed as
// far as they exist.
func resolve(path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		p = filepath.Clean(path)
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
