package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// storedFiles counts the files in the data directories of every storage:
// stored files (metadata files included) and, apart, the hidden temp
// files of uploads in progress.
func storedFiles(t *testing.T, e *env) (files, temps int) {
	t.Helper()
	for _, s := range e.c.Storages {
		for _, p := range s.StorePaths {
			err := filepath.WalkDir(filepath.Join(p, "data"), func(path string, d fs.DirEntry, err error) error {
				switch {
				case err != nil || !d.Type().IsRegular() || d.Name() == ".fastdfs_vars":
				case strings.HasPrefix(d.Name(), "."):
					temps++
				default:
					files++
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return files, temps
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return ""
}

func beUint32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// TestUploadChecksum: an upload whose content matches its checksum is
// stored; one that does not is refused with INVALID_ARGUMENT,
// CHECKSUM_MISMATCH, and leaves no file on any storage, whatever the
// algorithm and size (empty, one byte, several chunks).
func TestUploadChecksum(t *testing.T) {
	e := startEnv(t, nil)
	files := e.files(t)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	sums := map[fastdfsv1.ChecksumAlgorithm]func([]byte) []byte{
		fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32:  func(b []byte) []byte { return beUint32(crc32.ChecksumIEEE(b)) },
		fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C: func(b []byte) []byte { return beUint32(crc32.Checksum(b, castagnoli)) },
		fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256: func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
	}
	for algo, sum := range sums {
		for _, size := range []int{0, 1, 5<<20 + 3} {
			content := bytes.Repeat([]byte{'x', 'y', 'z'}, size/3+1)[:size]
			t.Run(fmt.Sprintf("%s/%d", algo, size), func(t *testing.T) {
				before, _ := storedFiles(t, e)
				bad := sum(append([]byte("!"), content...))
				_, err := apiclient.Upload(withKey(opCtx(t), rwKey), files, &fastdfsv1.UploadSpec{
					Size: int64(size), Checksum: &fastdfsv1.Checksum{Algorithm: algo, Value: bad},
				}, bytes.NewReader(content))
				if status.Code(err) != codes.InvalidArgument || reasonOf(err) != "CHECKSUM_MISMATCH" {
					t.Fatalf("mismatch: got %v, want INVALID_ARGUMENT CHECKSUM_MISMATCH", err)
				}
				resp, err := apiclient.Upload(withKey(opCtx(t), rwKey), files, &fastdfsv1.UploadSpec{
					Size: int64(size), Checksum: &fastdfsv1.Checksum{Algorithm: algo, Value: sum(content)},
				}, bytes.NewReader(content))
				if err != nil {
					t.Fatalf("matching checksum: %v", err)
				}
				var hdr metadata.MD
				var got bytes.Buffer
				if _, err := apiclient.Download(withKey(opCtx(t), roKey), files, &fastdfsv1.DownloadFileRequest{FileId: resp.GetFileId()}, &got, grpc.Header(&hdr)); err != nil {
					t.Fatal(err)
				}
				// Of the two uploads only the matching one stored a file.
				if n, _ := storedFiles(t, e); n != before+1 {
					t.Fatalf("%d files stored, want %d", n, before+1)
				}
				want := hex.EncodeToString(beUint32(crc32.ChecksumIEEE(content)))
				if !bytes.Equal(got.Bytes(), content) || strings.Join(hdr.Get("x-checksum-crc32"), ",") != want {
					t.Fatalf("download: %d bytes, x-checksum-crc32 %v, want %s", got.Len(), hdr.Get("x-checksum-crc32"), want)
				}
			})
		}
	}
	// The storage removes the temp files of the cut uploads when their
	// connections end.
	waitNoTemps(t, e)
	if _, err := apiclient.Upload(withKey(opCtx(t), rwKey), files, &fastdfsv1.UploadSpec{
		Size: 1, Checksum: &fastdfsv1.Checksum{Algorithm: fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256, Value: []byte{1, 2}},
	}, strings.NewReader("a")); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a 2-byte SHA-256: got %v, want INVALID_ARGUMENT", err)
	}
}

// waitNoTemps waits until no upload temp file is left on the storages.
func waitNoTemps(t *testing.T, e *env) {
	t.Helper()
	testwait.For(t, time.Minute, "temp files removed", func() error {
		if _, n := storedFiles(t, e); n != 0 {
			return fmt.Errorf("%d temp files left", n)
		}
		return nil
	})
}

// TestRESTChecksum: the X-Checksum-* headers of POST /v1/files and the
// X-Checksum-Crc32 of downloads.
func TestRESTChecksum(t *testing.T) {
	e := startEnv(t, nil)
	content := []byte("checked content")
	crc := hex.EncodeToString(beUint32(crc32.ChecksumIEEE(content)))
	s := sha256.Sum256(content)
	before, _ := storedFiles(t, e)
	for _, hdr := range []map[string]string{
		{"X-Checksum-Sha256": hex.EncodeToString(s[:4]) + strings.Repeat("00", 28)},
		{"X-Checksum-Crc32": "00000000"},
		{"X-Checksum-Crc32": "zz"},
		{"X-Checksum-Crc32": crc, "X-Checksum-Sha256": hex.EncodeToString(s[:])},
	} {
		resp, b := do(t, "POST", e.url("/v1/files"), rwKey, bytes.NewReader(content), hdr)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%v: %s %s, want 400", hdr, resp.Status, b)
		}
	}
	waitNoTemps(t, e)
	if n, _ := storedFiles(t, e); n != before {
		t.Fatalf("%d files stored after refused uploads, want %d", n, before)
	}
	resp, b := do(t, "POST", e.url("/v1/files?ext=txt"), rwKey, bytes.NewReader(content), map[string]string{"X-Checksum-Sha256": hex.EncodeToString(s[:])})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("matching checksum: %s %s", resp.Status, b)
	}
	var r struct {
		FileID string `json:"fileId"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, h := range []map[string]string{nil, {"Range": "bytes=2-4"}} {
		resp, body := e.download(t, r.FileID, h)
		if resp.Header.Get("X-Checksum-Crc32") != crc || len(body) == 0 {
			t.Fatalf("download %v: X-Checksum-Crc32 %q, want %s", h, resp.Header.Get("X-Checksum-Crc32"), crc)
		}
	}
	resp, _ = do(t, "HEAD", e.url("/v1/files/"+r.FileID+":download"), roKey, nil, nil)
	if resp.Header.Get("X-Checksum-Crc32") != crc {
		t.Fatalf("HEAD: X-Checksum-Crc32 %q, want %s", resp.Header.Get("X-Checksum-Crc32"), crc)
	}

	// store_checksum=true keeps it in the metadata, for the scrubbers; not
	// for an appender file.
	sha := map[string]string{"X-Checksum-Sha256": hex.EncodeToString(s[:])}
	id := e.uploadWith(t, "?store_checksum=true&meta.a=1", content, sha)
	resp, b = do(t, "GET", e.url("/v1/files/"+id+":getMetadata"), roKey, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"fdfs_sha256":"`+hex.EncodeToString(s[:])+`"`) || !strings.Contains(string(b), `"a":"1"`) {
		t.Fatalf("metadata of a file with a stored checksum: %s %s", resp.Status, b)
	}
	if resp, b := do(t, "POST", e.url("/v1/files?kind=appender&store_checksum=true"), rwKey, bytes.NewReader(content), sha); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("appender with a stored checksum: %s %s", resp.Status, b)
	}
}

// uploadWith is upload with request headers.
func (e *env) uploadWith(t *testing.T, query string, content []byte, hdr map[string]string) string {
	t.Helper()
	resp, b := do(t, "POST", e.url("/v1/files"+query), rwKey, bytes.NewReader(content), hdr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %s %s", resp.Status, b)
	}
	var r struct {
		FileID string `json:"fileId"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.FileID
}
