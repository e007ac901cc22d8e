package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/fdfsgo/fdfs/server/fileops"
)

// Route patterns (grpc-gateway path templates).
const (
	UploadPattern   = "/v1/files"
	DownloadPattern = "/v1/files/{file_id=**}:download"
	AppendPattern   = "/v1/files/{file_id=**}:append"
)

// Options configure the handlers.
type Options struct {
	// Client is the engine every request goes through (required), usually
	// a *client.Client.
	Client fileops.Engine
	// MaxUploadSize bounds an upload or append (bytes); 0 means no limit.
	MaxUploadSize int64
	// IOTimeout bounds each read of a request body and each write of a
	// response body; 0 means none.
	IOTimeout time.Duration
	// SpoolDir holds uploads of unknown size until they are complete;
	// "" means the system temp directory.
	SpoolDir string
	// Log receives failures; nil discards.
	Log *slog.Logger
	// Idempotency remembers the idempotency keys of uploads, shared with
	// the gRPC service; nil: the routes have their own.
	Idempotency *fileops.Idempotency
	// Sessions serve the tus routes, shared with the gRPC service; nil:
	// the routes have their own, with a random secret and no sweep.
	Sessions *fileops.Sessions
}

// Handler serves the raw routes on one runtime.ServeMux.
type Handler struct {
	opt      Options
	mux      *runtime.ServeMux
	log      *slog.Logger
	files    *fileops.Files    // every operation on the engine
	sessions *fileops.Sessions // the tus uploads
}

// Register adds the raw routes to mux. Register them after the generated
// JSON routes: the mux tries the latest registration first, and
// "/v1/files/{file_id=**}" (GetFileInfo) would otherwise also match
// ".../name:download".
func Register(mux *runtime.ServeMux, opt Options) (*Handler, error) {
	if opt.Client == nil {
		return nil, fmt.Errorf("rest: no client")
	}
	h := &Handler{opt: opt, mux: mux, log: opt.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.files = fileops.New(opt.Client, h.log).WithIdempotency(opt.Idempotency)
	h.sessions = opt.Sessions
	if h.sessions == nil {
		h.sessions = fileops.NewSessions(h.files, fileops.SessionConfig{MaxSize: opt.MaxUploadSize, SpoolDir: opt.SpoolDir})
	}
	for _, r := range []struct {
		method, pattern string
		fn              runtime.HandlerFunc
	}{
		{http.MethodPost, UploadPattern, h.upload},
		{http.MethodGet, DownloadPattern, h.download},
		{http.MethodHead, DownloadPattern, h.download},
		{http.MethodPost, AppendPattern, h.append},
	} {
		if err := mux.HandlePath(r.method, r.pattern, r.fn); err != nil {
			return nil, fmt.Errorf("rest: %s %s: %w", r.method, r.pattern, err)
		}
	}
	if err := h.registerTus(); err != nil {
		return nil, fmt.Errorf("rest: tus routes: %w", err)
	}
	return h, nil
}

// fail answers err (a gRPC status error, possibly inside a
// *runtime.HTTPStatusError) with the mux's error handler.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	_, out := runtime.MarshalerForRequest(h.mux, r)
	runtime.HTTPError(r.Context(), h.mux, out, w, r, err)
}

// reply writes m with the mux's marshaler (the same JSON as the generated
// routes: lowerCamelCase names, int64 as strings).
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, code int, m proto.Message) {
	_, out := runtime.MarshalerForRequest(h.mux, r)
	b, err := out.Marshal(m)
	if err != nil {
		h.fail(w, r, status.Error(codes.Internal, err.Error()))
		return
	}
	w.Header().Set("Content-Type", out.ContentType(m))
	w.WriteHeader(code)
	w.Write(b)
}

// invalidArg is the refusal of a bad parameter (or part of the body):
// INVALID_ARGUMENT with the ErrorInfo of every error and a
// google.rpc.BadRequest naming field, as the JSON routes answer.
func invalidArg(field, format string, args ...any) error {
	return fileops.ToStatus(fileops.InvalidField(field, fmt.Sprintf(format, args...)), "")
}

// tooLarge is the refusal of an upload bigger than MaxUploadSize: 413 with
// RESOURCE_EXHAUSTED in the body.
func tooLarge(size, max int64) error {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestEntityTooLarge,
		Err:        status.Errorf(codes.ResourceExhausted, "content of %d bytes exceeds the upload limit of %d bytes", size, max),
	}
}

// badFileID is the refusal of a file ID that does not decode. The raw
// routes take IDs that are not UTF-8, which the ErrorInfo's file_id could
// not hold (the status would lose its details).
func badFileID(id string, err error) error {
	return fileops.ToStatus(fileops.InvalidField("file_id", fmt.Sprintf("bad file_id %q: %s", fileops.EchoedID(id), fileops.ValidationText(err))),
		strings.ToValidUTF8(id, "\uFFFD"))
}
