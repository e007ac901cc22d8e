package faults

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// pathProbe is what one round of requests to a storage with a damaged
// store path saw.
type pathProbe struct {
	uploads, uploadsOK     int
	onPath                 [2]int // acknowledged uploads per store path
	statuses               map[byte]int
	reads0, reads0OK       int // downloads of files on the sound path
	reads1, reads1OK       int // downloads of files on the damaged path
	reads1Wrong, reads0Bad int
}

// TestStorePathLost: a storage with two store paths, the second a
// directory on a tmpfs. The tmpfs is remounted read-only, then rw again;
// then the directory is renamed away, then back, under the running
// storage. In each state uploads (to any path and to the damaged one) and
// downloads of files of both paths are tried: the storage must not exit,
// every upload must land on a path that can take it, files on the sound
// path must be served, and once the path is back everything as before.
func TestStorePathLost(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	mnt := mountTmpfs(t, dir, "mnt", "16m")
	p0, p1 := filepath.Join(dir, "path0"), filepath.Join(mnt, "path1")
	mkdir(t, p0)
	mkdir(t, p1)
	_, nodes := startDiskCluster(t, "127.0.0.166", 1, map[string][]string{"group1@127.0.0.167": {p0, p1}})
	st := nodes["group1@127.0.0.167"]
	files := map[string][]byte{}
	seed := uint64(1000)
	for i := range 10 {
		seed++
		b := content(seed, 20000)
		s, id, err := uploadAt(st.addr, byte(i%2), b)
		if err != nil || s != 0 || pathOf(id) != i%2 {
			t.Fatalf("upload to path %d: %s, status %d, %v", i%2, id, s, err)
		}
		files[id] = b
	}
	probe := func(state string) pathProbe {
		t.Helper()
		p := pathProbe{statuses: map[byte]int{}}
		for i := range 20 {
			seed++
			idx := byte(0xFF)
			if i%2 == 1 {
				idx = 1
			}
			s, id, err := uploadAt(st.addr, idx, content(seed, 20000))
			p.uploads++
			if err != nil {
				t.Errorf("%s: upload to path %d: %v", state, idx, err)
				continue
			}
			if s != 0 {
				p.statuses[s]++
				continue
			}
			p.uploadsOK++
			p.onPath[pathOf(id)]++
			files[id] = content(seed, 20000)
		}
		for id, want := range files {
			s, got, err := fetch(st.addr, id)
			ok := err == nil && s == 0
			if pathOf(id) == 0 {
				p.reads0++
				if ok && bytes.Equal(got, want) {
					p.reads0OK++
				} else {
					p.reads0Bad++
				}
				continue
			}
			p.reads1++
			switch {
			case ok && bytes.Equal(got, want):
				p.reads1OK++
			case ok:
				p.reads1Wrong++
			}
		}
		select {
		case <-st.done:
			t.Fatalf("%s: the storage exited", state)
		default:
		}
		t.Logf("%-22s uploads ok %d/%d (path0 %d, path1 %d), refused %v; reads path0 ok %d/%d, path1 ok %d/%d",
			state, p.uploadsOK, p.uploads, p.onPath[0], p.onPath[1], p.statuses, p.reads0OK, p.reads0, p.reads1OK, p.reads1)
		if p.reads0Bad > 0 || p.reads1Wrong > 0 {
			t.Errorf("%s: %d reads of path0 failed, %d reads of path1 returned other bytes", state, p.reads0Bad, p.reads1Wrong)
		}
		return p
	}
	healthy := func(state string) {
		t.Helper()
		if p := probe(state); p.uploadsOK != p.uploads || p.onPath[1] < p.uploads/2 || p.reads1OK != p.reads1 {
			t.Errorf("%s: want every upload acknowledged (those asking for path1 on it) and every read served", state)
		}
	}
	damaged := func(state string) {
		t.Helper()
		if p := probe(state); p.uploadsOK != p.uploads || p.onPath[1] != 0 {
			t.Errorf("%s: want every upload acknowledged on path0", state)
		}
	}
	healthy("healthy")
	remount(t, mnt, "ro")
	damaged("read-only")
	for id := range files {
		if pathOf(id) == 1 {
			if s, err := deleteAt(st.addr, id); err != nil || s != byte(syscall.EROFS) {
				t.Errorf("delete of %s on the read-only path: status %d, %v; want %d (EROFS)", id, s, err, byte(syscall.EROFS))
			}
			break
		}
	}
	remount(t, mnt, "rw")
	healthy("read-write again")
	gone := filepath.Join(mnt, "gone")
	if err := os.Rename(p1, gone); err != nil {
		t.Fatal(err)
	}
	damaged("directory renamed away")
	if err := os.Rename(gone, p1); err != nil {
		t.Fatal(err)
	}
	healthy("directory back")
	if tmp := append(tempFiles(p0), tempFiles(p1)...); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}
