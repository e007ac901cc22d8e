package rest

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// upload serves POST /v1/files. Parameters (query string, or multipart
// fields before the file part): group, ext or filename, kind (normal,
// appender or slave), master_file_id and prefix (slave files),
// meta.<key>=<value> (metadata), size (multipart only), idempotency_key
// (or the Idempotency-Key header). It answers 201 with an
// UploadFileResponse and a Location of the file's download route; an
// upload repeated with its idempotency key answers the first file ID
// the same way. One X-Checksum-Crc32, X-Checksum-Crc32c or
// X-Checksum-Sha256 header (hex) makes the gateway store the file only if
// its content matches (fileops.Checksum); store_checksum=true keeps it in
// the file's metadata too, for the storages' scrubbers.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	c, err := h.readContent(w, r)
	if c != nil {
		defer c.close()
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := c.params
	ext, err := extOf(c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	group := p.Get("group")
	if group != "" && !fileid.ValidGroup(group) {
		h.fail(w, r, invalidArg("group", "bad group %q", group))
		return
	}
	kind, ok := fileops.ParseKind(p.Get("kind"))
	if !ok {
		h.fail(w, r, invalidArg("kind", "kind %q: want normal, appender or slave", p.Get("kind")))
		return
	}
	master, prefix := p.Get("master_file_id"), p.Get("prefix")
	if kind == fileops.Slave {
		if _, _, derr := client.DecodeFileID(master); derr != nil {
			h.fail(w, r, invalidArg("master_file_id", "a slave upload needs a valid master_file_id"))
			return
		}
		if prefix == "" {
			h.fail(w, r, invalidArg("prefix", "a slave upload needs a prefix"))
			return
		}
	}
	sum, err := checksumHeader(r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if sum != nil {
		sum.Store = p.Get("store_checksum") == "true"
	}
	key := r.Header.Get("Idempotency-Key")
	if q := p.Get("idempotency_key"); q != "" {
		if key != "" && key != q {
			h.fail(w, r, invalidArg("idempotency_key", "the idempotency_key parameter and the Idempotency-Key header differ"))
			return
		}
		key = q
	}
	id, err := h.files.Upload(r.Context(), fileops.Upload{
		Kind: kind, Group: group, Ext: ext, Meta: metaOf(c), Master: master, Prefix: prefix,
		IdempotencyKey: key, Checksum: sum,
	}, c.content(func() error {
		if c.trailing() {
			return invalidArg("body", "the content is longer than the %d bytes announced", c.size)
		}
		return nil
	}))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/files/"+escapeID(id)+":download")
	h.reply(w, r, http.StatusCreated, &fastdfsv1.UploadFileResponse{FileId: id, Size: c.size})
}

// append serves POST /v1/files/{file_id=**}:append with the content as for
// an upload (raw body or multipart); it answers an AppendFileResponse.
// The optional expected_size parameter is the size the file must have
// before the append (412, SIZE_MISMATCH, nothing appended otherwise).
func (h *Handler) append(w http.ResponseWriter, r *http.Request, params map[string]string) {
	id := params["file_id"]
	if _, _, err := client.DecodeFileID(id); err != nil {
		h.fail(w, r, badFileID(id, err))
		return
	}
	c, err := h.readContent(w, r)
	if c != nil {
		defer c.close()
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var pre fileops.Precondition
	if v := c.params.Get("expected_size"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			h.fail(w, r, invalidArg("expected_size", "expected_size %q: want a size in bytes", v))
			return
		}
		pre.ExpectedSize = &n
	}
	err = h.files.AppendIf(r.Context(), id, pre, c.content(func() error {
		if c.trailing() {
			// Empty content (holdLast checked any other): nothing appended.
			return invalidArg("body", "the content is longer than the %d bytes announced", c.size)
		}
		return nil
	}))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, r, http.StatusOK, &fastdfsv1.AppendFileResponse{Size: c.size})
}

// escapeID escapes a file ID for a URL path, keeping its slashes.
func escapeID(id string) string {
	return (&url.URL{Path: id}).EscapedPath()
}

// checksumHeaders are the request headers that may carry an upload's
// checksum, in hex.
var checksumHeaders = map[string]fileops.ChecksumAlgorithm{
	"X-Checksum-Crc32":  fileops.CRC32,
	"X-Checksum-Crc32c": fileops.CRC32C,
	"X-Checksum-Sha256": fileops.SHA256,
}

// checksumHeader returns the checksum an upload request carries, nil for
// none; more than one is refused.
func checksumHeader(h http.Header) (*fileops.Checksum, error) {
	var sum *fileops.Checksum
	for name, algo := range checksumHeaders {
		v := h.Get(name)
		if v == "" {
			continue
		}
		if sum != nil {
			return nil, invalidArg(name, "send one X-Checksum-* header, not several")
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return nil, invalidArg(name, "%s is not hex", name)
		}
		sum = &fileops.Checksum{Algorithm: algo, Value: b, Field: name}
	}
	return sum, nil
}
