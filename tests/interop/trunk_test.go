package interop

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/internal/testwait"
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
	victim := files[1]
	e.mustRun("fdfs_delete_file", e.clientConf, victim.ID)
	e.expectGoneForClients(victim.ID)
	e.expectDownload(files[2].ID, files[2].Content) // its neighbour is intact
}

// uploadTrunkFiles uploads files of a few sizes with upstream's tools
// until they land in trunks (the tracker elects the trunk server a little
// after the storage joins), sets metadata on one and deletes one.
func uploadTrunkFiles(t *testing.T, e *env) []*trunkFile {
	t.Helper()
	isTrunk := func(id string) bool {
		_, name, err := fileid.Split(id)
		n, perr := fileid.Parse(name)
		return err == nil && perr == nil && n.Trunk
	}
	testwait.Until(t, waitLimit, "uploads to go into trunk files", func() bool {
		// EAGAIN until there is a trunk server.
		r := e.run("fdfs_upload_file", e.clientConf, e.writeLocal("probe.txt", []byte("probe")))
		id := strings.TrimSpace(r.stdout)
		if r.code != 0 || !fileIDRe.MatchString(id) {
			return false
		}
		e.mustRun("fdfs_delete_file", e.clientConf, id)
		return isTrunk(id)
	})
	var files []*trunkFile
	for i, size := range []int{1, 100, 4000, 4096, 5000, 8192 - 24} {
		name := "f.bin"
		if i%2 == 1 {
			name = "f" // no extension
		}
		c := patterned(i, size)
		id := e.upload(e.writeLocal(name, c))
		if !isTrunk(id) {
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
	if isTrunk(id) {
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
