package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/fdfsgo/fdfs/server/config"
)

func TestUploadDownload(t *testing.T) {
	e := startEnv(t, nil)
	content := bytes.Repeat([]byte("0123456789"), 1000) // 10000 bytes
	id := e.upload(t, "?ext=jpg&meta.width=100&meta.author=me", content)
	if !strings.HasSuffix(id, ".jpg") {
		t.Errorf("file id %s: want the .jpg extension", id)
	}

	resp, body := e.download(t, id, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, content) {
		t.Fatalf("download: %s, %d bytes", resp.Status, len(body))
	}
	etag := resp.Header.Get("ETag")
	for k, want := range map[string]string{
		"Content-Length": "10000",
		"Content-Type":   "image/jpeg",
		"Accept-Ranges":  "bytes",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("ETag %q, Last-Modified %q", etag, resp.Header.Get("Last-Modified"))
	}

	t.Run("head", func(t *testing.T) {
		resp, body := do(t, "HEAD", e.url("/v1/files/"+id+":download"), roKey, nil, nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 10000 || resp.Header.Get("ETag") != etag {
			t.Fatalf("HEAD: %s, %d body bytes, length %d, etag %q", resp.Status, len(body), resp.ContentLength, resp.Header.Get("ETag"))
		}
	})

	t.Run("ranges", func(t *testing.T) {
		for _, tc := range []struct {
			rng          string
			code         int
			start, end   int // of the expected body, end exclusive
			contentRange string
		}{
			{"bytes=10-19", 206, 10, 20, "bytes 10-19/10000"},
			{"bytes=9990-", 206, 9990, 10000, "bytes 9990-9999/10000"},
			{"bytes=-5", 206, 9995, 10000, "bytes 9995-9999/10000"},
			{"bytes=0-0", 206, 0, 1, "bytes 0-0/10000"},
			{"bytes=9000-20000", 206, 9000, 10000, "bytes 9000-9999/10000"},
			{"bytes=10000-", 416, 0, 0, "bytes */10000"},
			{"bytes=0-1,5-6", 200, 0, 10000, ""}, // several ranges: the whole file
			{"bytes=x-y", 200, 0, 10000, ""},     // malformed: ignored
			{"items=0-1", 200, 0, 10000, ""},
		} {
			resp, body := e.download(t, id, map[string]string{"Range": tc.rng})
			if resp.StatusCode != tc.code || resp.Header.Get("Content-Range") != tc.contentRange {
				t.Errorf("%s: %s, Content-Range %q; want %d %q", tc.rng, resp.Status, resp.Header.Get("Content-Range"), tc.code, tc.contentRange)
				continue
			}
			if tc.code != 416 && !bytes.Equal(body, content[tc.start:tc.end]) {
				t.Errorf("%s: body of %d bytes, want [%d, %d)", tc.rng, len(body), tc.start, tc.end)
			}
		}
	})

	t.Run("conditional", func(t *testing.T) {
		old := "Mon, 02 Jan 2006 15:04:05 GMT"
		for _, tc := range []struct {
			name   string
			hdr    map[string]string
			code   int
			reason string // of a 412's JSON status
		}{
			{"if-none-match", map[string]string{"If-None-Match": etag}, 304, ""},
			{"if-none-match weak", map[string]string{"If-None-Match": "W/" + etag}, 304, ""},
			{"if-none-match other", map[string]string{"If-None-Match": `"other"`}, 200, ""},
			{"if-match", map[string]string{"If-Match": etag}, 200, ""},
			{"if-match other", map[string]string{"If-Match": `"other"`}, 412, "ETAG_MISMATCH"},
			{"if-match not UTF-8", map[string]string{"If-Match": "\"\xff\""}, 412, "ETAG_MISMATCH"},
			{"if-unmodified-since old", map[string]string{"If-Unmodified-Since": old}, 412, "MODIFIED_SINCE"},
			{"if-modified-since", map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, 304, ""},
			{"if-modified-since old", map[string]string{"If-Modified-Since": old}, 200, ""},
			{"if-range match", map[string]string{"Range": "bytes=0-9", "If-Range": etag}, 206, ""},
			{"if-range stale", map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`}, 200, ""},
		} {
			resp, body := e.download(t, id, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Errorf("%s: %s, want %d", tc.name, resp.Status, tc.code)
				continue
			}
			if tc.code == 412 {
				// As a 416: the JSON status, the validators, nothing
				// that describes the file's body.
				wantJSONStatus(t, tc.name, resp, body, 412, codes.FailedPrecondition, tc.reason, "")
				if resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Disposition") != "" {
					t.Errorf("%s: ETag %q, Content-Disposition %q", tc.name, resp.Header.Get("ETag"), resp.Header.Get("Content-Disposition"))
				}
			}
		}
	})

	t.Run("attachment", func(t *testing.T) {
		resp, _ := do(t, "GET", e.url("/v1/files/"+id+":download?filename=photo.jpg"), roKey, nil, nil)
		if cd := resp.Header.Get("Content-Disposition"); cd != "attachment; filename=photo.jpg" {
			t.Errorf("Content-Disposition %q", cd)
		}
	})

	t.Run("json routes", func(t *testing.T) {
		resp, body := do(t, "GET", e.url("/v1/files/"+id), roKey, nil, nil)
		var info struct {
			FileID string `json:"fileId"`
			Size   string `json:"size"`
			Kind   string `json:"kind"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &info) != nil || info.FileID != id || info.Size != "10000" {
			t.Fatalf("file info: %s %s", resp.Status, body)
		}
		resp, body = do(t, "GET", e.url("/v1/files/"+id+":getMetadata"), roKey, nil, nil)
		var meta struct {
			Metadata map[string]string `json:"metadata"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &meta) != nil || meta.Metadata["width"] != "100" || meta.Metadata["author"] != "me" {
			t.Fatalf("metadata: %s %s", resp.Status, body)
		}
		if resp, body := do(t, "DELETE", e.url("/v1/files/"+id), rwKey, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("delete: %s %s", resp.Status, body)
		}
		resp, body = e.download(t, id, nil)
		if st := decodeStatus(t, body); resp.StatusCode != 404 || st.Code != 5 {
			t.Fatalf("download after delete: %s %s", resp.Status, body)
		}
	})
}

// multipartBody builds a form with fields (in order) and a file part.
func multipartBody(t *testing.T, fields [][2]string, filename string, partHdr map[string]string, content []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", "application/octet-stream")
	for k, v := range partHdr {
		h.Set(k, v)
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(content)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestMultipartAndAppend(t *testing.T) {
	e := startEnv(t, nil)
	content := []byte(strings.Repeat("multipart content\n", 500))

	for _, tc := range []struct {
		name    string
		fields  [][2]string
		partHdr map[string]string
		wantExt string
	}{
		{"spooled", nil, nil, ".txt"},
		{"size field", [][2]string{{"size", fmt.Sprint(len(content))}, {"ext", "log"}, {"meta.k", "v"}}, nil, ".log"},
		{"part content-length", nil, map[string]string{"Content-Length": fmt.Sprint(len(content))}, ".txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := multipartBody(t, tc.fields, `C:\docs\notes.txt`, tc.partHdr, content)
			resp, b := do(t, "POST", e.url("/v1/files"), rwKey, body, map[string]string{"Content-Type": ctype})
			if resp.StatusCode != 201 {
				t.Fatalf("%s %s", resp.Status, b)
			}
			var r struct{ FileID string }
			json.Unmarshal(b, &r)
			if !strings.HasSuffix(r.FileID, tc.wantExt) {
				t.Errorf("file id %q, want extension %s", r.FileID, tc.wantExt)
			}
			if _, got := e.download(t, r.FileID, nil); !bytes.Equal(got, content) {
				t.Errorf("downloaded %d bytes, want the %d uploaded", len(got), len(content))
			}
		})
	}

	t.Run("chunked raw body", func(t *testing.T) {
		// An io.Reader that is not a bytes.Reader: no Content-Length.
		resp, b := do(t, "POST", e.url("/v1/files?filename=a.tar.gz"), rwKey, io.MultiReader(bytes.NewReader(content)), nil)
		if resp.StatusCode != 201 {
			t.Fatalf("%s %s", resp.Status, b)
		}
		var r struct{ FileID string }
		json.Unmarshal(b, &r)
		if _, got := e.download(t, r.FileID, nil); !bytes.Equal(got, content) || !strings.HasSuffix(r.FileID, ".gz") {
			t.Errorf("%s: downloaded %d bytes, want the %d uploaded", r.FileID, len(got), len(content))
		}
	})

	t.Run("append", func(t *testing.T) {
		id := e.upload(t, "?kind=appender&ext=log", []byte("first\n"))
		resp, b := do(t, "POST", e.url("/v1/files/"+id+":append"), rwKey, bytes.NewReader([]byte("second\n")), nil)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"size":"7"`) {
			t.Fatalf("append: %s %s", resp.Status, b)
		}
		body, ctype := multipartBody(t, nil, "x", nil, []byte("third\n"))
		if resp, b := do(t, "POST", e.url("/v1/files/"+id+":append"), rwKey, body, map[string]string{"Content-Type": ctype}); resp.StatusCode != 200 {
			t.Fatalf("multipart append: %s %s", resp.Status, b)
		}
		// A part longer than its declared size is refused, nothing appended.
		for _, long := range []map[string]string{{"Content-Length": "2"}, nil} {
			body, ctype = multipartBody(t, [][2]string{{"size", "3"}}, "x", long, []byte("fourth\n"))
			if resp, b := do(t, "POST", e.url("/v1/files/"+id+":append"), rwKey, body, map[string]string{"Content-Type": ctype}); resp.StatusCode != 400 {
				t.Errorf("append of a part longer than declared: %s %s", resp.Status, b)
			}
		}
		if _, got := e.download(t, id, nil); string(got) != "first\nsecond\nthird\n" {
			t.Errorf("appender content %q", got)
		}
		// Appending to a normal file is refused by the storage.
		normal := e.upload(t, "", []byte("normal"))
		resp, b = do(t, "POST", e.url("/v1/files/"+normal+":append"), rwKey, bytes.NewReader([]byte("x")), nil)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("append to a normal file: %s %s", resp.Status, b)
		}
	})

	t.Run("slave", func(t *testing.T) {
		master := e.upload(t, "?ext=jpg", []byte("master"))
		slave := e.upload(t, "?kind=slave&prefix=_small&master_file_id="+master, []byte("slave"))
		if want := strings.TrimSuffix(master, ".jpg") + "_small.jpg"; slave != want {
			t.Errorf("slave id %s, want %s", slave, want)
		}
	})

	t.Run("empty file", func(t *testing.T) {
		id := e.upload(t, "", nil)
		resp, got := e.download(t, id, nil)
		if resp.StatusCode != 200 || len(got) != 0 || resp.ContentLength != 0 {
			t.Errorf("empty file: %s, %d bytes", resp.Status, len(got))
		}
	})
}

func TestBadInput(t *testing.T) {
	e := startEnv(t, func(c *config.Config) {
		c.Limits.MaxUploadSize = 1000
		c.Limits.IOTimeout = time.Second
		c.Console = true
	})
	// Files that existed once: valid IDs the storage no longer has.
	missing := e.upload(t, "?ext=txt", []byte("hello"))
	missingAppender := e.upload(t, "?kind=appender", []byte("hello"))
	for _, id := range []string{missing, missingAppender} {
		if err := e.c.Client.Delete(opCtx(t), id); err != nil {
			t.Fatal(err)
		}
	}

	many := make([][2]string, 70)
	for i := range many {
		many[i] = [2]string{fmt.Sprint("f", i), "v"}
	}
	noFile := func() (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("ext", "txt")
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	for _, tc := range []struct {
		name, method, path string
		body               func() (io.Reader, string)
		code, grpcCode     int
	}{
		{"bad file id", "GET", "/v1/files/group1/nonsense:download", nil, 400, 3},
		{"5 KB file id", "DELETE", "/v1/files/group1/M00/00/00/" + strings.Repeat("Q", 5000), nil, 400, 3},
		{"traversal", "GET", "/v1/files/group1/M00/../../etc/passwd:download", nil, 400, 3},
		{"missing file", "GET", "/v1/files/" + missing + ":download", nil, 404, 5},
		{"bad ext", "POST", "/v1/files?ext=a/b", raw("x"), 400, 3},
		{"bad group", "POST", "/v1/files?group=no-such_group!", raw("x"), 400, 3},
		{"unknown group", "POST", "/v1/files?group=nogroup", raw("x"), 404, 5},
		{"bad kind", "POST", "/v1/files?kind=folder", raw("x"), 400, 3},
		{"slave without master", "POST", "/v1/files?kind=slave&prefix=_a", raw("x"), 400, 3},
		{"too large", "POST", "/v1/files", raw(strings.Repeat("x", 1001)), 413, 8},
		{"too large chunked", "POST", "/v1/files", chunked(strings.Repeat("x", 1001)), 413, 8},
		{"too large multipart", "POST", "/v1/files", form(t, nil, nil, 1001), 413, 8},
		{"multipart without file", "POST", "/v1/files", noFile, 400, 3},
		{"multipart too many fields", "POST", "/v1/files", form(t, many, nil, 1), 400, 3},
		{"multipart short part", "POST", "/v1/files", form(t, [][2]string{{"size", "50"}}, nil, 10), 400, 3},
		{"multipart long part", "POST", "/v1/files", form(t, [][2]string{{"size", "5"}}, nil, 10), 400, 3},
		{"multipart bad size", "POST", "/v1/files", form(t, [][2]string{{"size", "-1"}}, nil, 10), 400, 3},
		{"multipart no boundary", "POST", "/v1/files", func() (io.Reader, string) { return strings.NewReader("x"), "multipart/form-data" }, 400, 3},
		{"append to missing", "POST", "/v1/files/" + missingAppender + ":append", raw("x"), 404, 5},
		{"unknown route", "GET", "/v1/nothing", nil, 404, 5},
		{"unknown route not UTF-8", "GET", "/v1/nothing%ff", nil, 404, 5},
		{"wrong method", "PUT", "/v1/files", raw("x"), 405, 12},
		{"stalled JSON body", "POST", "/v1/files/" + missing + ":setMetadata", stalled(`{"metadata":`), 400, 3},
		{"missing console file", "GET", "/console/nothing.js", nil, 404, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			hdr := map[string]string{}
			if tc.body != nil {
				var ctype string
				body, ctype = tc.body()
				if ctype != "" {
					hdr["Content-Type"] = ctype
				}
			}
			resp, b := do(t, tc.method, e.url(tc.path), rwKey, body, hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s, want %d: %s", resp.Status, tc.code, b)
			}
			if st := decodeStatus(t, b); st.Code != tc.grpcCode {
				t.Errorf("code %d, want %d: %s", st.Code, tc.grpcCode, b)
			}
			// A refusal quotes a file ID at most 256 bytes long, three
			// times (message, ErrorInfo, BadRequest).
			if len(b) > 2048 {
				t.Errorf("an answer of %d bytes: %.300s", len(b), b)
			}
		})
	}

	t.Run("body shorter than content-length", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.gw.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\nonly 16 bytes...", rwKey)
		conn.(*net.TCPConn).CloseWrite()
		reply, _ := io.ReadAll(conn)
		if !bytes.HasPrefix(reply, []byte("HTTP/1.1 400")) {
			t.Fatalf("reply %q", reply)
		}
	})
	// A request refused before its body was read (here: no key) whose
	// client then stops sending the body gets its answer, and its
	// connection is closed within io_timeout: net/http would wait to
	// discard the rest of the body as long as the client keeps it open.
	t.Run("refused, body stalled", func(t *testing.T) {
		for _, path := range []string{"/v1/files", "/v1/groups/group1/storages/x:scrub"} {
			conn, err := net.Dial("tcp", e.gw.HTTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", path)
			reply, err := io.ReadAll(conn)
			if err != nil || !bytes.HasPrefix(reply, []byte("HTTP/1.1 401")) {
				t.Errorf("%s: reply %q, %v; want a 401 and the connection closed", path, reply, err)
			}
		}
	})
}

func raw(s string) func() (io.Reader, string) {
	return func() (io.Reader, string) { return bytes.NewReader([]byte(s)), "" }
}

// chunked is a body without a known length.
func chunked(s string) func() (io.Reader, string) {
	return func() (io.Reader, string) { return io.MultiReader(strings.NewReader(s)), "" }
}

// stalled is a body that sends s and then nothing, without ending.
func stalled(s string) func() (io.Reader, string) {
	return func() (io.Reader, string) {
		pr, pw := io.Pipe()
		go pw.Write([]byte(s)) // returns when the client closes pr
		return pr, ""
	}
}

func form(t *testing.T, fields [][2]string, partHdr map[string]string, n int) func() (io.Reader, string) {
	return func() (io.Reader, string) {
		return multipartBody(t, fields, "f.bin", partHdr, bytes.Repeat([]byte("y"), n))
	}
}
