package e2e

import (
	"bytes"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestOperations runs every client operation against one two-storage group.
func TestOperations(t *testing.T) {
	t.Parallel()
	testOperations(t, cluster.Start(t, cluster.Options{}))
}

// testOperations runs every client operation against c, one two-storage
// group.
func testOperations(t *testing.T, c *cluster.Cluster) {
	cl := c.Client
	storageIPs := map[string]bool{}
	for _, s := range c.Storages {
		storageIPs[s.IP] = true
	}

	t.Run("upload and download", func(t *testing.T) {
		data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
		cases := []struct {
			name string
			opt  client.UploadOptions
			ext  string // expected extension of the name
		}{
			{"no group, ext", client.UploadOptions{Ext: "txt"}, ".txt"},
			{"group, ext", client.UploadOptions{Group: "group1", Ext: "jpg"}, ".jpg"},
			{"no ext", client.UploadOptions{}, ""},
			{"long ext truncated", client.UploadOptions{Ext: "tar.gz1"}, ".tar.gz"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := upload(t, cl, data, tc.opt)
				group, name, err := fileid.Split(id)
				if err != nil || group != "group1" {
					t.Fatalf("file id %q: group %q, %v", id, group, err)
				}
				n, err := fileid.Parse(name)
				if err != nil {
					t.Fatalf("parse %q: %v", name, err)
				}
				if n.Ext != strings.TrimPrefix(tc.ext, ".") && tc.ext != "" {
					t.Errorf("%s: ext %q, want %q", id, n.Ext, tc.ext)
				}
				if tc.ext == "" && strings.Contains(n.File, ".") {
					t.Errorf("%s: unexpected extension", id)
				}
				if n.Size != int64(len(data)) || n.CRC32 != crc32.ChecksumIEEE(data) {
					t.Errorf("%s: name says size %d crc %08x, want %d %08x", id, n.Size, n.CRC32, len(data), crc32.ChecksumIEEE(data))
				}
				if !storageIPs[n.SourceIP] {
					t.Errorf("%s: source %q is not one of the storages %v", id, n.SourceIP, storageIPs)
				}
				wantContent(t, cl, id, data)
			})
		}
	})

	t.Run("download ranges", func(t *testing.T) {
		data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
		id := upload(t, cl, data, client.UploadOptions{Ext: "bin"})
		ranges := []struct {
			offset, length int64
			want           string
		}{
			{0, 0, string(data)},
			{10, 0, string(data[10:])},
			{10, 5, "abcde"},
			{0, 1, "0"},
			{35, 0, "z"},
			{30, 100, string(data[30:])}, // length past EOF is clipped
		}
		for _, r := range ranges {
			if got := download(t, cl, id, r.offset, r.length); string(got) != r.want {
				t.Errorf("download offset %d length %d: %q, want %q", r.offset, r.length, got, r.want)
			}
		}
		_, err := cl.Download(opCtx(t), id, int64(len(data)), 0, &bytes.Buffer{})
		wantErr(t, "download at offset == size", err, protocol.ErrInvalid)
	})

	t.Run("zero-byte file", func(t *testing.T) {
		id := upload(t, cl, nil, client.UploadOptions{Ext: "txt"})
		fi, err := cl.GetFileInfo(opCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size != 0 || fi.CRC32 != 0 {
			t.Errorf("file info of an empty file: size %d crc %08x", fi.Size, fi.CRC32)
		}
		// Upstream 6.16.1 answers EINVAL to any download of an empty file
		// (offset 0 >= size 0).
		_, err = cl.Download(opCtx(t), id, 0, 0, &bytes.Buffer{})
		wantErr(t, "download of an empty file", err, protocol.ErrInvalid)
		if err := cl.Delete(opCtx(t), id); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("file info", func(t *testing.T) {
		data := bytes.Repeat([]byte("info"), 1000)
		before := time.Now().Add(-2 * time.Second)
		id := upload(t, cl, data, client.UploadOptions{Ext: "dat"})
		fi, err := cl.GetFileInfo(opCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size != int64(len(data)) || fi.CRC32 != crc32.ChecksumIEEE(data) {
			t.Errorf("file info: size %d crc %08x, want %d %08x", fi.Size, fi.CRC32, len(data), crc32.ChecksumIEEE(data))
		}
		if !storageIPs[fi.SourceIP] {
			t.Errorf("file info: source %q, want one of %v", fi.SourceIP, storageIPs)
		}
		if fi.CreateTime.Before(before) || fi.CreateTime.After(time.Now().Add(2*time.Second)) {
			t.Errorf("file info: create time %v, want about now", fi.CreateTime)
		}
		if fi.Type() != "normal" {
			t.Errorf("file info: type %q, want normal", fi.Type())
		}
		_, err = cl.GetFileInfo(opCtx(t), "group1/M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt")
		wantErr(t, "file info of a missing file", err, protocol.ErrNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		data := []byte("to be deleted")
		id := upload(t, cl, data, client.UploadOptions{Ext: "txt", Meta: map[string]string{"k": "v"}})
		waitReplicated(t, c, "group1", id, int64(len(data)))
		if err := cl.Delete(opCtx(t), id); err != nil {
			t.Fatal(err)
		}
		_, err := cl.Download(opCtx(t), id, 0, 0, &bytes.Buffer{})
		wantErr(t, "download after delete", err, protocol.ErrNotFound)
		_, err = cl.GetMetadata(opCtx(t), id)
		wantErr(t, "get metadata after delete", err, protocol.ErrNotFound)
		wantErr(t, "second delete", cl.Delete(opCtx(t), id), protocol.ErrNotFound)
		waitGone(t, c, "group1", id)
	})

	t.Run("metadata", func(t *testing.T) {
		id := upload(t, cl, []byte("meta"), client.UploadOptions{Ext: "txt"})
		_, err := cl.GetMetadata(opCtx(t), id)
		wantErr(t, "get metadata of a file without any", err, protocol.ErrNotFound)

		steps := []struct {
			name string
			meta map[string]string
			flag byte
			want map[string]string
		}{
			{"overwrite", map[string]string{"width": "1024", "height": "80", "author": "fdfs"}, protocol.MetaOverwrite,
				map[string]string{"width": "1024", "height": "80", "author": "fdfs"}},
			{"merge", map[string]string{"height": "90", "ext_name": "jpg"}, protocol.MetaMerge,
				map[string]string{"width": "1024", "height": "90", "author": "fdfs", "ext_name": "jpg"}},
			{"overwrite again", map[string]string{"only": "one"}, protocol.MetaOverwrite,
				map[string]string{"only": "one"}},
		}
		for _, s := range steps {
			if err := cl.SetMetadata(opCtx(t), id, s.meta, s.flag); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			got, err := cl.GetMetadata(opCtx(t), id)
			if err != nil {
				t.Fatalf("%s: get: %v", s.name, err)
			}
			if !maps.Equal(got, s.want) {
				t.Fatalf("%s: metadata %v, want %v", s.name, got, s.want)
			}
		}
		// Overwriting with nothing removes the metadata file.
		if err := cl.SetMetadata(opCtx(t), id, nil, protocol.MetaOverwrite); err != nil {
			t.Fatal(err)
		}
		_, err = cl.GetMetadata(opCtx(t), id)
		wantErr(t, "get metadata after clearing", err, protocol.ErrNotFound)

		meta := map[string]string{"a": "1", "b": "2"}
		withMeta := upload(t, cl, []byte("with meta"), client.UploadOptions{Ext: "txt", Meta: meta})
		if got, err := cl.GetMetadata(opCtx(t), withMeta); err != nil || !maps.Equal(got, meta) {
			t.Fatalf("metadata given at upload: %v, %v", got, err)
		}
		missing := "group1/M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"
		wantErr(t, "set metadata of a missing file",
			cl.SetMetadata(opCtx(t), missing, meta, protocol.MetaOverwrite), protocol.ErrNotFound)
	})

	t.Run("appender", func(t *testing.T) {
		initial := []byte("hello")
		id := uploadAppender(t, cl, initial, client.UploadOptions{Group: "group1", Ext: "log"})
		noGroup := uploadAppender(t, cl, initial, client.UploadOptions{})
		wantContent(t, cl, noGroup, initial)
		fi, err := cl.GetFileInfo(opCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Type() != "appender" {
			t.Fatalf("type %q, want appender", fi.Type())
		}
		want := slices.Clone(initial)
		steps := []struct {
			name string
			run  func() error
			next func([]byte) []byte
		}{
			{"append", func() error { return cl.Append(opCtx(t), id, strings.NewReader(" world"), 6) },
				func(b []byte) []byte { return append(b, " world"...) }},
			{"append nothing", func() error { return cl.Append(opCtx(t), id, strings.NewReader(""), 0) },
				func(b []byte) []byte { return b }},
			{"modify inside", func() error { return cl.Modify(opCtx(t), id, 0, strings.NewReader("HE"), 2) },
				func(b []byte) []byte { return append([]byte("HE"), b[2:]...) }},
			{"modify at end grows", func() error { return cl.Modify(opCtx(t), id, 11, strings.NewReader("!!"), 2) },
				func(b []byte) []byte { return append(b, "!!"...) }},
			{"truncate shorter", func() error { return cl.Truncate(opCtx(t), id, 5) },
				func(b []byte) []byte { return b[:5] }},
			{"truncate same size", func() error { return cl.Truncate(opCtx(t), id, 5) },
				func(b []byte) []byte { return b }},
			{"append after truncate", func() error { return cl.Append(opCtx(t), id, strings.NewReader("123"), 3) },
				func(b []byte) []byte { return append(b, "123"...) }},
		}
		for _, s := range steps {
			if err := s.run(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			want = s.next(want)
			wantContent(t, cl, id, want)
		}
		fi, err = cl.GetFileInfo(opCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size != int64(len(want)) || fi.CRC32 != crc32.ChecksumIEEE(want) {
			t.Errorf("appender info: size %d crc %08x, want %d %08x", fi.Size, fi.CRC32, len(want), crc32.ChecksumIEEE(want))
		}
		wantErr(t, "modify past the end",
			cl.Modify(opCtx(t), id, int64(len(want))+1, strings.NewReader("x"), 1), protocol.ErrInvalid)
		waitReplicated(t, c, "group1", id, int64(len(want)))

		regen, err := cl.RegenerateAppender(opCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if regen == id {
			t.Fatalf("regenerate kept the name %s", id)
		}
		wantContent(t, cl, regen, want)
		_, err = cl.Download(opCtx(t), id, 0, 0, &bytes.Buffer{})
		wantErr(t, "download of the old appender name", err, protocol.ErrNotFound)
		fi, err = cl.GetFileInfo(opCtx(t), regen)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Type() != "normal" || fi.Name.Size != int64(len(want)) || fi.Name.CRC32 != crc32.ChecksumIEEE(want) {
			t.Errorf("regenerated name %s: type %s size %d crc %08x", regen, fi.Type(), fi.Name.Size, fi.Name.CRC32)
		}
		waitReplicated(t, c, "group1", regen, int64(len(want)))
		waitGone(t, c, "group1", id)
	})

	t.Run("appender operations on a normal file", func(t *testing.T) {
		id := upload(t, cl, []byte("normal"), client.UploadOptions{Ext: "txt"})
		wantErr(t, "append", cl.Append(opCtx(t), id, strings.NewReader("x"), 1), protocol.ErrInvalid)
		wantErr(t, "modify", cl.Modify(opCtx(t), id, 0, strings.NewReader("x"), 1), protocol.ErrInvalid)
		wantErr(t, "truncate", cl.Truncate(opCtx(t), id, 1), protocol.ErrInvalid)
		_, err := cl.RegenerateAppender(opCtx(t), id)
		wantErr(t, "regenerate", err, protocol.ErrInvalid)
		wantContent(t, cl, id, []byte("normal"))
	})

	t.Run("slave", func(t *testing.T) {
		master := upload(t, cl, []byte("master image"), client.UploadOptions{Group: "group1", Ext: "jpg"})
		cases := []struct {
			prefix, ext string
			wantSuffix  string
		}{
			{"_big", "png", "_big.png"},
			{"_150x150", "", "_150x150.jpg"}, // the master's ext
		}
		for _, tc := range cases {
			data := []byte("slave " + tc.prefix)
			id, err := cl.UploadSlave(opCtx(t), bytes.NewReader(data), int64(len(data)), master, tc.prefix, tc.ext)
			if err != nil {
				t.Fatalf("slave %s: %v", tc.prefix, err)
			}
			stem := strings.TrimSuffix(master, ".jpg")
			if id != stem+tc.wantSuffix {
				t.Errorf("slave id %s, want %s%s", id, stem, tc.wantSuffix)
			}
			wantContent(t, cl, id, data)
			fi, err := cl.GetFileInfo(opCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Type() != "slave" || fi.Size != int64(len(data)) || fi.CRC32 != crc32.ChecksumIEEE(data) {
				t.Errorf("slave info: type %s size %d crc %08x", fi.Type(), fi.Size, fi.CRC32)
			}
			_, err = cl.UploadSlave(opCtx(t), bytes.NewReader(data), int64(len(data)), master, tc.prefix, tc.ext)
			wantErr(t, "slave uploaded twice", err, protocol.ErrExists)
		}
		missing := "group1/M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.jpg"
		_, err := cl.UploadSlave(opCtx(t), strings.NewReader("x"), 1, missing, "_s", "")
		wantErr(t, "slave of a missing master", err, protocol.ErrNotFound)
	})

	t.Run("list groups and storages", func(t *testing.T) {
		groups, err := cl.ListGroups(opCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 {
			t.Fatalf("%d groups, want 1: %+v", len(groups), groups)
		}
		g := groups[0]
		if g.Name != "group1" || g.StorageCount != 2 || g.ReadableCount != 2 || g.WritableCount != 2 ||
			g.StoragePort != int64(c.Storages[0].Port) || g.StorePathCount != 1 || g.SubdirCountPerPath != 4 ||
			g.TotalMB <= 0 || g.FreeMB <= 0 {
			t.Errorf("group stat %+v", g)
		}
		one, err := cl.ListGroup(opCtx(t), "group1")
		if err != nil || one.Name != "group1" || one.StorageCount != 2 {
			t.Errorf("list one group: %+v, %v", one, err)
		}
		_, err = cl.ListGroup(opCtx(t), "nosuchgroup")
		wantErr(t, "list a missing group", err, protocol.ErrNotFound)

		list, err := cl.ListStorages(opCtx(t), "group1", "")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, st := range list {
			ids = append(ids, st.ID)
			if st.Status != protocol.StatusActive || !storageIPs[st.IP] || st.StoragePort != int64(c.Storages[0].Port) ||
				st.RWMode != protocol.RWRead|protocol.RWWrite {
				t.Errorf("storage stat %+v", st)
			}
		}
		if !slices.IsSorted(ids) || len(ids) != 2 {
			t.Errorf("storage ids %v: want 2, sorted", ids)
		}
		filtered, err := cl.ListStorages(opCtx(t), "group1", c.Storages[1].ID)
		if err != nil || len(filtered) != 1 || filtered[0].ID != c.Storages[1].ID {
			t.Errorf("list storage %s: %+v, %v", c.Storages[1].ID, filtered, err)
		}
		_, err = cl.ListStorages(opCtx(t), "group1", "127.255.255.254")
		wantErr(t, "list a missing storage", err, protocol.ErrNotFound)
		leader, err := cl.GetLeader(opCtx(t))
		if err != nil || leader != c.TrackerAddr() {
			t.Errorf("leader %q, %v; want %s", leader, err, c.TrackerAddr())
		}
	})

	t.Run("http download", func(t *testing.T) {
		data := []byte("served over HTTP as fastdfs-nginx-module does")
		id := upload(t, cl, data, client.UploadOptions{Ext: "txt"})
		_, name, _ := fileid.Split(id)
		n, err := fileid.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		var src *cluster.Storage
		for _, s := range c.Storages {
			if s.IP == n.SourceIP {
				src = s
			}
		}
		if src == nil {
			t.Fatalf("no storage has the source IP %s of %s", n.SourceIP, id)
		}
		url := "http://" + src.HTTPAddr() + "/" + name // url_have_group_name = false (upstream default)
		cases := []struct {
			rangeHdr string
			status   int
			want     string
		}{
			{"", http.StatusOK, string(data)},
			{"bytes=0-5", http.StatusPartialContent, string(data[:6])},
			{"bytes=-4", http.StatusPartialContent, string(data[len(data)-4:])},
		}
		for _, tc := range cases {
			req, _ := http.NewRequestWithContext(opCtx(t), http.MethodGet, url, nil)
			if tc.rangeHdr != "" {
				req.Header.Set("Range", tc.rangeHdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tc.status || string(body) != tc.want {
				t.Errorf("GET %s Range %q: %d %q, %v; want %d %q", url, tc.rangeHdr, resp.StatusCode, body, err, tc.status, tc.want)
			}
		}
		// A name this storage would have generated itself, for a file it
		// does not have: 404 (no proxying to itself).
		self, err := fileid.SourceFromIP(src.IP)
		if err != nil {
			t.Fatal(err)
		}
		missing, err := fileid.Generate(0, 0, 0, fileid.Fields{Source: self, Timestamp: time.Now().Unix(), Size: 10, CRC32: 1}, "txt")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + src.HTTPAddr() + "/" + missing)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET of a missing file: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("replication", func(t *testing.T) {
		data := bytes.Repeat([]byte("replicate me "), 10000)
		id := upload(t, cl, data, client.UploadOptions{Ext: "txt"})
		waitReplicated(t, c, "group1", id, int64(len(data)))
		for _, s := range c.Storages {
			got, err := os.ReadFile(cluster.StoredPath(t, s, id))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("copy on %s: %d bytes, %v", s.Name, len(got), err)
			}
		}
	})
}

// TestDeleteStorage checks that an active storage cannot be removed and a
// stopped one can.
func TestDeleteStorage(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, cluster.Options{})
	cl := c.Client
	victim := c.Storages[1]
	wantErr(t, "delete an active storage", cl.DeleteStorage(opCtx(t), "group1", victim.ID), protocol.ErrBusy)
	wantErr(t, "delete a missing storage", cl.DeleteStorage(opCtx(t), "group1", "127.255.255.254"), protocol.ErrNotFound)

	c.StopStorage(1)
	c.WaitStatus(1, protocol.StatusOffline)
	if err := cl.DeleteStorage(opCtx(t), "group1", victim.ID); err != nil {
		t.Fatalf("delete an offline storage: %v", err)
	}
	if st := c.Status(1); st != protocol.StatusDeleted {
		t.Errorf("status after delete: %s, want DELETED", protocol.StorageStatusName(st))
	}
	wantErr(t, "delete a deleted storage", cl.DeleteStorage(opCtx(t), "group1", victim.ID), protocol.ErrAlready)
	// The remaining storage still takes uploads.
	id := upload(t, cl, []byte("after delete"), client.UploadOptions{})
	wantContent(t, cl, id, []byte("after delete"))
}
