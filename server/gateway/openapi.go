package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CompleteOpenAPI returns the document the gateway serves at /openapi.json:
// spec (buf's Swagger 2.0 document of the JSON routes, or nil) with the API's
// info, the raw routes and the API key security schemes added. scripts/gen.sh
// commits its result as openapi/fastdfs.swagger.json; completing a complete
// document again returns it unchanged, so the served and committed documents
// are the same bytes.
func CompleteOpenAPI(spec []byte) ([]byte, error) { return openAPIDocument(spec) }

// openAPIInfo is the info object of the document.
var openAPIInfo = map[string]any{
	"title":   "FastDFS API",
	"version": "v1",
	"description": "REST mapping of the fastdfs.v1 gRPC API (FileService, ClusterService) " +
		"plus raw byte routes for uploads, downloads and appends. A file ID is a path " +
		"(group1/M00/00/00/xxx.jpg): its slashes may be sent as is or escaped as %2F. " +
		"Custom methods follow AIP-136 and are addressed as {fileId}:verb. Errors are " +
		"google.rpc.Status objects whose details carry a google.rpc.ErrorInfo (domain fastdfs.v1).",
}

// openAPIDocument is CompleteOpenAPI.
func openAPIDocument(spec []byte) ([]byte, error) {
	doc := map[string]any{"swagger": "2.0"}
	if len(spec) > 0 {
		if err := json.Unmarshal(spec, &doc); err != nil {
			return nil, fmt.Errorf("openapi document: %w", err)
		}
	}
	doc["info"] = openAPIInfo
	paths, _ := doc["paths"].(map[string]any)
	if paths == nil {
		paths = map[string]any{}
		doc["paths"] = paths
	}
	extra := rawPaths()
	for p, item := range tusPaths() {
		extra[p] = item
	}
	for p, item := range extra {
		existing, _ := paths[p].(map[string]any)
		if existing == nil {
			existing = map[string]any{}
			paths[p] = existing
		}
		for method, op := range item {
			existing[method] = op
		}
	}
	addPreconditions(paths)
	doc["securityDefinitions"] = map[string]any{
		"bearer": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
			"description": `An API key as "Bearer <key>".`},
		"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
	}
	doc["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"apiKey": []any{}}}
	// Clients find the routes under the gateway's own address.
	doc["basePath"] = "/"
	pruneDefinitions(doc)
	out, err := json.MarshalIndent(doc, "", "  ")
	return append(out, '\n'), err
}

// pruneDefinitions drops the definitions no path refers to, directly or
// through other definitions (buf emits one for every message, e.g. the
// response whose one field is the response_body), which linters flag.
func pruneDefinitions(doc map[string]any) {
	defs, _ := doc["definitions"].(map[string]any)
	if defs == nil {
		return
	}
	const prefix = "#/definitions/"
	used := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if ref, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(ref, prefix) {
					name := strings.TrimPrefix(ref, prefix)
					if !used[name] {
						used[name] = true
						walk(defs[name])
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc["paths"])
	for name := range defs {
		if !used[name] {
			delete(defs, name)
		}
	}
}

// preconditionFailed is the 412 answer of a precondition the client set.
var preconditionFailed = map[string]any{
	"description": "A precondition failed (If-Match, expected_size, an idempotency key reused): " +
		"FAILED_PRECONDITION, reason ETAG_MISMATCH, SIZE_MISMATCH or IDEMPOTENCY_KEY_REUSED; nothing was changed.",
	"schema": map[string]any{"$ref": "#/definitions/rpcStatus"}}

// addPreconditions documents the If-Match header of the JSON routes that
// take it (forwarded to the if_match field), their 412 answers and the
// ETag header of GetFileInfo. Idempotent.
func addPreconditions(paths map[string]any) {
	op := func(path, method string) map[string]any {
		item, _ := paths[path].(map[string]any)
		o, _ := item[method].(map[string]any)
		return o
	}
	for _, pm := range [][2]string{{"/v1/files/{fileId}", "delete"}, {"/v1/files/{fileId}:setMetadata", "post"}} {
		o := op(pm[0], pm[1])
		if o == nil {
			continue
		}
		params, _ := o["parameters"].([]any)
		has := false
		for _, p := range params {
			if m, _ := p.(map[string]any); m["name"] == "If-Match" {
				has = true
			}
		}
		if !has {
			o["parameters"] = append(params, map[string]any{"name": "If-Match", "in": "header", "required": false, "type": "string",
				"description": `The file's etag (FileInfo.etag, the ETag header), or "*": the call runs only if the file still has it (the same as the ifMatch field).`})
		}
	}
	for _, pm := range [][2]string{{"/v1/files/{fileId}", "delete"}, {"/v1/files/{fileId}:setMetadata", "post"}, {"/v1/files/{fileId}:truncate", "post"}} {
		if o := op(pm[0], pm[1]); o != nil {
			if resp, _ := o["responses"].(map[string]any); resp != nil {
				resp["412"] = preconditionFailed
			}
		}
	}
	if o := op("/v1/files/{fileId}", "get"); o != nil {
		if resp, _ := o["responses"].(map[string]any); resp != nil {
			if ok, _ := resp["200"].(map[string]any); ok != nil {
				ok["headers"] = map[string]any{"ETag": map[string]any{"type": "string", "description": "The file's etag (FileInfo.etag)."}}
			}
		}
	}
}

// rawPaths documents the routes of server/rest.
func rawPaths() map[string]map[string]any {
	fileID := map[string]any{"name": "fileId", "in": "path", "required": true, "type": "string",
		"description": `File ID, e.g. "group1/M00/00/00/wKgAAl9xyz.jpg" (its slashes as is or escaped as %2F).`}
	query := func(name, desc string) map[string]any {
		return map[string]any{"name": name, "in": "query", "required": false, "type": "string", "description": desc}
	}
	errResp := map[string]any{"description": "An error (google.rpc.Status).", "schema": map[string]any{"$ref": "#/definitions/rpcStatus"}}
	content := map[string]any{"name": "content", "in": "body", "required": true,
		"description": "The content: a raw body (Content-Length, or chunked and then spooled to disk) or multipart/form-data with a part named \"file\".",
		"schema":      map[string]any{"type": "string", "format": "binary"}}
	download := func(head bool) map[string]any {
		op := map[string]any{
			"summary":     "Download a file, or one byte range of it (Range: bytes=a-b).",
			"operationId": "FileService_DownloadRaw",
			"tags":        []any{"FileService"},
			"produces":    []any{"application/octet-stream"},
			"parameters": []any{fileID,
				query("filename", "Adds Content-Disposition: attachment with this file name."),
				map[string]any{"name": "Range", "in": "header", "required": false, "type": "string"}},
			"responses": map[string]any{
				"200": map[string]any{"description": "The file.", "schema": map[string]any{"type": "string", "format": "binary"}},
				"206": map[string]any{"description": "The requested range."},
				"304": map[string]any{"description": "Not modified (If-None-Match / If-Modified-Since)."},
				"412": map[string]any{"description": "If-Match or If-Unmodified-Since failed (reason ETAG_MISMATCH or MODIFIED_SINCE).",
					"schema": errResp["schema"]},
				"416":     map[string]any{"description": "The range starts past the end of the file.", "schema": errResp["schema"]},
				"default": errResp,
			},
		}
		if head {
			op["summary"] = "The headers of a download, without the body."
			op["operationId"] = "FileService_HeadRaw"
		}
		return op
	}
	return map[string]map[string]any{
		"/v1/files": {"post": map[string]any{
			"summary":     "Upload a file (raw body or multipart/form-data).",
			"operationId": "FileService_UploadRaw",
			"tags":        []any{"FileService"},
			"consumes":    []any{"application/octet-stream", "multipart/form-data"},
			"parameters": []any{content,
				query("group", "Group to store into; empty lets the tracker choose."),
				query("ext", "File extension without the dot (at most 6 characters)."),
				query("filename", "A file name whose extension is used when ext is not set."),
				query("kind", "normal (default), appender or slave."),
				query("master_file_id", "Master file ID of a slave file."),
				query("prefix", "Prefix of a slave file's name, e.g. _150x150."),
				query("meta.KEY", "Metadata: one parameter per key (meta.width=100)."),
				query("size", "Multipart only: the file part's size, when the part has no Content-Length."),
				query("idempotency_key", "The same as the Idempotency-Key header."),
				map[string]any{"name": "Idempotency-Key", "in": "header", "required": false, "type": "string",
					"description": "At most 128 printable ASCII characters: an upload repeated with the same key (and group) within 24 hours on the same gateway instance stores nothing and answers the first file ID (201); the same key with another spec is 412."},
			},
			"responses": map[string]any{
				"201":     map[string]any{"description": "Stored (or, for a repeated Idempotency-Key, stored before).", "schema": object("fileId", "string", "size", "int64")},
				"412":     preconditionFailed,
				"413":     map[string]any{"description": "Larger than limits.max_upload_size."},
				"default": errResp,
			},
		}},
		"/v1/files/{fileId}:download": {"get": download(false), "head": download(true)},
		"/v1/files/{fileId}:append": {"post": map[string]any{
			"summary":     "Append content to an appender file (raw body or multipart/form-data).",
			"operationId": "FileService_AppendRaw",
			"tags":        []any{"FileService"},
			"consumes":    []any{"application/octet-stream", "multipart/form-data"},
			"parameters": []any{fileID, content,
				query("expected_size", "The file's size before the append: when it has another, nothing is appended (412, SIZE_MISMATCH). Makes a retry safe.")},
			"responses": map[string]any{
				"200":     map[string]any{"description": "Appended.", "schema": object("size", "int64")},
				"412":     preconditionFailed,
				"413":     map[string]any{"description": "Larger than limits.max_upload_size."},
				"default": errResp,
			},
		}},
	}
}

// object is the schema of a JSON object with the given (name, type)
// properties, all of them always present; int64 is a string in proto3 JSON.
func object(nameTypes ...string) map[string]any {
	props := map[string]any{}
	var required []any
	for i := 0; i+1 < len(nameTypes); i += 2 {
		required = append(required, nameTypes[i])
		switch nameTypes[i+1] {
		case "int64":
			props[nameTypes[i]] = map[string]any{"type": "string", "format": "int64"}
		default:
			props[nameTypes[i]] = map[string]any{"type": nameTypes[i+1]}
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}
