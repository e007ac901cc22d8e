package runas

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestNeeded(t *testing.T) {
	fdfs := Target{User: "fdfs", Group: "fdfs", UID: 1001, GID: 1002}
	onlyGroup := Target{Group: "fdfs", UID: -1, GID: 1002}
	cases := []struct {
		name       string
		t          Target
		euid, egid int
		need       bool
		err        bool
	}{
		{"root switches", fdfs, 0, 0, true, false},
		{"root switches group only", onlyGroup, 0, 0, true, false},
		{"already that user", fdfs, 1001, 1002, false, false},
		{"already that group", onlyGroup, 1001, 1002, false, false},
		{"nothing asked", Target{UID: -1, GID: -1}, 1000, 1000, false, false},
		{"another user", fdfs, 1000, 1000, false, true},
		{"right user, wrong group", fdfs, 1001, 1000, false, true},
		{"root's group only", onlyGroup, 1000, 0, false, true},
		{"the user, its group not named", Target{User: "fdfs", UID: 1001, GID: 1001}, 1001, 50, false, false},
		{"root, the user's group not named", Target{User: "fdfs", UID: 1001, GID: 1001}, 0, 0, true, false},
	}
	for _, c := range cases {
		need, err := c.t.Needed(c.euid, c.egid)
		if need != c.need || (err != nil) != c.err {
			t.Errorf("%s: Needed(%d, %d) = %v, %v; want %v, error %v", c.name, c.euid, c.egid, need, err, c.need, c.err)
		}
		if err != nil && (!errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "only a daemon started as root")) {
			t.Errorf("%s: error %q does not say why", c.name, err)
		}
	}
}

// nobody is the unprivileged account every Debian system has.
func nobody(t *testing.T) (*user.User, *user.Group) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Skipf("no group %s: %v", u.Gid, err)
	}
	return u, g
}

func TestResolve(t *testing.T) {
	u, g := nobody(t)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	got, err := Resolve("nobody", "")
	if err != nil || got.UID != uid || got.GID != gid || len(got.Groups) == 0 || got.Groups[0] != gid {
		t.Fatalf("Resolve(nobody) = %+v, %v; want uid %d, the user's gid %d first of its groups", got, err, uid, gid)
	}
	if s := got.String(); !strings.Contains(s, "user nobody (uid "+u.Uid+")") || !strings.Contains(s, "gid "+g.Gid) {
		t.Errorf("String() = %q", s)
	}
	got, err = Resolve("", g.Name)
	if err != nil || got.UID != -1 || got.GID != gid || got.Groups != nil {
		t.Fatalf("Resolve(\"\", %s) = %+v, %v; want the group alone", g.Name, got, err)
	}
	for _, c := range [][2]string{{"no-such-user-fdfs", ""}, {"", "no-such-group-fdfs"}} {
		if _, err := Resolve(c[0], c[1]); err == nil || !strings.Contains(err.Error(), "no-such") {
			t.Errorf("Resolve(%q, %q): %v, want an error naming it", c[0], c[1], err)
		}
	}
}

func TestPrepareDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	u, g := nobody(t)
	tg, err := Resolve(u.Username, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	existing := filepath.Join(root, "existing")
	if err := os.Mkdir(existing, 0o700); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(existing, "above", "base")
	l := Layout{Roots: []string{base}, Make: []string{filepath.Join(base, "data", "sync"), filepath.Join(base, "data", "sync")}}
	if err := tg.PrepareDirs(l); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		existing:                            0,      // existed: left alone
		filepath.Join(existing, "above"):    0,      // made, but above the root: root's, as upstream
		base:                                tg.UID, // the root and below: the user's
		filepath.Join(base, "data"):         tg.UID,
		filepath.Join(base, "data", "sync"): tg.UID,
	} {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil || int(st.Uid) != want {
			t.Errorf("%s: owner %d, %v; want %d", path, st.Uid, err, want)
		}
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tg.PrepareDirs(Layout{Roots: []string{file}, Make: []string{filepath.Join(file, "x")}}); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("PrepareDirs under a file: %v, want ENOTDIR", err)
	}
}

// TestRun switches a child process (this test binary run again) from root
// to nobody: the prepared directories become nobody's, the process's ids
// all change, and a state file left by root is named with the chown.
func TestRun(t *testing.T) {
	if os.Getenv("RUNAS_CHILD") != "" {
		runChild()
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("switching needs root")
	}
	u, _ := nobody(t)
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} { // TempDir's are 0700: nobody could not reach below
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := filepath.Join(root, "base")
	out := child(t, base)
	if !strings.HasPrefix(out, "switched ") || !strings.Contains(out, "uid="+u.Uid+","+u.Uid) {
		t.Fatalf("child: %q, want switched to uid %s (real and effective)", out, u.Uid)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(base, "data"), &st); err != nil || strconv.Itoa(int(st.Uid)) != u.Uid {
		t.Fatalf("base/data owner %d, %v; want nobody", st.Uid, err)
	}
	// A binlog left root-owned (a daemon once run as root) is refused.
	if err := os.WriteFile(filepath.Join(base, "data", "binlog.000"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = child(t, base)
	if !strings.HasPrefix(out, "error ") || !strings.Contains(out, "binlog.000 cannot be written") || !strings.Contains(out, "chown -R nobody:") {
		t.Fatalf("child with a root-owned binlog: %q, want an error naming it and the chown", out)
	}
	// Upstream's pid file, root-owned, is not ours to write.
	if err := os.Chown(filepath.Join(base, "data", "binlog.000"), mustAtoi(u.Uid), -1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "data", "fdfs_storaged.pid"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out = child(t, base); !strings.HasPrefix(out, "switched ") {
		t.Fatalf("child with upstream's pid file: %q", out)
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func child(t *testing.T, base string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRun$")
	cmd.Env = append(os.Environ(), "RUNAS_CHILD="+base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "switched ") || strings.HasPrefix(line, "error ") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("child said nothing:\n%s", out)
	return ""
}

// runChild is the child of TestRun: it switches to nobody with base as a
// storage's base_path and prints its ids or the error.
func runChild() {
	base := os.Getenv("RUNAS_CHILD")
	tg, err := Resolve("nobody", "")
	if err == nil {
		data := filepath.Join(base, "data")
		_, err = Run(tg, Layout{Roots: []string{base}, Make: []string{data}, Write: []string{base, data}, State: []string{data}}, os.Geteuid(), os.Getegid(), func() error { return nil })
	}
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		return
	}
	os.Stdout.WriteString("switched uid=" + strconv.Itoa(syscall.Getuid()) + "," + strconv.Itoa(syscall.Geteuid()) + " gid=" + strconv.Itoa(syscall.Getgid()) + "\n")
}
