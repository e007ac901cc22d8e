package faults

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// restTarget escapes what cannot go raw into a request target (NUL,
// space); everything else of a hostile name goes as it is.
func restTarget(s string) string {
	return strings.NewReplacer(" ", "%20", "\x00", "%00", "\r", "%0d", "\n", "%0a").Replace(s)
}

// rest attacks the gateway's REST port with a read-write key: traversal
// in every encoding on every route that takes a file ID, a group, a
// prefix or an extension, and malformed requests. Every answer must be a
// 4xx (a 5xx would be the gateway failing on bad input).
func (e *hostileEnv) rest(t *testing.T) {
	auth := "Authorization: Bearer " + rwKey
	n := 0
	check := func(label, method, target string, body []byte) {
		t.Helper()
		n++
		code, b := e.restDo(t, method, restTarget(target), auth, body)
		served(t, label, b)
		if code/100 != 4 {
			t.Errorf("%s: %s %.100q: %d %.200s", label, method, target, code, b)
		}
	}
	ids := map[string]string{}
	for label, name := range e.traversals() {
		ids[label] = group + "/" + name
		ids[label+" (slashes %2f)"] = group + "/" + strings.ReplaceAll(name, "/", "%2f")
	}
	for _, g := range hostileGroups {
		ids["group "+g] = g + "/" + mustName(e.file)
	}
	delete(ids, "metadata side file") // a real name, GetMetadata reads it
	for label, id := range ids {
		check(label+"/download", "GET", "/v1/files/"+id+":download", nil)
		check(label+"/info", "GET", "/v1/files/"+id, nil)
		check(label+"/metadata", "GET", "/v1/files/"+id+":getMetadata", nil)
		check(label+"/regenerate", "POST", "/v1/files/"+id+":regenerateAppender", []byte("{}"))
		check(label+"/delete", "DELETE", "/v1/files/"+id, nil)
		check(label+"/append", "POST", "/v1/files/"+id+":append", []byte("pwned"))
		check(label+"/set metadata", "POST", "/v1/files/"+id+":setMetadata", []byte(`{"mode":"SET_METADATA_MODE_MERGE","metadata":{"pwned":"yes"}}`))
		check(label+"/truncate", "POST", "/v1/files/"+id+":truncate", []byte(`{"size":"0"}`))
		check(label+"/slave of it", "POST", "/v1/files?kind=slave&prefix=_s&master_file_id="+url.QueryEscape(id), []byte("pwned"))
	}
	for _, v := range []string{"../..", `..\..`, "%2e%2e", "/x", "\x00/..", "\xc0\xae", "%252e%252e%252f", strings.Repeat("A", 4096)} {
		q := url.QueryEscape(v)
		check("prefix "+v, "POST", "/v1/files?kind=slave&master_file_id="+e.file+"&prefix="+q, []byte("pwned"))
		check("ext "+v, "POST", "/v1/files?ext="+q, []byte("pwned"))
		check("group "+v, "POST", "/v1/files?group="+q, []byte("pwned"))
	}
	n += e.restMalformed(t, auth)
	e.dotSegments(t)
	t.Logf("%d REST requests", n+1)
}

// restMalformed sends malformed and oversized requests with a valid key;
// it returns how many.
func (e *hostileEnv) restMalformed(t *testing.T, auth string) int {
	n := 0
	for label, req := range malformedHTTP("/v1/files?ext=bin", auth) {
		n++
		code, b := rawHTTPClose(t, e.g.httpAddr, req, strings.HasSuffix(label, "then close"))
		served(t, label, b)
		if label == "chunked and content-length" && code == http.StatusCreated && bytes.Contains(b, []byte(`"size":"0"`)) {
			// net/http frames the body by Transfer-Encoding alone, as
			// RFC 9112 6.3 allows: the upload of 0 bytes it carries.
			continue
		}
		if !refused(label, code) {
			t.Errorf("%s: %d %.200s", label, code, b)
		}
	}
	for label, req := range map[string][]byte{
		"content-length 2^40 (max_upload_size 64MB)": request("POST", "/v1/files", auth+"\r\nContent-Length: 1099511627776", []byte("x")),
		"chunked 65 MiB (max_upload_size 64MB)":      request("POST", "/v1/files", auth+"\r\nTransfer-Encoding: chunked", chunkedBody(65<<20)),
		"multipart part of 2^40":                     request("POST", "/v1/files?size=1099511627776", auth+"\r\nContent-Type: multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nxx\r\n--b--\r\n")),
		"multipart boundary 4 KB":                    request("POST", "/v1/files", auth+"\r\nContent-Type: multipart/form-data; boundary="+strings.Repeat("b", 4096), []byte("--b\r\n")),
		"JSON body 8 MiB of [":                       request("POST", "/v1/files/"+e.file+":setMetadata", auth+"\r\nContent-Type: application/json", bytes.Repeat([]byte("["), 8<<20)),
		"JSON metadata 100,000 keys": request("POST", "/v1/files/"+e.file+":setMetadata", auth+"\r\nContent-Type: application/json",
			[]byte(`{"mode":"SET_METADATA_MODE_MERGE","metadata":{`+strings.Repeat(`"k":"v",`, 100000)+`"z":"z"}}`)),
	} {
		n++
		code, b := rawHTTP(t, e.g.httpAddr, req)
		served(t, label, b)
		if code != 0 && code/100 != 4 {
			t.Errorf("%s: %d %.200s", label, code, b)
		}
	}
	return n
}

// dotSegments deletes, with a client that follows redirects, an ID whose
// dot segments name the known file: it must be refused, not redirected
// to the known file's ID and deleted.
func (e *hostileEnv) dotSegments(t *testing.T) {
	g, name, _ := fileid.Split(e.file)
	dir, base := path.Split(name)
	req, _ := http.NewRequest("DELETE", e.g.url("/v1/files/"+g+"/"+dir+"zz/../"+base), nil)
	req.Header.Set("Authorization", "Bearer "+rwKey)
	resp, err := e.g.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("DELETE of %s with dot segments naming it: %s (after redirects to %s), want 400", e.file, resp.Status, resp.Request.URL.Path)
	}
}

// chunkedBody is n bytes in 1 MiB chunks, chunked-encoded.
func chunkedBody(n int) []byte {
	var b bytes.Buffer
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for ; n > 0; n -= len(chunk) {
		c := chunk[:min(n, len(chunk))]
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(c), c)
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// keyCases are forged, truncated and wrong-scope credentials, as header
// lines, and whether they are a read-only key (403 on writes) rather than
// no valid key (401).
func keyCases() []struct {
	label, header string
	readOnly      bool
} {
	return []struct {
		label, header string
		readOnly      bool
	}{
		{"no key", "", false},
		{"truncated by one", "Authorization: Bearer " + rwKey[:len(rwKey)-1], false},
		{"one character more", "Authorization: Bearer " + rwKey + "0", false},
		{"first 8 characters", "Authorization: Bearer " + rwKey[:8], false},
		{"uppercase", "Authorization: Bearer " + strings.ToUpper(rwKey), false},
		{"last character changed", "Authorization: Bearer " + rwKey[:len(rwKey)-1] + "X", false},
		{"Bearer without a key", "Authorization: Bearer", false},
		{"Basic with the key", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+rwKey)), false},
		{"key without scheme", "Authorization: " + rwKey, false},
		{"X-API-Key truncated", "X-API-Key: " + rwKey[:len(rwKey)-1], false},
		{"bogus Authorization before a valid one", "Authorization: Bearer forged-forged-forged\r\nAuthorization: Bearer " + rwKey, false},
		{"read-only key", "Authorization: Bearer " + roKey, true},
		{"read-only X-API-Key", "X-API-Key: " + roKey, true},
		{"read-only Authorization, read-write X-API-Key", "Authorization: Bearer " + roKey + "\r\nX-API-Key: " + rwKey, true},
	}
}

// restKeys sends every forged key with a read (download) and with writes
// (upload, delete): 401 or 403, never served, nothing stored or deleted.
func (e *hostileEnv) restKeys(t *testing.T) {
	storedBefore := len(storedIDs(t, e.store))
	for _, kc := range keyCases() {
		for _, op := range []struct {
			method, target string
			body           []byte
			write          bool
		}{
			{"GET", "/v1/files/" + e.file + ":download", nil, false},
			{"POST", "/v1/files?ext=bin", []byte("pwned"), true},
			{"DELETE", "/v1/files/" + e.file, nil, true},
		} {
			want := 401
			switch {
			case kc.readOnly && !op.write:
				want = 200
			case kc.readOnly:
				want = 403
			}
			code, b := e.restDo(t, op.method, op.target, kc.header, op.body)
			if code != want {
				t.Errorf("%s %s with %s: %d, want %d", op.method, op.target, kc.label, code, want)
			}
			if want != 200 && bytes.Contains(b, e.fileBytes[:64]) {
				t.Errorf("%s with %s: the refusal carries the file", op.method, kc.label)
			}
		}
	}
	// A NUL inside the key (only a raw client can send it).
	if code, _ := e.restDo(t, "GET", "/v1/files/"+e.file+":download", "Authorization: Bearer "+roKey+"\x00", nil); code/100 != 4 {
		t.Errorf("key with a NUL: %d", code)
	}
	if after := len(storedIDs(t, e.store)); after != storedBefore {
		t.Errorf("refused uploads and deletes changed the store: %d files, %d before", after, storedBefore)
	}
	t.Logf("%d key cases, each on a download, an upload and a delete", len(keyCases()))
}

// grpcCode calls fn and checks its error code is one of want.
func grpcCode(t *testing.T, label string, err error, want ...codes.Code) {
	t.Helper()
	got := status.Code(err)
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Errorf("%s: %v, want one of %v", label, err, want)
}

// grpc attacks the gRPC port: traversal on every method that takes a file
// ID, group, prefix or extension; messages beyond the 2 MiB limit; a
// CONTINUATION flood.
func (e *hostileEnv) grpc(t *testing.T) {
	ctx, cancel := context.WithTimeout(withKey(context.Background(), rwKey), 5*opTimeout)
	defer cancel()
	refused := []codes.Code{codes.InvalidArgument, codes.NotFound}
	ids := map[string]string{}
	for label, name := range e.traversals() {
		ids[label] = group + "/" + name
	}
	for _, g := range hostileGroups {
		ids["group "+g] = g + "/" + mustName(e.file)
	}
	delete(ids, "metadata side file")
	// The Go client refuses to marshal invalid UTF-8; tests/grpcapi
	// TestMalformedRequests sends such bytes raw.
	delete(ids, "overlong bytes")
	n := 0
	for label, id := range ids {
		_, err := e.g.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: id})
		grpcCode(t, label+"/info", err, refused...)
		_, err = e.g.files.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: id})
		grpcCode(t, label+"/get metadata", err, refused...)
		_, err = e.g.files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Metadata: map[string]string{"pwned": "yes"}})
		grpcCode(t, label+"/set metadata", err, refused...)
		_, err = e.g.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: id})
		grpcCode(t, label+"/delete", err, refused...)
		_, err = e.g.files.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: id})
		grpcCode(t, label+"/truncate", err, refused...)
		var buf bytes.Buffer
		err = e.download(ctx, id, &buf)
		served(t, label+"/download", buf.Bytes())
		grpcCode(t, label+"/download", err, refused...)
		_, err = e.g.files.CreateDownloadUrl(ctx, &fastdfsv1.CreateDownloadUrlRequest{FileId: id})
		grpcCode(t, label+"/download url", err, append(refused, codes.FailedPrecondition)...)
		err = e.uploadSpec(ctx, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: id, Prefix: "_s", Size: 5})
		grpcCode(t, label+"/slave of it", err, refused...)
		_, err = e.g.files.RegenerateAppenderFile(ctx, &fastdfsv1.RegenerateAppenderFileRequest{FileId: id})
		grpcCode(t, label+"/regenerate", err, refused...)
		grpcCode(t, label+"/append", e.appendTo(ctx, id), refused...)
		grpcCode(t, label+"/modify", e.modify(ctx, id), refused...)
		n += 11
	}
	for _, v := range []string{"../..", `..\..`, "%2e%2e", "/x", "\x00/..", "%252e%252e%252f", strings.Repeat("A", 4096)} {
		err := e.uploadSpec(ctx, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: e.file, Prefix: v, Size: 5})
		grpcCode(t, "prefix "+v, err, codes.InvalidArgument)
		err = e.uploadSpec(ctx, &fastdfsv1.UploadSpec{Ext: v, Size: 5})
		grpcCode(t, "ext "+v, err, codes.InvalidArgument)
		err = e.uploadSpec(ctx, &fastdfsv1.UploadSpec{Group: v, Size: 5})
		grpcCode(t, "group "+v, err, codes.InvalidArgument)
		n += 3
	}

	t.Logf("%d gRPC calls", n+3)
	e.grpcOversized(ctx, t)
	e.continuationFlood(t)
}

// grpcOversized sends messages beyond the gateway's 2 MiB + 64 KiB limit
// and a 1 MiB metadata header.
func (e *hostileEnv) grpcOversized(ctx context.Context, t *testing.T) {
	_, err := e.g.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: strings.Repeat("A", 3<<20)})
	grpcCode(t, "3 MiB file ID", err, codes.ResourceExhausted)
	st, err := e.g.files.UploadFile(ctx)
	if err == nil {
		st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Size: 3 << 20}}})
		st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: make([]byte, 3<<20)}})
		_, err = st.CloseAndRecv()
	}
	grpcCode(t, "3 MiB upload chunk", err, codes.ResourceExhausted)
	_, err = e.g.files.GetFileInfo(metadata.AppendToOutgoingContext(ctx, "x-junk", strings.Repeat("j", 1<<20)),
		&fastdfsv1.GetFileInfoRequest{FileId: e.file})
	t.Logf("1 MiB metadata header: %v", status.Code(err))
}

// download streams id over gRPC into w; the call's error, nil at the end.
func (e *hostileEnv) download(ctx context.Context, id string, w *bytes.Buffer) error {
	st, err := e.g.files.DownloadFile(ctx, &fastdfsv1.DownloadFileRequest{FileId: id})
	if err != nil {
		return err
	}
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		w.Write(m.Chunk)
	}
}

// uploadSpec starts an upload of spec with 5 bytes; its error, nil if it
// was stored (then the test fails on the code).
func (e *hostileEnv) uploadSpec(ctx context.Context, spec *fastdfsv1.UploadSpec) error {
	st, err := e.g.files.UploadFile(ctx)
	if err != nil {
		return err
	}
	st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: spec}})
	st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: []byte("pwned")}})
	_, err = st.CloseAndRecv()
	return err
}

// appendTo appends 5 bytes to id over gRPC; its error.
func (e *hostileEnv) appendTo(ctx context.Context, id string) error {
	st, err := e.g.files.AppendFile(ctx)
	if err != nil {
		return err
	}
	st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: &fastdfsv1.AppendSpec{FileId: id, Size: 5}}})
	st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: []byte("pwned")}})
	_, err = st.CloseAndRecv()
	return err
}

// modify writes 5 bytes at offset 0 of id over gRPC; its error.
func (e *hostileEnv) modify(ctx context.Context, id string) error {
	st, err := e.g.files.ModifyFile(ctx)
	if err != nil {
		return err
	}
	st.Send(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: id, Size: 5}}})
	st.Send(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Chunk{Chunk: []byte("pwned")}})
	_, err = st.CloseAndRecv()
	return err
}

// continuationFlood sends one HEADERS frame without END_HEADERS and then
// up to 64 MiB of CONTINUATION frames (CVE-2024-27316 and its kin): the
// server must close the connection rather than buffer the header block.
func (e *hostileEnv) continuationFlood(t *testing.T) {
	c, err := net.DialTimeout("tcp", e.g.grpcAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		fr := http2.NewFramer(nil, c)
		for {
			if _, err := fr.ReadFrame(); err != nil {
				return
			}
		}
	}()
	fr := http2.NewFramer(c, nil)
	c.Write([]byte(http2.ClientPreface))
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/fastdfs.v1.FileService/GetFileInfo"}, {":authority", "x"}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes()})
	hb.Reset()
	junk := strings.Repeat("j", 16000)
	for hb.Len() < 16000 {
		enc.WriteField(hpack.HeaderField{Name: "x-junk", Value: junk})
	}
	sent := 0
	for ; sent < 64<<20; sent += hb.Len() {
		if err := fr.WriteContinuation(1, false, hb.Bytes()); err != nil {
			break
		}
	}
	select {
	case <-closed:
	case <-time.After(waitLimit):
		t.Fatalf("CONTINUATION flood: connection still open after %d bytes", sent)
	}
	t.Logf("CONTINUATION flood: the gateway closed the connection after %d bytes were written", sent)
	if sent >= 64<<20 {
		t.Errorf("CONTINUATION flood: the gateway read 64 MiB of one header block")
	}
}

// grpcKeys sends every forged key as gRPC metadata on a read (GetFileInfo,
// DownloadFile) and writes (UploadFile, DeleteFile): UNAUTHENTICATED or
// PERMISSION_DENIED, never served, nothing stored or deleted.
func (e *hostileEnv) grpcKeys(t *testing.T) {
	storedBefore := len(storedIDs(t, e.store))
	for _, kc := range keyCases() {
		md := metadata.MD{}
		for _, line := range strings.Split(kc.header, "\r\n") {
			if k, v, ok := strings.Cut(line, ": "); ok {
				md.Append(strings.ToLower(k), v)
			} else if line != "" {
				md.Append(strings.ToLower(strings.TrimSuffix(line, ":")), "")
			}
		}
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), opTimeout)
		readWant, writeWant := codes.Unauthenticated, codes.Unauthenticated
		if kc.readOnly {
			readWant, writeWant = codes.OK, codes.PermissionDenied
		}
		_, err := e.g.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: e.file})
		grpcCode(t, kc.label+"/info", err, readWant)
		var buf bytes.Buffer
		err = e.download(ctx, e.file, &buf)
		grpcCode(t, kc.label+"/download", err, readWant)
		if readWant != codes.OK && buf.Len() > 0 {
			t.Errorf("%s: download refused after %d bytes", kc.label, buf.Len())
		}
		grpcCode(t, kc.label+"/upload", e.uploadSpec(ctx, &fastdfsv1.UploadSpec{Ext: "bin", Size: 5}), writeWant)
		_, err = e.g.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: e.file})
		grpcCode(t, kc.label+"/delete", err, writeWant)
		cancel()
	}
	if after := len(storedIDs(t, e.store)); after != storedBefore {
		t.Errorf("refused uploads and deletes changed the store: %d files, %d before", after, storedBefore)
	}
}
