package faults

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// fillStats is what the uploaders of TestDiskFull saw.
type fillStats struct {
	mu      sync.Mutex
	acked   map[string][]byte // file ID -> content
	noSpace int               // refusals with ENOSPC (28)
	other   []string          // any other failure
}

// fill uploads files of the sizes size(k) (k = 0, 1, ...) until the
// refusals are ENOSPC stopAfter times in a row.
func (f *fillStats) fill(cl *client.Client, seed uint64, size func(k int) int, stopAfter int) {
	for k, inRow := 0, 0; inRow < stopAfter; k++ {
		b := content(seed<<20+uint64(k), size(k))
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		id, err := cl.Upload(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "bin"})
		cancel()
		f.mu.Lock()
		switch {
		case err == nil:
			f.acked[id] = b
			inRow = 0
		case errors.Is(err, protocol.ErrNoSpace):
			f.noSpace++
			inRow++
		default:
			f.other = append(f.other, err.Error())
			inRow++
		}
		f.mu.Unlock()
	}
}

// TestDiskFull: one tracker (reserved_storage_space 10%), storage S1 of
// group1 with two store paths on tmpfs of 8 and 16 MiB, storage S2 of
// group2 with one of 16 MiB. Four clients upload 64–512 KiB files and one
// 3 MiB files, concurrently, until each is refused ENOSPC 5 times in a
// row. Every refusal must be ENOSPC; every acknowledged file must be
// served byte for byte; each store path must hold exactly the
// acknowledged files (no temp file, no partial file) and keep its 10%;
// every path must have taken files (uploads went where there was room).
// Then files are deleted from the smaller path, and uploads must be
// acknowledged again.
func TestDiskFull(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	paths := []string{mountTmpfs(t, dir, "s1p0", "8m"), mountTmpfs(t, dir, "s1p1", "16m"), mountTmpfs(t, dir, "s2p0", "16m")}
	// The trackers learn the free space from the prompt reports alone
	// (stat_report_interval far beyond the test): a reservation or a
	// delete that crosses the reserve is reported at once.
	cl, nodes := startDiskCluster(t, "127.0.0.163", 3600, map[string][]string{
		"group1@127.0.0.164": paths[:2],
		"group2@127.0.0.165": paths[2:],
	})
	s1, s2 := nodes["group1@127.0.0.164"], nodes["group2@127.0.0.165"]
	st := &fillStats{acked: map[string][]byte{}}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() { st.fill(cl, uint64(g+1), func(k int) int { return (16 + (k*37+g*11)%113) * 4096 }, 5) })
	}
	wg.Go(func() { st.fill(cl, 9, func(int) int { return 3 << 20 }, 5) })
	wg.Wait()
	for _, e := range st.other {
		t.Errorf("an upload failed otherwise than ENOSPC: %s", e)
	}
	storeOf := map[string]struct {
		n    *diskNode
		path string
	}{}
	// want[path] = logical names acknowledged on it
	want := map[string]map[string]bool{}
	for id := range st.acked {
		g, name, _ := strings.Cut(id, "/")
		n := s1
		if g == "group2" {
			n = s2
		}
		p := n.paths[pathOf(id)]
		storeOf[id] = struct {
			n    *diskNode
			path string
		}{n, p}
		if want[p] == nil {
			want[p] = map[string]bool{}
		}
		want[p][name] = true
	}
	for id, b := range st.acked {
		s, got, err := fetch(storeOf[id].n.addr, id)
		if err != nil || s != 0 || !bytes.Equal(got, b) {
			t.Errorf("acknowledged %s: status %d, %d bytes (want %d), %v", id, s, len(got), len(b), err)
		}
	}
	for _, n := range []*diskNode{s1, s2} {
		for i, p := range n.paths {
			files, temps := storedFiles(t, p, i)
			free, total := freeBytes(t, p)
			extra, missing := 0, 0
			for f := range files {
				if !want[p][f] {
					extra++
					t.Errorf("%s holds %s, which no client was told was stored", p, f)
				}
			}
			for f := range want[p] {
				if !files[f] {
					missing++
				}
			}
			t.Logf("%s path %d (%d MiB): %d files acknowledged, %d on disk, %d unacknowledged, %d temp; free %d KiB (reserve %d KiB)",
				n.group, i, total>>20, len(want[p]), len(files), extra, len(temps), free>>10, total/10>>10)
			if len(temps) > 0 || missing > 0 || len(want[p]) == 0 || free < total/10 {
				t.Errorf("%s path %d: %d temp files, %d acknowledged files missing, %d files, %d bytes free of %d: want 0, 0, > 0, >= 10%%",
					n.group, i, len(temps), missing, len(want[p]), free, total)
			}
		}
	}
	t.Logf("uploads: %d acknowledged, %d refused ENOSPC, %d other failures", len(st.acked), st.noSpace, len(st.other))

	// Room again: delete 2 MiB or more of the small path's files.
	freed := int64(0)
	for id, b := range st.acked {
		if storeOf[id].path == paths[0] && freed < 2<<20 {
			if err := cl.Delete(context.Background(), id); err != nil {
				t.Fatal(err)
			}
			freed += int64(len(b))
		}
	}
	// To group1, where the room is: group2 may look to the tracker as
	// having a little (its whole MB), take one file and refuse the next.
	b := content(77, 256<<10)
	up := client.UploadOptions{Ext: "bin", Group: "group1"}
	testwait.For(t, waitLimit, "an upload acknowledged after the delete", func() error {
		_, err := cl.Upload(context.Background(), bytes.NewReader(b), int64(len(b)), up)
		if err != nil && !errors.Is(err, protocol.ErrNoSpace) {
			t.Fatalf("upload after the delete: %v", err)
		}
		return err
	})
	for range 3 {
		if _, err := cl.Upload(context.Background(), bytes.NewReader(b), int64(len(b)), up); err != nil {
			t.Errorf("upload after %d KiB were freed: %v", freed>>10, err)
		}
	}
	t.Logf("freed %d KiB on group1 path 0: uploads acknowledged again", freed>>10)
	fillMidUpload(t, s1.addr, paths[0])
}

// fillMidUpload sends half of a 1 MiB upload to store path 0 of the
// storage at addr, fills that path's file system from outside (as another
// program would) and sends the rest: the answer must be ENOSPC, the temp
// file gone; once the other program's file is removed, the same upload
// must be acknowledged.
func fillMidUpload(t *testing.T, addr, store string) {
	t.Helper()
	b := content(88, 1<<20)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	head := (&protocol.UploadRequest{StorePathIndex: 0, FileSize: int64(len(b)), Ext: "bin"}).Encode()
	pkt := append(append(protocol.Header{Length: int64(len(head) + len(b)), Cmd: protocol.CmdUploadFile}.Bytes(), head...), b[:len(b)/2]...)
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, waitLimit, "the upload's temp file", func() bool { return len(tempFiles(store)) > 0 })
	filler := filepath.Join(store, "filler")
	n := fillUp(t, filler)
	c.Write(b[len(b)/2:]) // the storage may have answered and closed already
	h, err := protocol.ReadHeader(c)
	if err != nil || h.Status != protocol.ENOSPC {
		t.Errorf("upload when the disk filled under it: status %d, %v; want %d (ENOSPC)", h.Status, err, protocol.ENOSPC)
	}
	if tmp := tempFiles(store); len(tmp) > 0 {
		t.Errorf("temp files left after the refused upload: %v", tmp)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if s, id, err := uploadAt(addr, 0, b); err != nil || s != 0 || pathOf(id) != 0 {
		t.Errorf("upload once the space was back: %s status %d, %v", id, s, err)
	}
	t.Logf("disk filled mid-upload (another program wrote %d KiB): status %d, no temp file; acknowledged once that file was removed", n>>10, h.Status)
}

// fillUp writes path until its file system is full; it returns the bytes
// written.
func fillUp(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		k, err := f.Write(chunk)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
