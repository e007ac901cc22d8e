package rest

import (
	"net/http"
	"net/url"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// upload serves POST /v1/files. Parameters (query string, or multipart
// fields before the file part): group, ext or filename, kind (normal,
// appender or slave), master_file_id and prefix (slave files),
// meta.<key>=<value> (metadata), size (multipart only). It answers 201 with
// an UploadFileResponse and a Location of the file's download route.
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
	id, err := h.files.Upload(r.Context(), fileops.Upload{
		Kind: kind, Group: group, Ext: ext, Meta: metaOf(c), Master: master, Prefix: prefix,
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
	err = h.files.Append(r.Context(), id, c.content(func() error {
		if c.trailing() {
			// The announced bytes are appended already; say what happened.
			return invalidArg("body", "the content is longer than the %d bytes announced; only those were appended", c.size)
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
