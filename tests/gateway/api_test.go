package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// jsonStatus is a REST error body with the details tests look at.
type jsonStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type            string            `json:"@type"`
		Reason          string            `json:"reason"`
		Domain          string            `json:"domain"`
		Metadata        map[string]string `json:"metadata"`
		FieldViolations []struct {
			Field string `json:"field"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

func (s jsonStatus) reason() string {
	for _, d := range s.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

func (s jsonStatus) fields() []string {
	var f []string
	for _, d := range s.Details {
		for _, v := range d.FieldViolations {
			f = append(f, v.Field)
		}
	}
	return f
}

// wantJSONStatus checks a REST error: HTTP status, a JSON google.rpc.Status
// of code with an ErrorInfo of reason and, when field is set, a
// BadRequest naming it.
func wantJSONStatus(t *testing.T, what string, resp *http.Response, body []byte, httpStatus int, code codes.Code, reason, field string) jsonStatus {
	t.Helper()
	var s jsonStatus
	if resp.StatusCode != httpStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &s) != nil {
		t.Fatalf("%s: %s %q %s, want %d and a JSON status", what, resp.Status, resp.Header.Get("Content-Type"), body, httpStatus)
	}
	if s.Code != int(code) || s.reason() != reason {
		t.Fatalf("%s: %s, want code %v reason %s", what, body, code, reason)
	}
	if field != "" {
		if f := s.fields(); len(f) == 0 || f[0] != field {
			t.Fatalf("%s: %s, want a field violation of %s", what, body, field)
		}
	}
	return s
}

// wantGRPCStatus checks a gRPC error: code, ErrorInfo reason and field.
func wantGRPCStatus(t *testing.T, what string, err error, code codes.Code, reason, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("%s: %v, want %v", what, err, code)
	}
	var gotReason string
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			gotReason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if gotReason != reason || field != "" && (len(fields) == 0 || fields[0] != field) {
		t.Fatalf("%s: %v (reason %s, fields %v), want reason %s field %s", what, err, gotReason, fields, reason, field)
	}
}

// TestMetadataInjection sends metadata holding the FastDFS separators,
// empty names and oversized names and values through every route taking
// metadata: all are refused, naming the field, and nothing is stored.
func TestMetadataInjection(t *testing.T) {
	e := startEnv(t, nil)
	id := e.upload(t, "?ext=txt&meta.owner=bob", []byte("metadata"))
	injected := "alice\x01role\x02admin"
	const field = `metadata["owner"]`

	// Raw upload, metadata in the query.
	resp, body := do(t, "POST", e.url("/v1/files?meta.owner="+url.QueryEscape(injected)), rwKey, strings.NewReader("x"), nil)
	wantJSONStatus(t, "raw upload", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", field)
	resp, body = do(t, "POST", e.url("/v1/files?meta.k="+strings.Repeat("v", 257)), rwKey, strings.NewReader("x"), nil)
	wantJSONStatus(t, "raw upload, long value", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", `metadata["k"]`)
	// Multipart fields.
	var mp bytes.Buffer
	fmt.Fprintf(&mp, "--B\r\nContent-Disposition: form-data; name=\"meta.owner\"\r\n\r\n%s\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx\r\n--B--\r\n", injected)
	resp, body = do(t, "POST", e.url("/v1/files"), rwKey, bytes.NewReader(mp.Bytes()), map[string]string{"Content-Type": "multipart/form-data; boundary=B"})
	wantJSONStatus(t, "multipart upload", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", field)

	// JSON SetMetadata, both modes, and an empty name.
	for _, mode := range []string{"SET_METADATA_MODE_OVERWRITE", "SET_METADATA_MODE_MERGE"} {
		b, _ := json.Marshal(map[string]any{"mode": mode, "metadata": map[string]string{"owner": injected}})
		resp, body = do(t, "POST", e.url("/v1/files/"+id+":setMetadata"), rwKey, bytes.NewReader(b), nil)
		wantJSONStatus(t, "JSON set metadata "+mode, resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", field)
	}
	resp, body = do(t, "POST", e.url("/v1/files/"+id+":setMetadata"), rwKey, strings.NewReader(`{"mode":"SET_METADATA_MODE_MERGE","metadata":{"":"x"}}`), nil)
	wantJSONStatus(t, "JSON set metadata, empty name", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", `metadata[""]`)

	// gRPC.
	ctx := withKey(opCtx(t), rwKey)
	files := e.files(t)
	_, err := files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE, Metadata: map[string]string{"owner": injected}})
	wantGRPCStatus(t, "gRPC set metadata", err, codes.InvalidArgument, "INVALID_ARGUMENT", field)
	_, err = files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_MERGE, Metadata: map[string]string{strings.Repeat("k", 65): "v"}})
	wantGRPCStatus(t, "gRPC set metadata, long name", err, codes.InvalidArgument, "INVALID_ARGUMENT", `metadata["`+strings.Repeat("k", 65)+`"]`)
	st, err := files.UploadFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Size: 1, Metadata: map[string]string{"owner": injected}}}})
	st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: []byte("x")}})
	_, err = st.CloseAndRecv()
	wantGRPCStatus(t, "gRPC upload", err, codes.InvalidArgument, "INVALID_ARGUMENT", field)

	got, err := files.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: id})
	if err != nil || len(got.GetMetadata()) != 1 || got.GetMetadata()["owner"] != "bob" {
		t.Fatalf("metadata after the refusals: %v, %v", got.GetMetadata(), err)
	}
}

// TestErrorModel checks the codes and details of errors over both
// transports against a real cluster.
func TestErrorModel(t *testing.T) {
	e := startEnv(t, nil)
	content := []byte("0123456789")
	id := e.upload(t, "?ext=txt", content)
	app := e.upload(t, "?ext=txt&kind=appender", content)
	ctx := withKey(opCtx(t), rwKey)
	files := e.files(t)

	// Unknown JSON fields: a typo must not wipe the metadata.
	resp, body := do(t, "POST", e.url("/v1/files/"+id+":setMetadata"), rwKey, strings.NewReader(`{"mode":"SET_METADATA_MODE_OVERWRITE","metadta":{"a":"b"}}`), nil)
	wantJSONStatus(t, "unknown JSON field", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", "metadta")

	// Offsets past the end: OUT_OF_RANGE; changing a normal file: FAILED_PRECONDITION.
	ms, err := files.ModifyFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms.Send(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: app, Offset: 11, Size: 1}}})
	ms.Send(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Chunk{Chunk: []byte("x")}})
	_, err = ms.CloseAndRecv()
	wantGRPCStatus(t, "gRPC modify past the end", err, codes.OutOfRange, "OUT_OF_RANGE", "offset")
	resp, body = do(t, "POST", e.url("/v1/files/"+id+":truncate"), rwKey, strings.NewReader(`{"size":"1"}`), nil)
	wantJSONStatus(t, "truncate a normal file", resp, body, 400, codes.FailedPrecondition, "NOT_APPENDER_FILE", "")
	resp, body = do(t, "POST", e.url("/v1/files/"+id+":append"), rwKey, strings.NewReader("x"), nil)
	wantJSONStatus(t, "append to a normal file", resp, body, 400, codes.FailedPrecondition, "NOT_APPENDER_FILE", "")
	resp, body = e.download(t, id, map[string]string{"Range": "bytes=100-"})
	wantJSONStatus(t, "unsatisfiable range", resp, body, 416, codes.OutOfRange, "OUT_OF_RANGE", "Range")
	ds, err := files.DownloadFile(ctx, &fastdfsv1.DownloadFileRequest{FileId: id, Offset: 100})
	if err == nil {
		_, err = ds.Recv()
	}
	wantGRPCStatus(t, "gRPC download past the end", err, codes.OutOfRange, "OUT_OF_RANGE", "offset")
	_, err = files.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: id, Size: 1})
	wantGRPCStatus(t, "gRPC truncate a normal file", err, codes.FailedPrecondition, "NOT_APPENDER_FILE", "")
	_, err = files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: ""})
	wantGRPCStatus(t, "gRPC no file id", err, codes.InvalidArgument, "INVALID_ARGUMENT", "file_id")
	us, err := files.UploadFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	us.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Size: config.DefaultMaxUploadSize + 1}}})
	_, err = us.CloseAndRecv()
	wantGRPCStatus(t, "gRPC upload over max_upload_size", err, codes.ResourceExhausted, "RESOURCE_EXHAUSTED", "")

	// Messages name neither servers nor errno values.
	missing := strings.Replace(id, "group1/M00/00/00/", "group1/M00/00/01/", 1)
	_, err = files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: missing})
	resp, body = do(t, "GET", e.url("/v1/files/"+missing), roKey, nil, nil)
	wantJSONStatus(t, "missing file", resp, body, 404, codes.NotFound, "FILE_NOT_FOUND", "")
	msgs := []string{status.Convert(err).Message(), string(body)}
	// Nor do the refusals of bad file IDs and extensions.
	_, err = files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: "group1/M00/00/00/bad:name"})
	_, err2 := files.CreateUploadSession(ctx, &fastdfsv1.CreateUploadSessionRequest{Ext: "a/b"})
	msgs = append(msgs, status.Convert(err).Message(), status.Convert(err2).Message())
	for _, path := range []string{"/v1/files/group1/M00/00/00/bad:name:append", "/v1/files?ext=a/b"} {
		_, body = do(t, "POST", e.url(path), rwKey, strings.NewReader("x"), nil)
		msgs = append(msgs, string(body))
	}
	_, body = do(t, "GET", e.url("/v1/files/group1/M00/00/00/bad:name:download"), rwKey, nil, nil)
	msgs = append(msgs, string(body))
	for _, msg := range msgs {
		for _, bad := range []string{"127.", ":23000", "fastdfs status", "ENOENT", "EINVAL"} {
			if strings.Contains(msg, bad) {
				t.Errorf("error message %q contains %q", msg, bad)
			}
		}
	}

	// Auth and routing errors carry an ErrorInfo too.
	resp, body = do(t, "GET", e.url("/v1/files/"+id), "", nil, nil)
	wantJSONStatus(t, "no key", resp, body, 401, codes.Unauthenticated, "API_KEY_MISSING", "")
	resp, body = do(t, "DELETE", e.url("/v1/files/"+id), roKey, nil, nil)
	wantJSONStatus(t, "read-only key", resp, body, 403, codes.PermissionDenied, "API_KEY_READ_ONLY", "")
	_, err = files.DeleteFile(withKey(opCtx(t), roKey), &fastdfsv1.DeleteFileRequest{FileId: id})
	wantGRPCStatus(t, "gRPC read-only key", err, codes.PermissionDenied, "API_KEY_READ_ONLY", "")
	_, err = files.DeleteFile(opCtx(t), &fastdfsv1.DeleteFileRequest{FileId: id})
	wantGRPCStatus(t, "gRPC no key", err, codes.Unauthenticated, "API_KEY_MISSING", "")
	resp, body = do(t, "GET", e.url("/no/such/route"), roKey, nil, nil)
	wantJSONStatus(t, "unknown route", resp, body, 404, codes.NotFound, "ROUTE_NOT_FOUND", "")
	resp, body = do(t, "PUT", e.url("/v1/files"), rwKey, strings.NewReader("x"), nil)
	wantJSONStatus(t, "method not allowed", resp, body, 405, codes.Unimplemented, "METHOD_NOT_ALLOWED", "")
	resp, body = do(t, "POST", e.url("/v1/files?kind=weird"), rwKey, strings.NewReader("x"), nil)
	wantJSONStatus(t, "raw route bad parameter", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", "kind")
	resp, body = do(t, "GET", e.url("/v1/files/group1/bad:download"), roKey, nil, nil)
	wantJSONStatus(t, "raw route bad file ID", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", "file_id")
	resp, body = do(t, "GET", e.url("/v1/files/group1/M00/00/00/%ff:download"), roKey, nil, nil)
	wantJSONStatus(t, "raw route file ID not UTF-8", resp, body, 400, codes.InvalidArgument, "INVALID_ARGUMENT", "file_id")

	// Multi-range requests get the whole file (200), every time.
	for _, r := range []string{"bytes=0-1,4-5", "bytes=0-1,100-200", "bytes=100-200,300-400"} {
		resp, body = e.download(t, id, map[string]string{"Range": r})
		if resp.StatusCode != 200 || !bytes.Equal(body, content) {
			t.Errorf("Range %s: %s %q, want 200 and the whole file", r, resp.Status, body)
		}
	}
}

// TestCORS checks preflights and the CORS headers of answers.
func TestCORS(t *testing.T) {
	const origin = "https://app.example"
	e := startEnv(t, func(c *config.Config) {
		c.CORS = config.CORS{AllowedOrigins: []string{origin}, MaxAge: time.Hour}
	})
	id := e.upload(t, "?ext=txt", []byte("cors"))
	resp, _ := do(t, "OPTIONS", e.url("/v1/files"), "", nil, map[string]string{
		"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"})
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || h.Get("Access-Control-Max-Age") != "3600" {
		t.Fatalf("preflight: %s %v", resp.Status, h)
	}
	resp, body := do(t, "OPTIONS", e.url("/v1/files"), "", nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	wantJSONStatus(t, "preflight of another origin", resp, body, 403, codes.PermissionDenied, "CORS_ORIGIN_NOT_ALLOWED", "")
	resp, body = do(t, "OPTIONS", e.url("/v1/files"), "", nil, map[string]string{"Origin": "https://\xffvil.example", "Access-Control-Request-Method": "POST"})
	wantJSONStatus(t, "preflight of an origin that is not UTF-8", resp, body, 403, codes.PermissionDenied, "CORS_ORIGIN_NOT_ALLOWED", "")
	// A small download (the fast path's kind of request) and a JSON route.
	for _, path := range []string{"/v1/files/" + id + ":download", "/v1/files/" + id} {
		resp, _ = do(t, "GET", e.url(path), roKey, nil, map[string]string{"Origin": origin})
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "ETag") {
			t.Errorf("GET %s from %s: %s %v", path, origin, resp.Status, resp.Header)
		}
		resp, _ = do(t, "GET", e.url(path), roKey, nil, map[string]string{"Origin": "https://evil.example"})
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s from another origin: %v", path, resp.Header)
		}
	}
	// Off by default.
	off := startEnv(t, nil)
	resp, _ = do(t, "GET", off.url("/healthz"), "", nil, map[string]string{"Origin": origin})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS headers without a CORS config: %v", resp.Header)
	}
}

// TestCompression checks gzip on both transports: JSON answers for
// clients that accept it, raw downloads never, gRPC calls with the gzip
// compressor.
func TestCompression(t *testing.T) {
	e := startEnv(t, nil)
	content := bytes.Repeat([]byte("compressible "), 1000)
	id := e.upload(t, "?ext=txt", content)
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}
	resp, body := doWith(t, raw, "GET", e.url("/v1/files/"+id), roKey, nil, map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("JSON answer: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) || !strings.Contains(string(plain), id) {
		t.Fatalf("gunzipped JSON %q, %v", plain, err)
	}
	resp, _ = doWith(t, raw, "GET", e.url("/v1/files/no/route"), roKey, nil, map[string]string{"Accept-Encoding": "gzip"})
	resp, body = doWith(t, raw, "GET", e.url("/v1/files/"+id+":download"), roKey, nil, map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, content) {
		t.Fatalf("raw download: %v, %d bytes", resp.Header, len(body))
	}
	resp, _ = doWith(t, raw, "GET", e.url("/v1/files/"+id), roKey, nil, nil)
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("JSON answer without Accept-Encoding: %v", resp.Header)
	}

	ctx := withKey(opCtx(t), rwKey)
	gz := grpc.UseCompressor(grpcgzip.Name)
	gid, err := grpcUpload(ctx, e.files(t), content, gz)
	if err != nil {
		t.Fatalf("gzip upload: %v", err)
	}
	ds, err := e.files(t).DownloadFile(ctx, &fastdfsv1.DownloadFileRequest{FileId: gid}, gz)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		m, err := ds.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("gzip download: %v", err)
		}
		got = append(got, m.GetChunk()...)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("gzip download: %d bytes", len(got))
	}
}

// TestChunkLimit checks that a 2 MiB chunk passes and that larger ones
// get INVALID_ARGUMENT naming the chunk, up to the server's message limit
// (a chunk plus 64 KiB of framing); beyond it grpc-go refuses the message
// with RESOURCE_EXHAUSTED before the service sees it.
func TestChunkLimit(t *testing.T) {
	e := startEnv(t, nil)
	ctx := withKey(opCtx(t), rwKey)
	upload := func(n int) error {
		st, err := e.files(t).UploadFile(ctx)
		if err != nil {
			return err
		}
		if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Size: int64(n)}}}); err == nil {
			st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: make([]byte, n)}})
		}
		_, err = st.CloseAndRecv()
		return err
	}
	if err := upload(2 << 20); err != nil {
		t.Fatalf("a 2 MiB chunk: %v", err)
	}
	for _, n := range []int{2<<20 + 1, 2<<20 + 60<<10} {
		wantGRPCStatus(t, fmt.Sprintf("a chunk of %d bytes", n), upload(n), codes.InvalidArgument, "INVALID_ARGUMENT", "chunk")
	}
	if err := upload(3 << 20); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a message beyond the limit: %v, want the transport's RESOURCE_EXHAUSTED", err)
	}
}

// TestDownloadURLs checks that CreateDownloadUrl, configured in
// gateway.yaml, gives URLs a storage with check_token on serves, and that
// forged and expired tokens are refused.
func TestDownloadURLs(t *testing.T) {
	const secret = "FastDFS1234567890"
	c := cluster.Start(t, cluster.Options{Storages: 1, StorageConf: []string{
		"http.anti_steal.check_token = true",
		"http.anti_steal.token_ttl = 60",
		"http.anti_steal.secret_key = " + secret,
	}})
	e := &env{c: c, gw: startGateway(t, c, func(cfg *config.Config) {
		cfg.DownloadURLs = config.DownloadURLs{StorageHTTPPort: c.Storages[0].HTTPPort, SecretKey: secret, TokenTTL: time.Minute}
	})}
	content := bytes.Repeat([]byte("signed "), 5000)
	id := e.upload(t, "?ext=jpg", content)

	resp, body := do(t, "POST", e.url("/v1/files/"+id+":createDownloadUrl"), roKey, strings.NewReader(`{}`), nil)
	var r struct {
		URL        string `json:"url"`
		ExpireTime string `json:"expireTime"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("createDownloadUrl: %s %s", resp.Status, body)
	}
	u, err := url.Parse(r.URL)
	if err != nil || u.Host != c.Storages[0].HTTPAddr() || u.Query().Get("token") == "" || u.Query().Get("ts") == "" || r.ExpireTime == "" {
		t.Fatalf("url %q expiring %q", r.URL, r.ExpireTime)
	}
	get := func(url string) (int, []byte) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := get(r.URL); code != 200 || !bytes.Equal(b, content) {
		t.Fatalf("GET %s: %d, %d bytes", r.URL, code, len(b))
	}
	base := strings.Split(r.URL, "?")[0]
	_, name, _ := strings.Cut(id, "/")
	old := time.Now().Add(-time.Hour).Unix()
	for what, bad := range map[string]string{
		"no token":      base,
		"forged token":  fmt.Sprintf("%s?token=%032x&ts=%s", base, 12345, u.Query().Get("ts")),
		"expired token": fmt.Sprintf("%s?token=%s&ts=%d", base, httptoken.Make(name, secret, old), old),
	} {
		if code, _ := get(bad); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", what, code)
		}
	}

	// A public base URL replaces the storage's address.
	pub := startGateway(t, c, func(cfg *config.Config) {
		cfg.DownloadURLs = config.DownloadURLs{BaseURL: "https://files.example.com/", SecretKey: secret}
	})
	resp, body = do(t, "POST", pub.HTTPURL()+"/v1/files/"+id+":createDownloadUrl", roKey, strings.NewReader(`{}`), nil)
	if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || !strings.HasPrefix(r.URL, "https://files.example.com/"+id+"?token=") {
		t.Fatalf("createDownloadUrl with a base URL: %s %s", resp.Status, body)
	}
}
