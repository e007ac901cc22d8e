package gateway

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// restSeed is a seed of FuzzREST (restInput without the edit).
type restSeed struct {
	method, target, hdrs, body string
	key, frame                 uint8
}

// API keys of the seeds (indexes into authHeaders).
const (
	keyNone uint8 = iota
	keyRO
	keyROHeader
	keyRW
	keyRWHeader
	keyWrong
	keyBasic
)

const (
	tusHdr   = "Tus-Resumable: 1.0.0\n"
	tusPatch = tusHdr + "Content-Type: application/offset+octet-stream\n"
	formHdr  = "Content-Type: multipart/form-data; boundary=XX\n"
)

// restSeeds cover every route (raw, JSON, tus, public, console) with
// valid requests, refusals and malformed ones: dot segments, encodings,
// long IDs, bad framing, bytes that are not UTF-8 (placeholders: see
// fuzz_env_test.go).
var restSeeds = []restSeed{
	// Downloads: fast path, net/http, ranges, conditions.
	{"GET", "/v1/files/$N:download", "", "", keyRO, frameNone},
	{"HEAD", "/v1/files/$N:download", "", "", keyROHeader, frameNone},
	{"GET", "/v1/files/$L:download", "Range: bytes=10-20", "", keyRO, frameNone},
	{"GET", "/v1/files/$L:download", "Range: bytes=99999999-", "", keyRO, frameNone},
	{"GET", "/v1/files/$L:download", "Range: bytes=1-2,5-6\nIf-Range: $E", "", keyRO, frameNone},
	{"GET", "/v1/files/$N:download", "If-None-Match: $E", "", keyRO, frameNone},
	{"GET", "/v1/files/$N:download", `If-Match: "nope", W/"x"`, "", keyRO, frameNone},
	{"GET", "/v1/files/$N:download", "If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\nIf-Unmodified-Since: x", "", keyRO, frameNone},
	{"GET", "/v1/files/$A:download?filename=a%22b%0A.txt", "Accept-Encoding: gzip", "", keyRO, frameNone},
	{"GET", "/v1/files/$N:download", "", "", keyNone, frameNone},
	{"GET", "/v1/files/$N:download", "", "", keyWrong, frameNone},
	{"GET", "/v1/files/$N:download", "Origin: " + fuzzOrigin, "", keyBasic, frameNone},
	// JSON routes.
	{"GET", "/v1/files/$N", "Accept-Encoding: gzip", "", keyRO, frameNone},
	{"GET", "/v1/files/$A:getMetadata", "", "", keyROHeader, frameNone},
	{"POST", "/v1/files/$N:setMetadata", "Content-Type: application/json", `{"metadata":{"a":"b"},"mode":"SET_METADATA_MODE_MERGE"}`, keyRO, frameLength},
	{"POST", "/v1/files/$N:setMetadata", `If-Match: "stale"`, `{"metadata":{"a":"b"},"mode":"SET_METADATA_MODE_OVERWRITE"}`, keyRW, frameLength},
	{"POST", "/v1/files/$N:setMetadata", "", `{"metadta":{}}`, keyRW, frameChunked},
	{"DELETE", "/v1/files/$N", "", "", keyROHeader, frameNone},
	{"DELETE", "/v1/files/$N", `If-Match: "x"`, "", keyRW, frameNone},
	{"DELETE", "/v1/files/$L?ifMatch=$E", "", "", keyRW, frameNone},
	{"DELETE", "/v1/files/$L", "", "", keyRWHeader, frameNone},
	{"POST", "/v1/files/$A:truncate", "", `{"size":"2","expectedSize":"1"}`, keyRW, frameLength},
	{"POST", "/v1/files/$A:truncate", "", `{"size":"2"}`, keyRW, frameLength},
	{"POST", "/v1/files/$N:truncate", "", `{"size":"-1"}`, keyRW, frameLength},
	{"POST", "/v1/files/$A:regenerateAppender", "", `{}`, keyRW, frameLength},
	{"POST", "/v1/files/$N:createDownloadUrl", "", `{}`, keyRO, frameLength},
	{"GET", "/v1/groups", "", "", keyRO, frameNone},
	{"GET", "/v1/groups/$G/storages", "", "", keyRO, frameNone},
	{"GET", "/v1/groups/$G/storages/$S", "", "", keyRO, frameNone},
	{"DELETE", "/v1/groups/$G/storages/$S", "", "", keyRW, frameNone},
	{"GET", "/v1/storages:locate?fileId=$N&operation=STORAGE_OPERATION_UPDATE", "", "", keyRO, frameNone},
	{"GET", "/v1/cluster:stats", "", "", keyRO, frameNone},
	{"POST", "/v1/groups/$G/storages/$S:scrub", "", `{"run":false}`, keyRW, frameLength},
	{"GET", "/v1/groups/$G/files?pageSize=2&order=LIST_FILES_ORDER_NEWEST&ext=txt&minSize=1", "", "", keyRO, frameNone},
	{"GET", "/v1/groups/$G/files?pageToken=bm90IGEgdG9rZW4&createdAfter=2024-01-01T00:00:00Z", "", "", keyRO, frameNone},
	// Raw uploads and appends.
	{"POST", "/v1/files?ext=txt&meta.a=b", "", "hello", keyRW, frameLength},
	{"POST", "/v1/files", formHdr, "--XX\r\nContent-Disposition: form-data; name=\"ext\"\r\n\r\ntxt\r\n--XX\r\n" +
		"Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nbody\r\n--XX--\r\n", keyRW, frameLength},
	{"POST", "/v1/files?kind=slave&master_file_id=$N&prefix=_s", "", "slave", keyRW, frameLength},
	{"POST", "/v1/files?kind=appender", "X-Checksum-Crc32: 00000000", "x", keyRW, frameLength},
	{"POST", "/v1/files", "Idempotency-Key: k1", "chunked body", keyRW, frameChunked},
	{"POST", "/v1/files", "Content-Length: 10", "abc", keyRW, frameRaw},
	{"POST", "/v1/files", "Transfer-Encoding: gzip, chunked", "0\r\n\r\n", keyRW, frameRaw},
	{"POST", "/v1/files", "", "x", keyRO, frameLength},
	{"POST", "/v1/files/$A:append?expected_size=1", "", "more", keyRW, frameLength},
	{"POST", "/v1/files/$A:append", "", "more", keyRWHeader, frameLength},
	{"POST", "/v1/files/$N:append", "", "more", keyRW, frameLength},
	{"POST", "/v1/files/$A:append", "", "more", keyRO, frameLength},
	// tus.
	{"OPTIONS", "/v1/uploads", "", "", keyNone, frameNone},
	{"POST", "/v1/uploads?ext=txt", tusHdr + "Upload-Length: 5\nUpload-Metadata: filename YS50eHQ=,k", "", keyRW, frameLength},
	{"POST", "/v1/uploads", tusPatch + "Upload-Defer-Length: 1", "first", keyRW, frameLength},
	{"HEAD", "/v1/uploads/$T", tusHdr, "", keyRW, frameNone},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0", "abcd", keyRW, frameLength},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 5\nUpload-Checksum: sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "abcd", keyRW, frameLength},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0", "abcd", keyRO, frameLength},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0\nUpload-Checksum: sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "abcd", keyRW, frameLength},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0", "0123456789", keyRW, frameLength},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0", "0123", keyRW, frameChunked},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0\nUpload-Checksum: crc32 AAAAAA==", "0123", keyRW, frameChunked},
	{"HEAD", "/v1/uploads/$T", tusHdr, "", keyRO, frameNone},
	{"POST", "/v1/uploads/$T", tusPatch + "X-HTTP-Method-Override: PATCH\nUpload-Offset: 0", "01234567", keyRW, frameLength},
	{"POST", "/v1/files/$A:append?expected_size=14", "", "chunked", keyRW, frameChunked},
	{"POST", "/v1/uploads/$T", tusHdr + "X-HTTP-Method-Override: DELETE", "", keyRW, frameNone},
	{"DELETE", "/v1/uploads/$T", "", "", keyRW, frameNone},
	// Paths that are not file IDs, other routes, odd requests.
	{"GET", "/v1/files/$G/M00/00/00/../00/x.txt:download", "", "", keyRO, frameNone},
	{"DELETE", "/v1/files/$G/M00/00/00/..%2F..%2F..%2Ffuzz-sentinel", "", "", keyRW, frameNone},
	{"GET", "/v1/files/%2e%2e/%2e%2e/etc/passwd:download", "", "", keyRO, frameNone},
	{"GET", "/v1/files/" + strings.Repeat("A", 5000) + ":download", "", "", keyRO, frameNone},
	{"GET", "/v1/files/$N:download/..", "", "", keyRO, frameNone},
	{"GET", "//v1/files/$N:download", "", "", keyRO, frameNone},
	{"PUT", "/v1/files", "", "x", keyRW, frameLength},
	{"GET", "/metrics", "", "", keyNone, frameNone},
	{"GET", "/openapi.json", "", "", keyNone, frameNone},
	{"GET", "/healthz", "", "", keyNone, frameNone},
	{"GET", "/console/", "", "", keyNone, frameNone},
	{"GET", "/console/../../etc/passwd", "", "", keyNone, frameNone},
	{"GET", "/nope", "", "", keyRO, frameNone},
	{"DELETE", "/v1/files/$N", "If-Match: \xff", "", keyRW, frameNone},
	{"POST", "/v1/files/$N:setMetadata", "If-Match: \"\xff\"\nX-Request-Id: \xff", `{"mode":"SET_METADATA_MODE_MERGE"}`, keyRW, frameLength},
	{"GET", "/v1/files/$N", "Accept: \xff\nX-Anything: \x80", "", keyRO, frameNone},
	{"GET", "/v1/files/$N:download", "If-Match: \"\xff\"", "", keyRO, frameNone},
	{"GET", "/v1/files/group1/M00/00/00/%ff:download", "", "", keyRO, frameNone},
	{"OPTIONS", "*", "", "", keyNone, frameNone},
	{"CONNECT", "fuzz:80", "", "", keyRO, frameNone},
	{"OPTIONS", "/v1/files", "Origin: " + fuzzOrigin + "\nAccess-Control-Request-Method: DELETE", "", keyNone, frameNone},
	{"OPTIONS", "/v1/files", "Origin: https://evil.example\nAccess-Control-Request-Method: GET", "", keyNone, frameNone},
	{"GET", "/v1/files/$N:download", "Expect: 100-continue", "x", keyRO, frameLength},
	{"GET", "/v1/files/$N:download", "", "", keyRO, frameNone | 4},
	{"POST", "/v1/files?ext=txt", "X-Checksum-Crc32: 3610a686", "hello", keyRW, frameLength | 4},
	{"POST", "/v1/files?kind=appender&store_checksum=true", "X-Checksum-Sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "hello", keyRW, frameLength},
	{"POST", "/v1/files?idempotency_key=k2&kind=slave&master_file_id=$A&prefix=_x", "Idempotency-Key: k3", "x", keyRW, frameLength},
	{"POST", "/v1/files/$A:append", formHdr, "--XX\r\nContent-Disposition: form-data; name=\"expected_size\"\r\n\r\n14\r\n--XX\r\n" +
		"Content-Disposition: form-data; name=\"file\"\r\nContent-Length: 2\r\n\r\nabcdef\r\n--XX--\r\n", keyRW, frameLength},
	{"POST", "/v1/files", formHdr, "--XX\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n3\r\n--XX\r\n" +
		"Content-Disposition: form-data; name=\"file\"; filename=\"..\\x.tar.gz\"\r\n\r\nab", keyRW, frameChunked},
	{"POST", "/v1/files/$A:truncate", "", `{"size":1e3, "fileId":"$N"}`, keyRW, frameLength},
	{"GET", "/v1/groups/$G/files?storageId=$S&storePath=0&prefix=M00/00&maxSize=-1&createdBefore=yesterday", "", "", keyRO, frameNone},
	{"PATCH", "/v1/uploads/$T", tusPatch + "Upload-Offset: 0\nUpload-Length: 99", "", keyRW, frameLength},
	{"POST", "/v1/uploads", tusPatch + "Upload-Length: 2", "abc", keyRW, frameLength},
	{"GET", "/console/nope.js", "", "", keyNone, frameNone},
	{"GET", "/console/", "Range: bytes=999999-", "", keyNone, frameNone},
	{"POST", "/v1/files/$N:setMetadata", "Transfer-Encoding: chunked", "5\r\nab", keyRW, frameRaw},
	{"POST", "/v1/files/$N:setMetadata", "Content-Length: 5000000", "{", keyRW, frameRaw},
	{"POST", "/v1/files/$N:setMetadata", "Transfer-Encoding: chunked", "5\r\nab", keyNone, frameRaw},
}

// grpcSeed is a seed of FuzzGRPC.
type grpcSeed struct {
	method    uint8
	msg, more []byte
	key       uint8
}

// grpcSeeds call every method with a valid request (placeholders for the
// tracked objects), with refused keys and failing preconditions, and a
// few with bytes that are no request.
func grpcSeeds(f *testing.F) []grpcSeed {
	m := func(pm proto.Message) []byte {
		b, err := proto.Marshal(pm)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	size := func(n int64) *int64 { return &n }
	upload := func(spec *fastdfsv1.UploadSpec) []byte {
		return m(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: spec}})
	}
	chunk := m(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: []byte("more")}})
	appendSpec := func(spec *fastdfsv1.AppendSpec) []byte {
		return m(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: spec}})
	}
	write := m(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Spec{Spec: &fastdfsv1.WriteUploadSpec{Token: "$T"}}})
	g := func(name string, msg, more []byte, key uint8) grpcSeed {
		return grpcSeed{methodIndex(name), msg, more, key}
	}
	return []grpcSeed{
		g("UploadFile", upload(&fastdfsv1.UploadSpec{Ext: "txt", Size: 4, Metadata: map[string]string{"a": "b"}}), chunk, 3),
		g("UploadFile", upload(&fastdfsv1.UploadSpec{Size: 10, Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER}), chunk, 4),
		g("UploadFile", upload(&fastdfsv1.UploadSpec{Size: 4, Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: "$N", Prefix: "_s"}), chunk, 3),
		g("UploadFile", upload(&fastdfsv1.UploadSpec{Size: 4, IdempotencyKey: "k", Checksum: &fastdfsv1.Checksum{}}), chunk, 3),
		g("UploadFile", upload(&fastdfsv1.UploadSpec{Size: fuzzMaxUpload + 1}), chunk, 3),
		g("AppendFile", appendSpec(&fastdfsv1.AppendSpec{FileId: "$A", Size: 4}), chunk, 3),
		g("AppendFile", appendSpec(&fastdfsv1.AppendSpec{FileId: "$A", Size: 4, ExpectedSize: size(1)}), chunk, 3),
		g("AppendFile", appendSpec(&fastdfsv1.AppendSpec{FileId: "$N", Size: 4}), chunk, 3),
		g("AppendFile", appendSpec(&fastdfsv1.AppendSpec{FileId: "$A", Size: 2}), chunk, 3),
		g("ModifyFile", m(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: "$A", Size: 3}}}), chunk, 3),
		g("WriteUploadSession", write, m(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Chunk{Chunk: []byte("0123456789")}}), 3),
		g("ModifyFile", m(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: "$A", Size: 4}}}), chunk, 1),
		g("ModifyFile", m(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: "$A", Offset: 99, Size: 4}}}), chunk, 3),
		g("TruncateFile", m(&fastdfsv1.TruncateFileRequest{FileId: "$A", Size: 1, ExpectedSize: size(99)}), nil, 3),
		g("TruncateFile", m(&fastdfsv1.TruncateFileRequest{FileId: "$A", Size: 1}), nil, 4),
		g("DownloadFile", m(&fastdfsv1.DownloadFileRequest{FileId: "$L", Offset: 5, Length: 100}), nil, 1),
		g("DownloadFile", m(&fastdfsv1.DownloadFileRequest{FileId: "$N", Offset: 1000}), nil, 2),
		g("DeleteFile", m(&fastdfsv1.DeleteFileRequest{FileId: "$N", IfMatch: `"x"`}), nil, 3),
		g("DeleteFile", m(&fastdfsv1.DeleteFileRequest{FileId: "$L"}), nil, 1),
		g("DeleteFile", m(&fastdfsv1.DeleteFileRequest{FileId: "$L"}), nil, 4),
		g("GetFileInfo", m(&fastdfsv1.GetFileInfoRequest{FileId: "$N"}), nil, 1),
		g("SetMetadata", m(&fastdfsv1.SetMetadataRequest{FileId: "$N", Metadata: map[string]string{"a": "$G"}, Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_MERGE}), nil, 1),
		g("SetMetadata", m(&fastdfsv1.SetMetadataRequest{FileId: "$N", Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE, IfMatch: "$E"}), nil, 3),
		g("GetMetadata", m(&fastdfsv1.GetMetadataRequest{FileId: "$A"}), nil, 2),
		g("RegenerateAppenderFile", m(&fastdfsv1.RegenerateAppenderFileRequest{FileId: "$N"}), nil, 3),
		g("CreateDownloadUrl", m(&fastdfsv1.CreateDownloadUrlRequest{FileId: "$N"}), nil, 1),
		g("CreateUploadSession", m(&fastdfsv1.CreateUploadSessionRequest{Size: size(4), Metadata: map[string]string{"a": "b"}}), nil, 3),
		g("WriteUploadSession", write, m(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Chunk{Chunk: []byte("abcd")}}), 3),
		g("GetUploadSession", m(&fastdfsv1.GetUploadSessionRequest{Token: "$T"}), nil, 1),
		g("FinishUploadSession", m(&fastdfsv1.FinishUploadSessionRequest{Token: "$T"}), nil, 3),
		g("FinishUploadSession", m(&fastdfsv1.FinishUploadSessionRequest{Token: "$T", Size: size(0)}), nil, 3),
		g("WriteUploadSession", m(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Spec{Spec: &fastdfsv1.WriteUploadSpec{
			Token: "$T", Checksum: &fastdfsv1.Checksum{Algorithm: fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32, Value: []byte{0, 0, 0, 0}}}}}),
			m(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Chunk{Chunk: []byte("abcd")}}), 3),
		g("CancelUploadSession", m(&fastdfsv1.CancelUploadSessionRequest{Token: "$T"}), nil, 4),
		g("ListFiles", m(&fastdfsv1.ListFilesRequest{Group: "$G", PageSize: 2}), nil, 0x81),
		g("ListGroups", nil, nil, 1),
		g("ListStorages", m(&fastdfsv1.ListStoragesRequest{Group: "$G"}), nil, 2),
		g("GetStorage", m(&fastdfsv1.GetStorageRequest{Group: "$G", StorageId: "$S"}), nil, 1),
		g("DeleteStorage", m(&fastdfsv1.DeleteStorageRequest{Group: "$G", StorageId: "$S"}), nil, 3),
		g("LocateStorages", m(&fastdfsv1.LocateStoragesRequest{Operation: fastdfsv1.StorageOperation_STORAGE_OPERATION_UPDATE, FileId: "$N"}), nil, 1),
		g("GetClusterStats", nil, nil, 0),
		g("ScrubStorage", m(&fastdfsv1.ScrubStorageRequest{Group: "$G", StorageId: "$S"}), nil, 3),
		// Not requests: a string that is not UTF-8, a cut varint, a
		// field of the wrong wire type.
		g("GetFileInfo", []byte("\x0a\x02\xff\xfe"), nil, 1),
		g("UploadFile", []byte("\x0a\x03\x38\x80"), nil, 3),
		g("DownloadFile", []byte("\x10\x05"), nil, 1),
	}
}
