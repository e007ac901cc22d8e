package gateway

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// tusSegment is the segment size of the tus tests' gateways: an
// interrupted PATCH keeps the whole segments it delivered.
const tusSegment = 256 << 10

func startTus(t *testing.T, mod func(*config.Config)) *env {
	return startEnv(t, func(cfg *config.Config) {
		withSecret(cfg)
		cfg.Uploads.SegmentSize = tusSegment
		if mod != nil {
			mod(cfg)
		}
	})
}

// tus sends a tus request (Tus-Resumable set unless hdr sets it to "").
func tus(t *testing.T, method, u, key string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	h := map[string]string{"Tus-Resumable": "1.0.0"}
	for k, v := range hdr {
		h[k] = v
	}
	if h["Tus-Resumable"] == "" {
		delete(h, "Tus-Resumable")
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp, b.Bytes()
}

// tusCreate creates an upload of length bytes and returns its URL.
func (e *env) tusCreate(t *testing.T, hdr map[string]string) string {
	t.Helper()
	resp, b := tus(t, "POST", e.url("/v1/uploads"), rwKey, nil, hdr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s %s", resp.Status, b)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v1/uploads/") || resp.Header.Get("Upload-Expires") == "" {
		t.Fatalf("create: Location %q, Upload-Expires %q", loc, resp.Header.Get("Upload-Expires"))
	}
	return e.url(loc)
}

func tusOffset(t *testing.T, u string) (int64, *http.Response) {
	t.Helper()
	resp, b := tus(t, "HEAD", u, rwKey, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %s %s", resp.Status, b)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		t.Fatalf("HEAD: Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	return n, resp
}

func patchHdr(off int64, extra ...string) map[string]string {
	h := map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.FormatInt(off, 10)}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestTusProtocol walks an upload through the tus core, creation,
// checksum, expiration and termination extensions, with every refusal on
// the way.
func TestTusProtocol(t *testing.T) {
	e := startTus(t, func(cfg *config.Config) { cfg.Limits.MaxUploadSize = 8 << 20 })
	resp, _ := tus(t, "OPTIONS", e.url("/v1/uploads"), "", nil, map[string]string{"Tus-Resumable": ""})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Tus-Version") != "1.0.0" ||
		!strings.Contains(resp.Header.Get("Tus-Extension"), "checksum") || resp.Header.Get("Tus-Max-Size") != strconv.Itoa(8<<20) ||
		!strings.Contains(resp.Header.Get("Tus-Checksum-Algorithm"), "sha1") {
		t.Fatalf("OPTIONS: %s %v", resp.Status, resp.Header)
	}
	data := randomBytes(t, 600<<10)
	u := e.tusCreate(t, map[string]string{"Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": "filename " + b64("photo.jpg") + ",empty"})
	off, head := tusOffset(t, u)
	if off != 0 || head.Header.Get("Upload-Length") != strconv.Itoa(len(data)) || head.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("HEAD of a new upload: %v", head.Header)
	}
	badSum := sha1.Sum([]byte("x"))
	goodSum := sha1.Sum(data[:100<<10])
	for _, tc := range []struct {
		name   string
		method string
		body   []byte
		hdr    map[string]string
		code   int
		reason string
	}{
		{"no Tus-Resumable", "PATCH", data[:10], map[string]string{"Tus-Resumable": "", "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}, 412, ""},
		{"wrong content type", "PATCH", data[:10], map[string]string{"Content-Type": "application/json", "Upload-Offset": "0"}, 415, ""},
		{"no offset", "PATCH", data[:10], map[string]string{"Content-Type": "application/offset+octet-stream"}, 400, fileops.ReasonInvalidArgument},
		{"offset ahead", "PATCH", data[:10], patchHdr(5), 409, fileops.ReasonOffsetMismatch},
		{"beyond the length", "PATCH", make([]byte, len(data)+1), patchHdr(0), 413, fileops.ReasonSizeTooLarge},
		{"checksum mismatch", "PATCH", data[:100<<10], patchHdr(0, "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(badSum[:])), 460, fileops.ReasonChecksumMismatch},
		{"unknown checksum", "PATCH", data[:10], patchHdr(0, "Upload-Checksum", "whirlpool AAAA"), 400, fileops.ReasonInvalidArgument},
		{"read-only key", "HEAD", nil, nil, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := rwKey
			if tc.name == "read-only key" {
				key = roKey
			}
			resp, b := tus(t, tc.method, u, key, tc.body, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s: %s %s, want %d", tc.name, resp.Status, b, tc.code)
			}
			if tc.reason != "" && !bytes.Contains(b, []byte(`"reason":"`+tc.reason+`"`)) {
				t.Fatalf("%s: body %s, want reason %s", tc.name, b, tc.reason)
			}
		})
	}
	if off, _ := tusOffset(t, u); off != 0 {
		t.Fatalf("refused PATCHes committed %d bytes", off)
	}
	resp, b := tus(t, "PATCH", u, rwKey, data[:100<<10], patchHdr(0, "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(goodSum[:])))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Upload-Offset") != strconv.Itoa(100<<10) {
		t.Fatalf("checksummed PATCH: %s %s %v", resp.Status, b, resp.Header)
	}
	resp, b = tus(t, "PATCH", u, rwKey, data[100<<10:], patchHdr(100<<10))
	id := resp.Header.Get("Fdfs-File-Id")
	if resp.StatusCode != http.StatusNoContent || id == "" || resp.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("last PATCH: %s %s %v", resp.Status, b, resp.Header)
	}
	if !strings.HasSuffix(id, ".jpg") {
		t.Fatalf("file ID %s: want the extension of the filename metadata", id)
	}
	if _, got := e.download(t, id, nil); !bytes.Equal(got, data) {
		t.Fatalf("the stored file has %d bytes, want the %d uploaded", len(got), len(data))
	}
	_, mb := do(t, "GET", e.url("/v1/files/"+id+":getMetadata"), rwKey, nil, nil)
	if !bytes.Contains(mb, []byte(`"filename":"photo.jpg"`)) || bytes.Contains(mb, []byte("fdfs-upload")) {
		t.Fatalf("metadata of the finished upload: %s", mb)
	}
	// A client that lost the last answer asks again: the upload is
	// complete and names its file.
	off, head = tusOffset(t, u)
	if off != int64(len(data)) || head.Header.Get("Fdfs-File-Id") != id || head.Header.Get("Upload-Expires") != "" {
		t.Fatalf("HEAD of the finished upload: %d %v", off, head.Header)
	}
	if resp, _ := tus(t, "PATCH", u, rwKey, data[:1], patchHdr(int64(len(data)))); resp.StatusCode != http.StatusConflict {
		t.Fatalf("PATCH of a finished upload: %s", resp.Status)
	}

	// Termination, forged and foreign URLs, oversize creation.
	u2 := e.tusCreate(t, map[string]string{"Upload-Length": "10"})
	if resp, b := tus(t, "DELETE", u2, rwKey, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s %s", resp.Status, b)
	}
	forged := []byte(u)
	forged[len(forged)-5] ^= 1
	for _, bad := range []string{u2, string(forged), e.url("/v1/uploads/" + url.PathEscape("AAAA"))} {
		if resp, b := tus(t, "HEAD", bad, rwKey, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("HEAD %s: %s %s, want 404", bad, resp.Status, b)
		}
	}
	for _, hdr := range []map[string]string{
		{"Upload-Length": strconv.Itoa(9 << 20)},
		{"Upload-Length": "-1"},
		{},
		{"Upload-Length": "1", "Upload-Metadata": "k not-base64!"},
		{"Upload-Length": "1", "Upload-Metadata": "fdfs-upload-size " + b64("1")},
	} {
		resp, b := tus(t, "POST", e.url("/v1/uploads"), rwKey, nil, hdr)
		want := http.StatusBadRequest
		if hdr["Upload-Length"] == strconv.Itoa(9<<20) {
			want = http.StatusRequestEntityTooLarge
		}
		if resp.StatusCode != want {
			t.Fatalf("create %v: %s %s, want %d", hdr, resp.Status, b, want)
		}
	}
}

// TestTusDeferLength declares the length with the last PATCH.
func TestTusDeferLength(t *testing.T) {
	e := startTus(t, nil)
	data := randomBytes(t, 300<<10)
	u := e.tusCreate(t, map[string]string{"Upload-Defer-Length": "1"})
	if _, head := tusOffset(t, u); head.Header.Get("Upload-Defer-Length") != "1" {
		t.Fatalf("HEAD: %v", head.Header)
	}
	if resp, b := tus(t, "PATCH", u, rwKey, data[:100<<10], patchHdr(0)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH: %s %s", resp.Status, b)
	}
	resp, b := tus(t, "PATCH", u, rwKey, data[100<<10:], patchHdr(100<<10, "Upload-Length", strconv.Itoa(len(data))))
	id := resp.Header.Get("Fdfs-File-Id")
	if resp.StatusCode != http.StatusNoContent || id == "" {
		t.Fatalf("last PATCH: %s %s %v", resp.Status, b, resp.Header)
	}
	if _, got := e.download(t, id, nil); !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(data))
	}
}

// TestTusInterruptedPatch cuts a PATCH's body off in the middle (the
// client dies): the whole segments it delivered stay committed, and the
// upload resumes from there without storing a byte twice.
func TestTusInterruptedPatch(t *testing.T) {
	e := startTus(t, nil)
	data := randomBytes(t, 2<<20)
	u := e.tusCreate(t, map[string]string{"Upload-Length": strconv.Itoa(len(data))})
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", pu.Host)
	if err != nil {
		t.Fatal(err)
	}
	// Exactly three segments: the fourth's storage request is then
	// under way with none of its bytes, which the storage drops when the
	// body breaks.
	sent := 3 * tusSegment
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n",
		pu.Path, pu.Host, rwKey, len(data))
	if _, err := conn.Write(data[:sent]); err != nil {
		t.Fatal(err)
	}
	// The gateway commits the three whole segments; wait for them before
	// the client "dies".
	testwait.Until(t, time.Minute, "three segments committed", func() bool {
		off, _ := tusOffset(t, u)
		return off == 3*tusSegment
	})
	conn.Close()
	off, _ := tusOffset(t, u)
	resp, b := tus(t, "PATCH", u, rwKey, data[off:], patchHdr(off))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Fdfs-File-Id") == "" {
		t.Fatalf("resumed PATCH: %s %s", resp.Status, b)
	}
	if _, got := e.download(t, resp.Header.Get("Fdfs-File-Id"), nil); !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want the %d uploaded", len(got), len(data))
	}
}
