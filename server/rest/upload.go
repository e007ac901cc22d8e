package rest

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
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
		h.fail(w, r, invalidArg("bad group %q", group))
		return
	}
	opt := client.UploadOptions{Group: group, Ext: ext, Meta: metaOf(c)}
	ctx := r.Context()
	var id string
	switch kind := p.Get("kind"); kind {
	case "", "normal":
		id, err = h.opt.Client.Upload(ctx, c.r, c.size, opt)
	case "appender":
		id, err = h.opt.Client.UploadAppender(ctx, c.r, c.size, opt)
	case "slave":
		master, prefix := p.Get("master_file_id"), p.Get("prefix")
		if _, _, derr := client.DecodeFileID(master); derr != nil || prefix == "" {
			h.fail(w, r, invalidArg("a slave upload needs a valid master_file_id and a prefix"))
			return
		}
		id, err = h.opt.Client.UploadSlave(ctx, c.r, c.size, master, prefix, ext)
		if err == nil && len(opt.Meta) > 0 {
			if err = h.opt.Client.SetMetadata(ctx, id, opt.Meta, protocol.MetaOverwrite); err != nil {
				h.deleteQuietly(id)
			}
		}
	default:
		h.fail(w, r, invalidArg("kind %q: want normal, appender or slave", kind))
		return
	}
	if err != nil {
		if cerr := c.clientError(); cerr != nil {
			// The engine only saw the content end; the client is to blame.
			err = cerr
		} else {
			err = grpcapi.ToStatus(err, p.Get("master_file_id"))
		}
		h.fail(w, r, err)
		return
	}
	if c.trailing() {
		h.deleteQuietly(id)
		h.fail(w, r, invalidArg("the content is longer than the %d bytes announced", c.size))
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
		h.fail(w, r, grpcapi.ToStatus(err, id))
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
	err = h.opt.Client.Append(r.Context(), id, c.r, c.size)
	if err != nil {
		if cerr := c.clientError(); cerr != nil {
			err = cerr
		} else {
			err = grpcapi.ToStatus(err, id)
		}
		h.fail(w, r, err)
		return
	}
	if c.trailing() {
		// The announced bytes are appended already; say what happened.
		h.fail(w, r, status.Errorf(codes.InvalidArgument, "the content is longer than the %d bytes announced; only those were appended", c.size))
		return
	}
	h.reply(w, r, http.StatusOK, &fastdfsv1.AppendFileResponse{Size: c.size})
}

// deleteQuietly removes the file of an upload that then failed.
func (h *Handler) deleteQuietly(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.opt.Client.Delete(ctx, id); err != nil {
		h.log.Warn("could not delete the file of a failed upload", "file_id", id, "err", err)
	}
}

// escapeID escapes a file ID for a URL path, keeping its slashes.
func escapeID(id string) string {
	return (&url.URL{Path: id}).EscapedPath()
}
