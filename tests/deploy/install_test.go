package deploy

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/internal/ctools"
)

// TestMakeInstall runs `make install` into a staging directory with
// PREFIX=/usr, the C daemons' paths: the binary, the links under which
// it takes their command line (what upstream's systemd units and init
// scripts run), and those under which it is upstream's client programs.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("TestMakeInstall: skipped, make not installed")
	}
	dest := t.TempDir()
	cmd := exec.Command("make", "install", "DESTDIR="+dest, "PREFIX=/usr")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr", "bin")
	if fi, err := os.Stat(filepath.Join(bin, "fdfs")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("usr/bin/fdfs: %v, %v", fi, err)
	}
	for _, name := range []string{"fdfs_trackerd", "fdfs_storaged"} {
		if target, err := os.Readlink(filepath.Join(bin, name)); err != nil || target != "fdfs" {
			t.Errorf("usr/bin/%s -> %q, %v; want a link to fdfs", name, target, err)
			continue
		}
		out, err := exec.Command(filepath.Join(bin, name), "-V").CombinedOutput()
		if err != nil || !strings.Contains(string(out), name+" V6.16.1") {
			t.Errorf("%s -V: %v, %q", name, err, out)
		}
	}
	// The C client programs, each a link that runs as that program: its
	// usage with no arguments (exit status 1), or with -h for those that
	// read /etc/fdfs/client.conf without arguments (exit status 0).
	for _, name := range ctools.Names() {
		if target, err := os.Readlink(filepath.Join(bin, name)); err != nil || target != "fdfs" {
			t.Errorf("usr/bin/%s -> %q, %v; want a link to fdfs (Makefile CTOOLS)", name, target, err)
			continue
		}
		var args []string
		want := 1
		if name == "fdfs_monitor" || strings.HasSuffix(name, "_stat") {
			args, want = []string{"-h"}, 0
		}
		path := filepath.Join(bin, name)
		out, err := exec.Command(path, args...).CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if code != want || !strings.Contains(string(out), "Usage") || !strings.Contains(string(out), path) {
			t.Errorf("%s %v: %v, %q; want its usage and exit status %d", name, args, err, out, want)
		}
	}
	entries, err := os.ReadDir(bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + len(ctools.Names()); len(entries) != want {
		t.Errorf("usr/bin has %d entries, want %d (fdfs, the two daemons, the client programs)", len(entries), want)
	}
}
