package gateway

// tusPaths documents the tus 1.0 routes of server/rest (tus.go); the
// protocol itself is https://tus.io/protocols/resumable-upload.
func tusPaths() map[string]map[string]any {
	header := func(name, desc string, required bool) map[string]any {
		return map[string]any{"name": name, "in": "header", "required": required, "type": "string", "description": desc}
	}
	tusResumable := header("Tus-Resumable", "1.0.0 (412 otherwise).", true)
	token := map[string]any{"name": "token", "in": "path", "required": true, "type": "string",
		"description": "The upload's session token (the last segment of the Location of the creation)."}
	errResp := map[string]any{"description": "An error (google.rpc.Status).", "schema": map[string]any{"$ref": "#/definitions/rpcStatus"}}
	state := map[string]any{
		"Upload-Offset":  map[string]any{"type": "string", "description": "Bytes committed."},
		"Upload-Length":  map[string]any{"type": "string", "description": "The upload's size, when declared."},
		"Upload-Expires": map[string]any{"type": "string", "description": "When the unfinished upload expires (RFC 9110 date)."},
		"Fdfs-File-Id":   map[string]any{"type": "string", "description": "The file ID, once the upload is complete."},
	}
	op := func(id, summary string, params []any, responses map[string]any) map[string]any {
		responses["default"] = errResp
		return map[string]any{"summary": summary, "operationId": id, "tags": []any{"Uploads"}, "parameters": params, "responses": responses}
	}
	options := op("Uploads_Options", "tus discovery: version, extensions, checksum algorithms, maximum size (no API key needed).", []any{},
		map[string]any{"204": map[string]any{"description": "Tus-Version, Tus-Extension, Tus-Checksum-Algorithm, Tus-Max-Size."}})
	options["security"] = []any{}
	return map[string]map[string]any{
		"/v1/uploads": {
			"options": options,
			"post": op("Uploads_Create", "tus creation: a resumable upload (an upload session).", []any{tusResumable,
				header("Upload-Length", "The upload's size in bytes (or Upload-Defer-Length: 1).", false),
				header("Upload-Defer-Length", "1: the size is declared by a later PATCH.", false),
				header("Upload-Metadata", `Comma-separated "key base64(value)" pairs, stored as the file's metadata; "filename" also gives the extension.`, false),
				map[string]any{"name": "group", "in": "query", "required": false, "type": "string", "description": "Group to store into."},
				map[string]any{"name": "ext", "in": "query", "required": false, "type": "string", "description": "File extension without the dot."}},
				map[string]any{"201": map[string]any{"description": "Created: Location is the upload URL.", "headers": state},
					"413": map[string]any{"description": "Larger than limits.max_upload_size."}}),
		},
		"/v1/uploads/{token}": {
			"head": op("Uploads_Head", "The committed offset (Upload-Offset) of an upload.", []any{tusResumable, token},
				map[string]any{"200": map[string]any{"description": "The upload's state.", "headers": state},
					"404": map[string]any{"description": "Unknown or cancelled upload, or a token that is not valid."},
					"410": map[string]any{"description": "The upload expired; its content was deleted."}}),
			"patch": op("Uploads_Patch", "Content at Upload-Offset, which must be the committed offset (application/offset+octet-stream).", []any{tusResumable, token,
				header("Upload-Offset", "Where the content starts: the committed offset (409 otherwise).", true),
				header("Upload-Checksum", `"sha1|md5|crc32|sha256 base64(digest)": verified before anything is committed (460 otherwise).`, false),
				header("Upload-Length", "Declares the size of an upload created with Upload-Defer-Length.", false),
				map[string]any{"name": "content", "in": "body", "required": true, "schema": map[string]any{"type": "string", "format": "binary"}}},
				map[string]any{"204": map[string]any{"description": "Committed; Fdfs-File-Id once complete.", "headers": state},
					"409": map[string]any{"description": "Upload-Offset is not the committed offset, or the upload is finished."},
					"413": map[string]any{"description": "Beyond Upload-Length."},
					"415": map[string]any{"description": "Not application/offset+octet-stream."},
					"460": map[string]any{"description": "Checksum mismatch: nothing committed."}}),
			"delete": op("Uploads_Terminate", "tus termination: the unfinished upload and its content are deleted.", []any{tusResumable, token},
				map[string]any{"204": map[string]any{"description": "Deleted."}}),
		},
	}
}
