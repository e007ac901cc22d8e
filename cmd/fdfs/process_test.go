package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSameDaemon(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid() // its working directory resolves relative conf paths
	cases := []struct {
		kind    daemonKind
		conf    string
		cmdline string
		same    bool
	}{
		{storageKind, "/etc/fdfs/storage.conf", "fdfs storage --config /etc/fdfs/storage.conf", true},
		{storageKind, "/etc/fdfs/storage.conf", "fdfs storage --config=/etc/fdfs/storage.conf", true},
		{storageKind, "/etc/fdfs/storage.conf", "/usr/bin/fdfs_storaged /etc/fdfs/storage.conf start", true},
		{storageKind, filepath.Join(cwd, "storage.conf"), "fdfs storage storage.conf", true},
		{storageKind, "/srv/s2/storage.conf", "fdfs storage --config /srv/s1/storage.conf", false}, // another storage of the host
		{storageKind, "/etc/fdfs/storage.conf", "fdfs tracker --config /etc/fdfs/storage.conf", false},
		{trackerKind, "/etc/fdfs/tracker.conf", "/usr/bin/fdfs_trackerd /etc/fdfs/tracker.conf", true},
		{trackerKind, "/etc/fdfs/tracker.conf", "sleep 600", false},
		{trackerKind, "/etc/fdfs/tracker.conf", "", false},
	}
	for _, c := range cases {
		var cmdline []string
		if c.cmdline != "" {
			cmdline = strings.Fields(c.cmdline)
		}
		if got := sameDaemon(c.kind, c.conf)(pid, cmdline); got != c.same {
			t.Errorf("%s on %s: %q is the same daemon: %v, want %v", c.kind.name, c.conf, c.cmdline, got, c.same)
		}
	}
}

func TestUpstreamArgs(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/usr/bin/fdfs_trackerd /etc/fdfs/tracker.conf restart", "/usr/bin/fdfs_trackerd tracker --daemon /etc/fdfs/tracker.conf restart"},
		{"fdfs_storaged -N /etc/fdfs/storage.conf", "fdfs_storaged storage --daemon -N /etc/fdfs/storage.conf"},
		{"fdfs tracker --config x.conf", "fdfs tracker --config x.conf"},
		{"/usr/local/bin/fdfs upload --config c.conf f", "/usr/local/bin/fdfs upload --config c.conf f"},
	}
	for _, c := range cases {
		if got := strings.Join(upstreamArgs(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("upstreamArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
