package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeInstall runs `make install` into a staging directory with
// PREFIX=/usr, the C daemons' paths: the binary, and the links under
// which it takes their command line (what upstream's systemd units and
// init scripts run).
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
}
