package interop

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// trunkTrackerConf turns trunk storage on in a tracker's conf, with the
// smallest trunk files upstream allows (4 MB) so the store stays small.
var trunkTrackerConf = []string{"use_trunk_file=true", "store_server=1", "trunk_file_size=4MB",
	"slot_min_size=256", "slot_max_size=8KB", "trunk_create_file_advance=false"}

// trunkFile is one file of the trunk fixture: its ID, content and metadata.
type trunkFile struct {
	ID      string            `json:"id"`
	Content []byte            `json:"content"`
	Meta    map[string]string `json:"meta,omitempty"`
	Deleted bool              `json:"deleted,omitempty"`
}

// TestTrunkUpstreamStore: an upstream storage with use_trunk_file = true
// stores small files in trunk files; then our storage runs on that very
// store path (same conf) and the upstream tools must read every file as
// before (download, ranges, file info, metadata), see the deleted one
// gone, and delete a trunk file through ours. With
// FDFS_TRUNK_FIXTURE=path it also writes the store (trunk files, -m files
// and a manifest) as the tar.gz fixture of storagenode's trunk tests.
func TestTrunkUpstreamStore(t *testing.T) {
	e := newEnv(t)
	tr := e.addTracker(upstream, trunkTrackerConf...)
	st := e.addStorage(upstream, "group1", []*node{tr}, "subdir_count_per_path=1")
	e.writeClientConf()
	e.waitActive(st)

	files := uploadTrunkFiles(t, e)
	if err := st.stop(); err != nil {
		t.Fatalf("stop %s: %v", st, err)
	}
	if out := os.Getenv("FDFS_TRUNK_FIXTURE"); out != "" {
		writeTrunkFixture(t, st.store, out, files)
	}
	st.impl = ours
	st.name += "(now ours)"
	st.start()
	e.waitActive(st)

	for _, f := range files {
		if f.Deleted {
			e.expectGoneForClients(f.ID)
			continue
		}
		e.expectDownload(f.ID, f.Content)
		if len(f.Content) > 10 {
			e.expectDownload(f.ID, f.Content[3:10], 3, 7)
		}
		e.expectFileInfo(f.ID, "normal", f.Content, []*node{st})
		if f.Meta != nil {
			e.expectMeta(f.ID, f.Meta)
		}
	}
	expectTrunkListing(t, e, st, files)
	victim := files[1]
	e.mustRun("fdfs_delete_file", e.clientConf, victim.ID)
	e.expectGoneForClients(victim.ID)
	e.expectDownload(files[2].ID, files[2].Content) // its neighbour is intact
	victim.Deleted = true
	expectTrunkListing(t, e, st, files)
}

// expectTrunkListing checks that our storage st lists exactly the files
// not deleted, with their sizes: the trunk files upstream stored are
// found in upstream's binlog.
func expectTrunkListing(t *testing.T, e *env, st *node, files []*trunkFile) {
	t.Helper()
	cc, err := conf.LoadClient(e.clientConf)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.FromConf(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	page, err := cl.ListFilesAt(ctx, st.addr(), &protocol.ListFilesRequest{Group: "group1", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, f := range files {
		if !f.Deleted {
			want[f.ID[len("group1/"):]] = int64(len(f.Content))
		}
	}
	got := map[string]int64{}
	for _, le := range page.Entries {
		got[le.Name] = le.Size
	}
	if !page.End || !maps.Equal(got, want) {
		t.Fatalf("our storage on upstream's trunk store lists %v (end %v), want %v", got, page.End, want)
	}
}

// uploadTrunkFiles uploads files of a few sizes with upstream's tools
// until they land in trunks (the tracker elects the trunk server a little
// after the storage joins), sets metadata on one and deletes one.
func uploadTrunkFiles(t *testing.T, e *env) []*trunkFile {
	t.Helper()
	testwait.Until(t, waitLimit, "uploads to go into trunk files", func() bool {
		// EAGAIN until there is a trunk server.
		r := e.run("fdfs_upload_file", e.clientConf, e.writeLocal("probe.txt", []byte("probe")))
		id := strings.TrimSpace(r.stdout)
		if r.code != 0 || !fileIDRe.MatchString(id) {
			return false
		}
		e.mustRun("fdfs_delete_file", e.clientConf, id)
		return isTrunkID(id)
	})
	var files []*trunkFile
	for i, size := range []int{1, 100, 4000, 4096, 5000, 8192 - 24} {
		name := "f.bin"
		if i%2 == 1 {
			name = "f" // no extension
		}
		c := patterned(i, size)
		id := e.upload(e.writeLocal(name, c))
		if !isTrunkID(id) {
			t.Fatalf("%d-byte upload %s is not in a trunk", size, id)
		}
		files = append(files, &trunkFile{ID: id, Content: c})
	}
	e.setMeta(files[0].ID, "O", "width=100,owner=trunk")
	files[0].Meta = map[string]string{"width": "100", "owner": "trunk"}
	e.mustRun("fdfs_delete_file", e.clientConf, files[3].ID)
	files[3].Deleted = true
	// Larger than slot_max_size: a file of its own.
	big := patterned(99, 9000)
	id := e.upload(e.writeLocal("big.bin", big))
	if isTrunkID(id) {
		t.Fatalf("a %d-byte upload over slot_max_size went into a trunk: %s", len(big), id)
	}
	return append(files, &trunkFile{ID: id, Content: big})
}

// patterned is n bytes of content that differs per seed and compresses
// well (the fixture stays a few KB).
func patterned(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*(seed+3) + seed + i/251) % 251)
	}
	return b
}

// waitTrunkUploads uploads a probe to each storage until every one lands
// in a trunk slot (EAGAIN, or a file of its own, until the group has a
// trunk server).
func (e *env) waitTrunkUploads(storages ...*node) {
	e.t.Helper()
	testwait.Until(e.t, waitLimit, "uploads to go into trunk files on every storage", func() bool {
		for _, n := range storages {
			r := e.run("fdfs_upload_file", e.clientConf, e.writeLocal("probe.txt", []byte("probe")), n.addr())
			if r.code != 0 || !isTrunkID(strings.TrimSpace(r.stdout)) {
				return false
			}
		}
		return true
	})
}

// isTrunkID reports whether a file ID names a file in a trunk slot.
func isTrunkID(id string) bool {
	_, name, err := fileid.Split(id)
	n, perr := fileid.Parse(name)
	return err == nil && perr == nil && n.Trunk
}

// writeTrunkFixture writes store's data files (no binlogs, no sync
// state) and the manifest as a tar.gz at out.
func writeTrunkFixture(t *testing.T, store, out string, files []*trunkFile) {
	t.Helper()
	f, err := os.Create(out)
	must(t, err)
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	add := func(name string, b []byte) {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}))
		_, err := tw.Write(b)
		must(t, err)
	}
	manifest, err := json.MarshalIndent(files, "", " ")
	must(t, err)
	add("manifest.json", manifest)
	data := filepath.Join(store, "data")
	must(t, filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(store, p)
		if strings.Count(rel, "/") != 3 { // only data/HH/LL/<file>
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		add("store/"+rel, b)
		return nil
	}))
	must(t, tw.Close())
	must(t, zw.Close())
}

// TestTrunkMixedGroup: a group of an upstream storage and one of ours
// with trunks on, under either tracker: each stores small uploads into
// trunk slots (one allocating through the other, the trunk server), the
// slots replicate both ways, the upstream tools read the files ours
// stored (download, ranges, file info, metadata), and deletes on either
// side replicate.
func TestTrunkMixedGroup(t *testing.T) {
	for _, trk := range []impl{upstream, ours} {
		t.Run("tracker="+string(trk), func(t *testing.T) {
			e := newEnv(t)
			tr := e.addTracker(trk, trunkTrackerConf...)
			up := e.addStorage(upstream, "group1", []*node{tr})
			our := e.addStorage(ours, "group1", []*node{tr})
			e.writeClientConf()
			e.waitActive(up, our)
			both := []*node{up, our}
			e.waitTrunkUploads(both...)
			type file struct {
				id  string
				c   []byte
				src *node
			}
			var files []file
			for i := range 12 {
				src := both[i%2]
				c := patterned(i+10, 50+i*613)
				id := e.upload(e.writeLocal("m.bin", c), src.addr())
				if !isTrunkID(id) {
					t.Fatalf("upload to %s: %s not in a trunk", src, id)
				}
				files = append(files, file{id, c, src})
			}
			for _, f := range files {
				waitSlot(t, f.id, f.c, both...)
			}
			for _, f := range files {
				for range both { // the tracker picks either storage to read from
					e.expectDownload(f.id, f.c)
				}
				e.expectDownload(f.id, f.c[5:25], 5, 20)
				e.expectFileInfo(f.id, "normal", f.c, []*node{f.src})
			}
			ours1 := files[1] // stored by ours
			e.setMeta(ours1.id, "O", "k=v,trunk=yes")
			e.expectMeta(ours1.id, map[string]string{"k": "v", "trunk": "yes"})
			for _, f := range files[:2] { // one deleted on each side
				e.mustRun("fdfs_delete_file", e.clientConf, f.id)
				e.waitGone(f.id, both...) // its -m file
				waitSlot(t, f.id, nil, both...)
				e.expectGoneForClients(f.id)
			}
			for _, f := range files[2:] {
				e.expectDownload(f.id, f.c)
			}
			// Ours refused none of the trunk commands upstream sent it
			// (but for a retried EAGAIN).
			log, err := os.ReadFile(our.out)
			must(t, err)
			if m := trunkRefusal.FindAllString(string(log), 5); len(m) > 0 {
				t.Errorf("our storage refused trunk commands: %q", m)
			}
		})
	}
}

// trunkRefusal matches a log line of ours refusing a trunk command, but
// for EAGAIN (11): a trunk binlog push that comes before the group list
// naming its sender is refused for now, and upstream pushes it again.
var trunkRefusal = regexp.MustCompile(`request failed.*cmd=(2[789]|3[0-3]) status=([02-9]|1[02-9]?|[2-9][0-9]+) err="[^"]*"`)

// waitSlot waits until the slot of trunk file id on each storage holds
// exactly want (nil: is free or holds another file), read with the
// header checks of storagenode/trunk.
func waitSlot(t *testing.T, id string, want []byte, storages ...*node) {
	t.Helper()
	_, name, _ := fileid.Split(id)
	n, err := fileid.Parse(name)
	if err != nil || !n.Trunk {
		t.Fatalf("%s is no trunk file ID: %v", id, err)
	}
	for _, st := range storages {
		var last string
		ok := testwait.Holds(waitLimit, func() bool {
			s, err := trunk.Open([]string{st.store}, n)
			if err != nil {
				last = err.Error()
				return want == nil
			}
			defer s.Close()
			b := make([]byte, s.Size)
			if _, err := s.ReadAt(b, 0); err != nil && len(b) > 0 {
				last = err.Error()
				return false
			}
			last = fmt.Sprintf("%d bytes", len(b))
			return want != nil && bytes.Equal(b, want)
		})
		if !ok {
			t.Fatalf("slot of %s on %s: %s (want %d bytes)", id, st, last, len(want))
		}
	}
}

// TestTrunkOursStoreToUpstream: our storage, trunk server of its group,
// stores small files in trunks; then the upstream storage runs on the
// same conf and store: it loads our trunk binlog and storage_trunk.dat as
// its free space, serves every file, and its own new uploads go into the
// free space without overwriting any of ours.
func TestTrunkOursStoreToUpstream(t *testing.T) {
	e := newEnv(t)
	tr := e.addTracker(upstream, trunkTrackerConf...)
	st := e.addStorage(ours, "group1", []*node{tr}, "subdir_count_per_path=1")
	e.writeClientConf()
	e.waitActive(st)
	testwait.Until(t, waitLimit, "uploads to go into trunk files", func() bool {
		r := e.run("fdfs_upload_file", e.clientConf, e.writeLocal("probe.txt", []byte("probe")))
		id := strings.TrimSpace(r.stdout)
		return r.code == 0 && isTrunkID(id)
	})
	want := map[string][]byte{}
	var ids []string
	for i := range 10 {
		c := patterned(i+40, 100+i*700)
		id := e.upload(e.writeLocal("o.bin", c))
		if !isTrunkID(id) {
			t.Fatalf("%s not in a trunk", id)
		}
		want[id] = c
		ids = append(ids, id)
	}
	e.mustRun("fdfs_delete_file", e.clientConf, ids[4]) // a free slot amid used ones
	delete(want, ids[4])
	if err := st.stop(); err != nil {
		t.Fatalf("stop %s: %v", st, err)
	}
	st.impl = upstream
	st.name += "(now upstream)"
	st.start()
	e.waitActive(st)
	for id, c := range want {
		e.expectDownload(id, c)
	}
	e.expectGoneForClients(ids[4])
	testwait.Until(t, waitLimit, "upstream to take uploads into trunks", func() bool {
		r := e.run("fdfs_upload_file", e.clientConf, e.writeLocal("probe.txt", []byte("probe")))
		return r.code == 0 && isTrunkID(strings.TrimSpace(r.stdout))
	})
	for i := range 10 {
		c := patterned(i+80, 100+i*300)
		id := e.upload(e.writeLocal("u.bin", c))
		_, name, _ := fileid.Split(id)
		// In trunk file 1: upstream took its free space from our files.
		if n, err := fileid.Parse(name); err != nil || !n.Trunk || n.TrunkFileID != 1 {
			t.Fatalf("upstream's upload %s not in trunk file 1 (%v)", id, err)
		}
		want[id] = c
	}
	for id, c := range want {
		e.expectDownload(id, c)
	}
}
