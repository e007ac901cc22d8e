package rest

import (
	"encoding/base64"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// Routes of the tus 1.0 protocol (https://tus.io/protocols/resumable-upload):
// core, creation (with upload, defer length), termination, checksum and
// expiration. The upload URL's last segment is the session token
// (fileops.Sessions): any gateway sharing uploads.secret serves it.
const (
	TusCreatePattern = "/v1/uploads"
	TusUploadPattern = "/v1/uploads/{token=*}"
)

// The tus version, extensions and headers.
const (
	tusVersion    = "1.0.0"
	tusExtensions = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration"
	tusOctets     = "application/offset+octet-stream"
	// FileIDHeader carries the file ID of an upload once it is complete
	// (ours; tus leaves naming the result to the server).
	FileIDHeader = "Fdfs-File-Id"
	// statusChecksumMismatch is tus's 460 Checksum Mismatch.
	statusChecksumMismatch = 460
)

func (h *Handler) registerTus() error {
	for _, r := range []struct {
		method, pattern string
		fn              runtime.HandlerFunc
	}{
		{http.MethodOptions, TusCreatePattern, h.tusOptions},
		{http.MethodPost, TusCreatePattern, h.tusCreate},
		{http.MethodHead, TusUploadPattern, h.tusHead},
		{http.MethodPatch, TusUploadPattern, h.tusPatch},
		{http.MethodDelete, TusUploadPattern, h.tusDelete},
		{http.MethodPost, TusUploadPattern, h.tusOverride},
		{http.MethodOptions, TusUploadPattern, h.tusOptions},
	} {
		if err := h.mux.HandlePath(r.method, r.pattern, r.fn); err != nil {
			return err
		}
	}
	return nil
}

// tusFail answers err with the HTTP status tus gives its reason.
func (h *Handler) tusFail(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Tus-Resumable", tusVersion)
	code := 0
	switch fileops.Reason(err) {
	case fileops.ReasonSessionExpired:
		code = http.StatusGone
	case fileops.ReasonSessionNotFound:
		code = http.StatusNotFound
	case fileops.ReasonOffsetMismatch, fileops.ReasonSessionFinished:
		code = http.StatusConflict
	case fileops.ReasonChecksumMismatch:
		code = statusChecksumMismatch
	case fileops.ReasonSizeTooLarge, "UPLOAD_TOO_LARGE":
		code = http.StatusRequestEntityTooLarge
	}
	if code != 0 {
		err = &runtime.HTTPStatusError{HTTPStatus: code, Err: err}
	}
	h.fail(w, r, err)
}

// tusVersionOK answers 412 to a request without Tus-Resumable: 1.0.0.
func (h *Handler) tusVersionOK(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Tus-Resumable") == tusVersion {
		return true
	}
	w.Header().Set("Tus-Version", tusVersion)
	h.tusFail(w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusPreconditionFailed,
		Err: tusInvalid("Tus-Resumable", "this server speaks tus "+tusVersion+": send Tus-Resumable: "+tusVersion)})
	return false
}

func tusInvalid(header, msg string) error {
	return fileops.ToStatus(fileops.InvalidField(header, msg), "")
}

// tusOptions serves OPTIONS: what the server supports.
func (h *Handler) tusOptions(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	hd := w.Header()
	hd.Set("Tus-Resumable", tusVersion)
	hd.Set("Tus-Version", tusVersion)
	hd.Set("Tus-Extension", tusExtensions)
	hd.Set("Tus-Checksum-Algorithm", strings.Join(fileops.ChecksumAlgorithms, ","))
	if max := h.sessions.MaxSize(); max > 0 {
		hd.Set("Tus-Max-Size", strconv.FormatInt(max, 10))
	}
	w.WriteHeader(http.StatusNoContent)
}

// tusCreate serves POST /v1/uploads (creation): Upload-Length or
// Upload-Defer-Length: 1, Upload-Metadata (every pair is stored as
// metadata; "filename" also gives the extension), and the group and ext
// query parameters. A body of type application/offset+octet-stream is the
// upload's first bytes (creation-with-upload).
func (h *Handler) tusCreate(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	if !h.tusVersionOK(w, r) {
		return
	}
	spec, err := tusSpec(r)
	if err != nil {
		h.tusFail(w, r, err)
		return
	}
	if r.ContentLength > 0 && r.Header.Get("Content-Type") != tusOctets {
		h.tusFail(w, r, tusUnsupportedType())
		return
	}
	sess, err := h.sessions.Create(r.Context(), spec)
	if err != nil {
		h.tusFail(w, r, err)
		return
	}
	w.Header().Set("Location", TusCreatePattern+"/"+sess.Token)
	if r.ContentLength > 0 {
		wr, err := h.sessions.Open(r.Context(), sess.Token, 0)
		if err == nil {
			err = h.tusWrite(w, r, wr)
		}
		if err != nil {
			h.tusFail(w, r, err)
			return
		}
		sess = wr.Session()
		w.Header().Set("Upload-Offset", strconv.FormatInt(sess.Offset, 10))
	}
	tusState(w, sess)
	w.WriteHeader(http.StatusCreated)
}

// tusSpec reads the creation headers and parameters.
func tusSpec(r *http.Request) (fileops.SessionSpec, error) {
	spec := fileops.SessionSpec{Size: -1, Group: r.URL.Query().Get("group"), Ext: r.URL.Query().Get("ext")}
	length, deferred := r.Header.Get("Upload-Length"), r.Header.Get("Upload-Defer-Length")
	switch {
	case length != "" && deferred != "":
		return spec, tusInvalid("Upload-Length", "send Upload-Length or Upload-Defer-Length, not both")
	case length != "":
		n, err := strconv.ParseInt(length, 10, 64)
		if err != nil || n < 0 {
			return spec, tusInvalid("Upload-Length", "Upload-Length "+strconv.Quote(length)+": want a size in bytes")
		}
		spec.Size = n
	case deferred != "1":
		return spec, tusInvalid("Upload-Length", "send Upload-Length, or Upload-Defer-Length: 1")
	}
	if spec.Group != "" && !fileid.ValidGroup(spec.Group) {
		return spec, tusInvalid("group", "bad group "+strconv.Quote(spec.Group))
	}
	meta, err := parseTusMetadata(r.Header.Get("Upload-Metadata"))
	if err != nil {
		return spec, err
	}
	spec.Meta = meta
	if spec.Ext != "" {
		if err := fileid.ValidateExt(spec.Ext); err != nil {
			return spec, tusInvalid("ext", "bad ext: "+fileops.ValidationText(err))
		}
	} else if ext := strings.TrimPrefix(path.Ext(meta["filename"]), "."); fileid.ValidateExt(ext) == nil {
		spec.Ext = ext
	}
	return spec, nil
}

// parseTusMetadata parses Upload-Metadata: comma-separated "key
// base64(value)" pairs (the value may be left out).
func parseTusMetadata(v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	meta := make(map[string]string)
	for _, pair := range strings.Split(v, ",") {
		key, val, _ := strings.Cut(strings.TrimSpace(pair), " ")
		if key == "" {
			return nil, tusInvalid("Upload-Metadata", "Upload-Metadata has an empty key")
		}
		if _, dup := meta[key]; dup {
			return nil, tusInvalid("Upload-Metadata", "Upload-Metadata repeats the key "+strconv.Quote(key))
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil {
			return nil, tusInvalid("Upload-Metadata", "the value of "+strconv.Quote(key)+" is not base64")
		}
		meta[key] = string(b)
	}
	return meta, nil
}

// tusState sets the headers describing sess.
func tusState(w http.ResponseWriter, sess *fileops.Session) {
	hd := w.Header()
	hd.Set("Tus-Resumable", tusVersion)
	if sess.Size >= 0 {
		hd.Set("Upload-Length", strconv.FormatInt(sess.Size, 10))
	} else {
		hd.Set("Upload-Defer-Length", "1")
	}
	if sess.Finished {
		hd.Set(FileIDHeader, sess.FileID)
	} else {
		hd.Set("Upload-Expires", sess.Expires.UTC().Format(http.TimeFormat))
	}
}

// tusHead serves HEAD: the committed offset.
func (h *Handler) tusHead(w http.ResponseWriter, r *http.Request, params map[string]string) {
	if !h.tusVersionOK(w, r) {
		return
	}
	sess, err := h.sessions.Get(r.Context(), params["token"])
	if err == nil && !sess.Finished && sess.Size >= 0 && sess.Offset == sess.Size {
		// Every byte is there but the PATCH that wrote the last ones
		// did not finish the upload (the client died, the gateway
		// restarted): the client now takes the upload for complete.
		sess, err = h.sessions.Finish(r.Context(), params["token"], nil)
	}
	if err != nil {
		h.tusFail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Upload-Offset", strconv.FormatInt(sess.Offset, 10))
	if len(sess.Meta) > 0 {
		w.Header().Set("Upload-Metadata", formatTusMetadata(sess.Meta))
	}
	tusState(w, sess)
	w.WriteHeader(http.StatusOK)
}

func formatTusMetadata(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + " " + base64.StdEncoding.EncodeToString([]byte(meta[k]))
	}
	return strings.Join(keys, ",")
}

// tusOverride serves POST with X-HTTP-Method-Override (PATCH or DELETE),
// for clients behind proxies that drop those methods.
func (h *Handler) tusOverride(w http.ResponseWriter, r *http.Request, params map[string]string) {
	switch r.Header.Get("X-HTTP-Method-Override") {
	case http.MethodPatch:
		h.tusPatch(w, r, params)
	case http.MethodDelete:
		h.tusDelete(w, r, params)
	default:
		h.tusFail(w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusMethodNotAllowed,
			Err: status.Error(codes.Unimplemented, "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE")})
	}
}

func tusUnsupportedType() error {
	return &runtime.HTTPStatusError{HTTPStatus: http.StatusUnsupportedMediaType,
		Err: tusInvalid("Content-Type", "the content of an upload must be sent as "+tusOctets)}
}

// tusPatch serves PATCH: content at Upload-Offset, which must be the
// committed offset (409 otherwise). Upload-Length declares a deferred
// length; Upload-Checksum ("<algorithm> <base64 digest>") makes the
// content be verified before anything is committed (460 when it does not
// match). The upload completes when the offset reaches its length.
func (h *Handler) tusPatch(w http.ResponseWriter, r *http.Request, params map[string]string) {
	if !h.tusVersionOK(w, r) {
		return
	}
	if r.Header.Get("Content-Type") != tusOctets {
		h.tusFail(w, r, tusUnsupportedType())
		return
	}
	offset, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		h.tusFail(w, r, tusInvalid("Upload-Offset", "Upload-Offset "+strconv.Quote(r.Header.Get("Upload-Offset"))+": want the offset in bytes"))
		return
	}
	token := params["token"]
	wr, err := h.sessions.Open(r.Context(), token, offset)
	if err == nil {
		if v := r.Header.Get("Upload-Length"); v != "" {
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				n = -1
			}
			err = h.sessions.SetSize(r.Context(), wr.Session(), n)
		}
	}
	if err == nil {
		err = h.tusWrite(w, r, wr)
	}
	if err != nil {
		h.tusFail(w, r, err)
		return
	}
	sess := wr.Session()
	if sess.Size >= 0 && sess.Offset == sess.Size {
		if sess, err = h.sessions.Finish(r.Context(), token, nil); err != nil {
			h.tusFail(w, r, err)
			return
		}
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(sess.Offset, 10))
	tusState(w, sess)
	w.WriteHeader(http.StatusNoContent)
}

// tusWrite commits the request body at the committed offset: verified
// first when it carries Upload-Checksum, otherwise in segments as it
// arrives.
func (h *Handler) tusWrite(w http.ResponseWriter, r *http.Request, wr *fileops.Writer) error {
	n := r.ContentLength
	if n < 0 && r.Header.Get("Upload-Checksum") == "" {
		return &runtime.HTTPStatusError{HTTPStatus: http.StatusLengthRequired,
			Err: tusInvalid("Content-Length", "send Content-Length (or Upload-Checksum)")}
	}
	c := &content{r: newBodyReader(w, r.Body, h.opt.IOTimeout), size: n}
	fc := fileops.Content{R: c.r, Size: n, Failed: c.clientError}
	if v := r.Header.Get("Upload-Checksum"); v != "" {
		alg, digest, _ := strings.Cut(v, " ")
		sum, err := base64.StdEncoding.DecodeString(digest)
		a, ok := fileops.ChecksumAlgorithmByName(alg)
		if !ok || err != nil {
			return tusInvalid("Upload-Checksum", "Upload-Checksum "+strconv.Quote(v)+": want one of "+strings.Join(fileops.ChecksumAlgorithms, ", ")+" and a base64 digest")
		}
		if n < 0 {
			fc.Failed = func() error { return c.r.err }
		}
		return wr.CommitChecked(r.Context(), fc, &fileops.Checksum{Algorithm: a, Value: sum, Field: "Upload-Checksum"})
	}
	return wr.CommitSegments(r.Context(), fc)
}

// tusDelete serves DELETE (termination): the unfinished upload and its
// content are deleted.
func (h *Handler) tusDelete(w http.ResponseWriter, r *http.Request, params map[string]string) {
	if !h.tusVersionOK(w, r) {
		return
	}
	if err := h.sessions.Cancel(r.Context(), params["token"]); err != nil {
		h.tusFail(w, r, err)
		return
	}
	w.Header().Set("Tus-Resumable", tusVersion)
	w.WriteHeader(http.StatusNoContent)
}
