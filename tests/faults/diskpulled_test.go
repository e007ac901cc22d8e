package faults

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// TestDiskPulled: storage S1 of a group of two has its second store path
// on a disk of its own (a tmpfs mounted at the store path). The disk is
// pulled from the running storage (unmounted: the store path shows the
// empty mount point on the root file system). Then:
//   - every file S1 held is still read through S1, byte for byte (those of
//     the pulled disk from S2), on its HTTP port too;
//   - uploads asking for that path land on the other one, none onto the
//     root file system's mount point;
//   - a delete of a file there is EIO, not ENOENT: the file is in the
//     group, S1 cannot reach it;
//   - S1 logs the loss once;
//   - a new disk mounted there, S1 refills it from S2 as it runs and
//     serves every file from its own disks again; the same with S1
//     stopped while its disk is replaced, by disk recovery at start.
func TestDiskPulled(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	disk := mountTmpfs(t, dir, "s1-path1", "16m")
	p0, q0, q1 := filepath.Join(dir, "s1-path0"), filepath.Join(dir, "s2-path0"), filepath.Join(dir, "s2-path1")
	for _, p := range []string{p0, q0, q1} {
		mkdir(t, p)
	}
	const s1, s2 = "group1@127.0.0.176", "group1@127.0.0.177"
	_, nodes := startDiskCluster(t, "127.0.0.175", 1, map[string][]string{s1: {p0, disk}, s2: {q0, q1}})
	a, b := nodes[s1], nodes[s2]
	files := map[string][]byte{}
	for i := range 10 {
		content := content(uint64(2000+i), 20000)
		st, id, err := uploadAt(a.addr, byte(i%2), content)
		if err != nil || st != 0 || pathOf(id) != i%2 {
			t.Fatalf("upload to path %d: %s, status %d, %v", i%2, id, st, err)
		}
		files[id] = content
	}
	for id, want := range files {
		testwait.For(t, waitLimit, id+" on S2", func() error {
			if st, got, err := fetch(b.addr, id); err != nil || st != 0 || !bytes.Equal(got, want) {
				return fmt.Errorf("status %d, %d bytes, %v", st, len(got), err)
			}
			return nil
		})
	}

	if out, err := exec.Command("umount", "-l", disk).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v: %s", disk, err, out)
	}
	served := 0
	for id, want := range files {
		if st, got, err := fetchFrom(a.addr, id, "127.0.0.1"); err != nil || st != 0 || !bytes.Equal(got, want) {
			t.Errorf("disk pulled, read of %s (path %d) through S1: status %d, %d bytes, %v", id, pathOf(id), st, len(got), err)
		} else {
			served++
		}
	}
	t.Logf("disk pulled: %d of %d files read through S1, byte for byte", served, len(files))
	for id, want := range files {
		if pathOf(id) != 1 {
			continue
		}
		url := "http://" + net.JoinHostPort("127.0.0.176", "8080") + "/" + id
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("disk pulled, GET %s from S1's HTTP port: %d, %d bytes, %v", url, resp.StatusCode, len(got), err)
		}
		break
	}
	// The reads of the pulled disk's files had S1 check its paths; an
	// upload may come before that check ends.
	testwait.For(t, waitLimit, "an upload asking for the pulled path to land on path 0", func() error {
		st, id, err := uploadAt(a.addr, 1, content(3000, 20000))
		if err != nil || st != 0 || pathOf(id) != 0 {
			return fmt.Errorf("%s, status %d, %v", id, st, err)
		}
		files[id] = content(3000, 20000)
		return nil
	})
	onPath0 := 0
	for i := range 10 {
		content := content(uint64(3001+i), 20000)
		st, id, err := uploadAt(a.addr, 1, content)
		if err != nil || st != 0 || pathOf(id) != 0 {
			t.Errorf("disk pulled, upload asking for path 1: %s, status %d, %v; want it on path 0", id, st, err)
			continue
		}
		onPath0++
		files[id] = content
	}
	t.Logf("disk pulled: %d of 10 uploads asking for the pulled path acknowledged on path 0", onPath0)
	// Past refill_new_disk_after (1 s) and a check of the paths after it
	// (a read of a file there asks for one), the empty mount point is not
	// taken for a new disk: it is on the root file system.
	time.Sleep(1500 * time.Millisecond)
	for id := range files {
		if pathOf(id) == 1 {
			fetchFrom(a.addr, id, "127.0.0.1")
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	if empty, _ := os.ReadDir(disk); len(empty) != 0 {
		t.Errorf("the mount point of the pulled disk holds %d entries, want none", len(empty))
	}
	for id := range files {
		if pathOf(id) == 1 {
			if st, err := deleteAt(a.addr, id); err != nil || st != protocol.EIO {
				t.Errorf("disk pulled, delete of %s: status %d, %v; want EIO", id, st, err)
			}
			break
		}
	}
	if n := strings.Count(string(readFile(t, a.logPath)), "store path is gone"); n != 1 {
		t.Errorf("S1 logged the loss %d times, want once", n)
	}

	// A new disk mounted in its place: S1 refills it from S2 as it runs.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a new disk: %v: %s", err, out)
	}
	ownDisks(t, a, files, "new disk, no restart")
	if n := strings.Count(string(readFile(t, a.logPath)), "store path refilled"); n != 1 {
		t.Errorf("S1 logged %d refills, want one", n)
	}

	// The same with S1 stopped while its disk is replaced: disk recovery
	// refills it at start.
	a.stop()
	if out, err := exec.Command("umount", "-l", disk).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v: %s", disk, err, out)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a new disk: %v: %s", err, out)
	}
	a.start()
	ownDisks(t, a, files, "new disk, restarted")
}

// ownDisks waits until storage a serves every file of files from its own
// disks: asked from its own address (a member of the group), it does not
// ask its peers for a file it lacks.
func ownDisks(t *testing.T, a *diskNode, files map[string][]byte, when string) {
	t.Helper()
	began := time.Now()
	for id, want := range files {
		testwait.For(t, waitLimit, id+" on S1's own disks", func() error {
			if st, got, err := fetch(a.addr, id); err != nil || st != 0 || !bytes.Equal(got, want) {
				return fmt.Errorf("status %d, %d bytes, %v", st, len(got), err)
			}
			return nil
		})
	}
	t.Logf("%s: all %d files served from S1's own disks %v later", when, len(files), time.Since(began).Round(100*time.Millisecond))
}

// fetchFrom downloads a whole file from the storage at addr on a
// connection from the address from: a client's view when from is no
// storage of the group.
func fetchFrom(addr, fileID, from string) (byte, []byte, error) {
	g, name, err := fileid.Split(fileID)
	if err != nil {
		return 0, nil, err
	}
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	return downloadOn(c, g, name, 64<<20)
}

// downloadOn sends DOWNLOAD_FILE of the whole file g/name on c and reads
// the answer (a body of at most max bytes): the status and, for 0, the
// bytes. The caller sets c's deadline.
func downloadOn(c net.Conn, g, name string, max int64) (byte, []byte, error) {
	req := (&protocol.DownloadRequest{Group: g, Name: name}).Encode()
	pkt := append(protocol.Header{Length: int64(len(req)), Cmd: protocol.CmdDownloadFile}.Bytes(), req...)
	if _, err := c.Write(pkt); err != nil {
		return 0, nil, err
	}
	h, err := protocol.ReadHeader(c)
	if err != nil {
		return 0, nil, err
	}
	body, err := protocol.ReadBody(c, h, max)
	return h.Status, body, err
}
