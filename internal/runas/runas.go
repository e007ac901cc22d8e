package runas

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Target is who a daemon should run as: run_by_user and run_by_group
// resolved. UID and GID are -1 for what is not changed.
type Target struct {
	User, Group string // the names as configured, "" when unset
	UID, GID    int
	Groups      []int // supplementary groups of User (with GID), when User is set
}

// Resolve looks up the names of run_by_user and run_by_group ("" for
// unset). With a user and no group the user's primary group is taken
// (upstream keeps root's group then; files the daemon creates would be
// group root).
func Resolve(userName, groupName string) (Target, error) {
	t := Target{User: userName, Group: groupName, UID: -1, GID: -1}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return t, fmt.Errorf("run_by_group %q: %w", groupName, err)
		}
		if t.GID, err = strconv.Atoi(g.Gid); err != nil {
			return t, fmt.Errorf("run_by_group %q: gid %q: %w", groupName, g.Gid, err)
		}
	}
	if userName == "" {
		return t, nil
	}
	u, err := user.Lookup(userName)
	if err != nil {
		return t, fmt.Errorf("run_by_user %q: %w", userName, err)
	}
	if t.UID, err = strconv.Atoi(u.Uid); err != nil {
		return t, fmt.Errorf("run_by_user %q: uid %q: %w", userName, u.Uid, err)
	}
	if t.GID < 0 {
		if t.GID, err = strconv.Atoi(u.Gid); err != nil {
			return t, fmt.Errorf("run_by_user %q: gid %q: %w", userName, u.Gid, err)
		}
	}
	t.Groups = []int{t.GID}
	ids, err := u.GroupIds()
	if err != nil {
		return t, fmt.Errorf("run_by_user %q: groups: %w", userName, err)
	}
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil && !slices.Contains(t.Groups, g) {
			t.Groups = append(t.Groups, g)
		}
	}
	return t, nil
}

// String names the target for logs: "user fdfs (uid 1001), group fdfs (gid 1001)".
func (t Target) String() string {
	var parts []string
	if t.UID >= 0 {
		parts = append(parts, fmt.Sprintf("user %s (uid %d)", t.User, t.UID))
	}
	if t.GID >= 0 {
		name := t.Group
		if name == "" {
			name = "of " + t.User
		}
		parts = append(parts, fmt.Sprintf("group %s (gid %d)", name, t.GID))
	}
	return strings.Join(parts, ", ")
}

// Needed reports whether a process with effective ids euid and egid must
// switch to reach t. Only root can; a process that already is t's user
// and the group configured has nothing to do (the group it runs with is
// its own affair when only the user is named, as for upstream's), any
// other is refused, as upstream's setegid/seteuid refuse it.
func (t Target) Needed(euid, egid int) (bool, error) {
	if (t.UID < 0 || t.UID == euid) && (t.Group == "" || t.GID == egid) {
		return false, nil
	}
	if euid == 0 {
		return true, nil
	}
	return false, fmt.Errorf("cannot run as %s: only a daemon started as root can switch, this one runs as uid %d, gid %d; start it as root or as that user: %w",
		t, euid, egid, syscall.EPERM)
}

// PrepareDirs creates the missing directories of l.Make (mode 0755, their
// missing parents too) and gives those it created at or below one of
// l.Roots to t's user and group; parents above a root stay root's, and
// directories that exist are left as they are, as upstream does.
func (t Target) PrepareDirs(l Layout) error {
	for _, d := range l.Make {
		if err := t.mkdirAll(filepath.Clean(d), l.Roots); err != nil {
			return err
		}
	}
	return nil
}

func (t Target) mkdirAll(dir string, roots []string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory: %w", dir, syscall.ENOTDIR)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := t.mkdirAll(parent, roots); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if !underAny(dir, roots) {
		return nil
	}
	if err := os.Lchown(dir, t.UID, t.GID); err != nil {
		return fmt.Errorf("chown %s to %s: %w", dir, t, err)
	}
	return nil
}

// underAny reports whether dir is one of roots or below one.
func underAny(dir string, roots []string) bool {
	for _, r := range roots {
		r = filepath.Clean(r)
		if dir == r || strings.HasPrefix(dir, r+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// Switch changes the ids of every thread of the process to t: the
// supplementary groups (when the user changes), then the group, then the
// user, each real, effective and saved, so the daemon cannot take root
// back. Upstream changes only the effective ids.
func (t Target) Switch() error {
	if t.UID >= 0 {
		if err := syscall.Setgroups(t.Groups); err != nil {
			return fmt.Errorf("setgroups %v: %w", t.Groups, err)
		}
	}
	if t.GID >= 0 {
		if err := syscall.Setgid(t.GID); err != nil {
			return fmt.Errorf("setgid %d: %w", t.GID, err)
		}
	}
	if t.UID >= 0 {
		if err := syscall.Setuid(t.UID); err != nil {
			return fmt.Errorf("setuid %d: %w", t.UID, err)
		}
	}
	return nil
}

// Layout is what a daemon writes, as the switch needs to know it.
type Layout struct {
	Roots []string // base_path and the store paths: what a chown -R must cover
	Make  []string // directories created, if missing, before the switch (under Roots)
	Write []string // directories the daemon creates or removes files in
	State []string // directories whose files the daemon appends to or rewrites
}

// Run switches a process with effective ids euid and egid to t when it
// must (Needed), after creating l.Make and calling before (which opens
// what the daemon opens as root, as upstream its log file), and then
// checks l (CheckWritable). It reports whether it switched; before is
// called in any case but an error of Needed.
func Run(t Target, l Layout, euid, egid int, before func() error) (bool, error) {
	need, err := t.Needed(euid, egid)
	if err != nil {
		return false, err
	}
	if !need {
		return false, before()
	}
	if err := t.PrepareDirs(l); err != nil {
		return false, err
	}
	if err := before(); err != nil {
		return false, err
	}
	if err := t.Switch(); err != nil {
		return false, err
	}
	return true, t.CheckWritable(l)
}

// CheckWritable checks, as the process is now, that each of l.Write that
// exists can be written and searched, and each regular file directly
// inside l.State can be written, but for upstream's pid files (written
// by its daemons as root; ours have none). The error names the first path
// that cannot be, and the chown that mends it.
func (t Target) CheckWritable(l Layout) error {
	fail := func(path string, err error) error {
		return fmt.Errorf("%s cannot be written as %s (left by a daemon run as another user?): run chown -R %s %s: %w",
			path, t, t.chownSpec(), strings.Join(l.Roots, " "), err)
	}
	for _, d := range l.Write {
		if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil && !errors.Is(err, unix.ENOENT) {
			return fail(d, err)
		}
	}
	for _, d := range l.State {
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fail(d, err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".pid") {
				continue
			}
			p := filepath.Join(d, e.Name())
			if err := unix.Access(p, unix.W_OK|unix.R_OK); err != nil && !errors.Is(err, unix.ENOENT) {
				return fail(p, err)
			}
		}
	}
	return nil
}

// chownSpec is chown's "user:group" argument for t.
func (t Target) chownSpec() string {
	u, g := t.User, t.Group
	if u == "" {
		u = strconv.Itoa(os.Geteuid())
	}
	if g == "" {
		g = strconv.Itoa(t.GID)
	}
	return u + ":" + g
}
