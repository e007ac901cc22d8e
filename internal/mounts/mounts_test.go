package mounts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fstab = `# /etc/fstab: static file system information.
UUID=1111-aaaa  /               ext4    errors=remount-ro 0 1
UUID=2222-bbbb  /data1          xfs     defaults,nofail   0 2
/dev/sdc1       /data2/         ext4    defaults          0 2
/dev/sdd1       /data1/deep     ext4    defaults          0 2
/dev/sde1       /mnt/my\040disk ext4    defaults          0 2
/swapfile       none            swap    sw                0 0
tmpfs           /tmp            tmpfs   defaults          0 0
`

const mountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 8:17 / /data1 rw,relatime shared:2 - xfs /dev/sdb1 rw
24 22 0:21 / /tmp rw shared:3 - tmpfs tmpfs rw
25 22 8:65 / /mnt/my\040disk rw shared:4 - ext4 /dev/sde1 rw
`

func TestUnmounted(t *testing.T) {
	entries, mounted := ParseFstab([]byte(fstab)), ParseMountinfo([]byte(mountinfo))
	for _, tc := range []struct {
		path   string
		device string // "" when mounted or under no entry
	}{
		{"/data1/fastdfs", ""},               // mounted
		{"/data1", ""},                       // the mount point itself, mounted
		{"/data2/fastdfs", "/dev/sdc1"},      // not mounted: the empty mount point
		{"/data2", "/dev/sdc1"},              // the mount point itself
		{"/data1/deep/fastdfs", "/dev/sdd1"}, // the deepest entry decides
		{"/data10/fastdfs", ""},              // a sibling of /data1, under / only
		{"/mnt/my disk/store", ""},           // escaped spaces, mounted
		{"/var/fdfs", ""},                    // under / only
		{"/data2/../var/fdfs", ""},           // cleaned first
	} {
		e, ok := Unmounted(tc.path, entries, mounted)
		if ok != (tc.device != "") || e.Device != tc.device {
			t.Errorf("Unmounted(%q) = %+v, %v; want device %q", tc.path, e, ok, tc.device)
		}
	}
}

// An fstab mount point written through a symbolic link is found as the
// kernel lists it, and holds the paths written either way.
func TestUnmountedSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "srv-data"), filepath.Join(dir, "data")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{"/dev/sdb1", link}}
	for _, p := range []string{filepath.Join(link, "fastdfs"), filepath.Join(real, "fastdfs")} {
		if _, ok := Unmounted(p, entries, map[string]bool{"/": true, real: true}); ok {
			t.Errorf("%s: unmounted, want mounted (the kernel lists %s)", p, real)
		}
		if e, ok := Unmounted(p, entries, map[string]bool{"/": true}); !ok || e.Device != "/dev/sdb1" {
			t.Errorf("%s: %+v, %v; want /dev/sdb1 not mounted", p, e, ok)
		}
	}
}

func TestParseFstab(t *testing.T) {
	got := ParseFstab([]byte(fstab))
	want := []Entry{{"UUID=1111-aaaa", "/"}, {"UUID=2222-bbbb", "/data1"}, {"/dev/sdc1", "/data2"},
		{"/dev/sdd1", "/data1/deep"}, {"/dev/sde1", "/mnt/my disk"}, {"tmpfs", "/tmp"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// Find names the path and the fstab entry, and checks nothing where the
// files cannot be read.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	FstabFile, MountinfoFile = filepath.Join(dir, "fstab"), filepath.Join(dir, "mountinfo")
	t.Cleanup(func() { FstabFile, MountinfoFile = "/etc/fstab", "/proc/self/mountinfo" })
	if p, _, ok := Find("/data2/fastdfs"); ok {
		t.Fatalf("no fstab: %s found, want no check", p)
	}
	for f, b := range map[string]string{FstabFile: fstab, MountinfoFile: mountinfo} {
		if err := os.WriteFile(f, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p, _, ok := Find("/data1/fastdfs", "/var/fdfs"); ok {
		t.Fatalf("mounted: %s found", p)
	}
	if p, e, ok := Find("/data1/fastdfs", "/data2/fastdfs"); !ok || p != "/data2/fastdfs" || e != (Entry{"/dev/sdc1", "/data2"}) {
		t.Fatalf("unmounted: %q, %+v, %v", p, e, ok)
	}
	if err := Check("/data1/fastdfs", "/data2/fastdfs"); err == nil || !strings.HasPrefix(err.Error(), "/data2/fastdfs: its file system (/dev/sdc1 on /data2 in "+FstabFile+") is not mounted") {
		t.Fatalf("Check: %v", err)
	}
}

// TestDeepest: the file system holding a path is the deepest mount point
// it lies in.
func TestDeepest(t *testing.T) {
	mounted := ParseMountinfo([]byte(mountinfo))
	for path, want := range map[string]string{
		"/data1/fastdfs":    "/data1",
		"/data1":            "/data1",
		"/data10/fastdfs":   "/",
		"/mnt/my disk/s":    "/mnt/my disk",
		"/tmp/x":            "/tmp",
		"/var/fdfs/storage": "/",
	} {
		if got := Deepest(path, mounted); got != want {
			t.Errorf("Deepest(%q) = %q, want %q", path, got, want)
		}
	}
	if got := Deepest("/x", map[string]bool{}); got != "" {
		t.Errorf("no mount points: %q", got)
	}
}

// TestPoint reads MountinfoFile, and says so where it cannot.
func TestPoint(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	if err := os.WriteFile(mi, []byte(mountinfo), 0o600); err != nil {
		t.Fatal(err)
	}
	old := MountinfoFile
	t.Cleanup(func() { MountinfoFile = old })
	MountinfoFile = mi
	if got, ok := Point("/data1/fastdfs/data"); !ok || got != "/data1" {
		t.Errorf("Point = %q, %v; want /data1, true", got, ok)
	}
	MountinfoFile = filepath.Join(dir, "absent")
	if got, ok := Point("/data1"); ok {
		t.Errorf("no mountinfo: Point = %q, true", got)
	}
}
