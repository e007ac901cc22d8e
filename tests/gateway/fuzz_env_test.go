package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// The fuzz targets (FuzzREST, FuzzGRPC) send one request an input to a
// real gateway in front of a real cluster, both started once per process
// (the coordinator and each fuzz worker run their own). Inputs name the
// process's files through placeholders, expanded before sending: file IDs
// differ from one process to the next, and the corpus must mean the same
// thing in all of them.
//
//	$N  a small normal file (the fast path serves it), with metadata
//	$L  a normal file larger than the fast path serves
//	$A  an appender file, with metadata
//	$T  the token of an unfinished upload session (tus and gRPC)
//	$E  the etag of $N
//	$G  the group, $S the storage's ID
//
// After each input the files and the session must be as they were, unless
// the input was a write the gateway accepted (2xx / OK) with the
// read-write key, naming that file or session exactly, with preconditions
// (If-Match, expected_size) that hold for it: then it is created anew (new
// ID) for the next inputs. So a refused request (no key, the read-only
// key, a malformed ID or an alias of one) that changed or deleted
// anything fails the target, and so does an accepted one whose
// precondition did not hold. Files next to the store (sentinels) must
// stay as they are, and the gateway's spool directory empty.

// fuzzPlaceholders are the placeholder letters, in expansion order.
const fuzzPlaceholders = "NLAETGS"

// fuzzTimeout bounds one fuzzed request; the checks after it get as long.
// Both stay well under the 10 s after which a fuzz worker declares itself
// deadlocked, so a hang is reported by the target with its input.
const fuzzTimeout = 4 * time.Second

// fuzzIOTimeout is the gateway's limits.io_timeout: a body the client
// announced and did not send ends the request after this long (short:
// seeds stall on purpose). The requests send their bytes at once, so it
// does not cut them; if it did, the answer would be a 400 all the same.
const fuzzIOTimeout = 500 * time.Millisecond

// fuzzMaxUpload is the gateway's limits.max_upload_size.
const fuzzMaxUpload = 1 << 20

// fuzzOrigin is the origin the gateway's CORS policy allows.
const fuzzOrigin = "https://app.example"

// trackedKind tells how a tracked object is created and read back.
type trackedKind int

const (
	trackedNormal trackedKind = iota
	trackedAppender
	trackedSession
)

// tracked is an object the inputs name by a placeholder, and the state it
// must keep.
type tracked struct {
	letter  byte
	kind    trackedKind
	id      string // file ID, or session token
	etag    string // a file's (FileInfo.etag)
	content []byte
	meta    map[string]string
}

// fuzzEnv is the gateway, cluster and tracked objects of one fuzz target.
type fuzzEnv struct {
	*env
	logs      *syncbuf.Buffer
	fc        fastdfsv1.FileServiceClient // on the env's one connection
	objs      []*tracked
	sentinels []string // files next to the store that no request may touch
	spool     string   // the gateway's spool directory, empty between requests
}

// startFuzzEnv starts the cluster and the gateway (logging into a buffer
// the targets search for panics) and creates the tracked objects.
func startFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	c := cluster.Start(f, cluster.Options{Storages: 1})
	fe := &fuzzEnv{logs: &syncbuf.Buffer{}, spool: f.TempDir()}
	sessions := f.TempDir()
	log := slog.New(slog.NewJSONHandler(fe.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	gw := startGatewayLog(f, c, func(cfg *config.Config) {
		withSecret(cfg)
		cfg.Console = true
		cfg.CORS.AllowedOrigins = []string{fuzzOrigin}
		cfg.SpoolDir = fe.spool
		cfg.Uploads.SessionDir = sessions
		cfg.Limits.MaxUploadSize = fuzzMaxUpload
		cfg.Limits.IOTimeout = fuzzIOTimeout
	}, log)
	fe.env = &env{c: c, gw: gw}
	fe.fc = fastdfsv1.NewFileServiceClient(fe.grpcConn(f))
	fe.objs = []*tracked{
		{letter: 'N', kind: trackedNormal, content: []byte("fuzz normal file\n"), meta: map[string]string{"owner": "fuzz"}},
		{letter: 'L', kind: trackedNormal, content: bytes.Repeat([]byte("large "), 20<<10)},
		{letter: 'A', kind: trackedAppender, content: []byte("fuzz appender\n"), meta: map[string]string{"kind": "appender"}},
		{letter: 'T', kind: trackedSession},
	}
	for _, o := range fe.objs {
		if err := fe.create(o); err != nil {
			f.Fatal(err)
		}
	}
	fe.placeSentinels(f)
	return fe
}

// obj returns the tracked object of a placeholder letter.
func (fe *fuzzEnv) obj(letter byte) *tracked {
	for _, o := range fe.objs {
		if o.letter == letter {
			return o
		}
	}
	return nil
}

// value is what placeholder letter stands for ("" for none).
func (fe *fuzzEnv) value(letter byte) string {
	switch letter {
	case 'E':
		return fe.obj('N').etag
	case 'G':
		return fe.c.Storages[0].Group
	case 'S':
		return fe.c.Storages[0].ID
	}
	if o := fe.obj(letter); o != nil {
		return o.id
	}
	return ""
}

// expand replaces the placeholders of s. edit, when not zero, changes one
// byte of the first value expanded (byte edit>>8 modulo its length becomes
// byte edit&0xff), so that inputs can name IDs one byte off the real ones;
// done reports that the edit was made.
func (fe *fuzzEnv) expand(s string, edit uint16, done bool) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, done
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) || !strings.Contains(fuzzPlaceholders, s[i+1:i+2]) {
			b.WriteByte(s[i])
			continue
		}
		v := fe.value(s[i+1])
		if !done && edit != 0 && v != "" {
			p := []byte(v)
			p[int(edit>>8)%len(p)] = byte(edit)
			v, done = string(p), true
		}
		b.WriteString(v)
		i++
	}
	return b.String(), done
}

// create stores o anew: a new file (or session) with its content and
// metadata, under a new ID.
func (fe *fuzzEnv) create(o *tracked) error {
	ctx, cancel := context.WithTimeout(context.Background(), fuzzTimeout)
	defer cancel()
	var err error
	switch o.kind {
	case trackedNormal:
		o.id, err = fe.c.Client.Upload(ctx, bytes.NewReader(o.content), int64(len(o.content)), uploadOptions(o))
	case trackedAppender:
		o.id, err = fe.c.Client.UploadAppender(ctx, bytes.NewReader(o.content), int64(len(o.content)), uploadOptions(o))
	case trackedSession:
		o.id, err = fe.createSession(ctx)
	}
	if err != nil {
		return fmt.Errorf("create $%c: %w", o.letter, err)
	}
	if o.kind == trackedSession {
		return nil
	}
	info, err := fe.fc.GetFileInfo(withKey(ctx, roKey), &fastdfsv1.GetFileInfoRequest{FileId: o.id})
	if err != nil {
		return fmt.Errorf("etag of $%c: %w", o.letter, err)
	}
	o.etag = info.GetFile().GetEtag()
	return nil
}

// createSession opens an upload session of 8 bytes.
func (fe *fuzzEnv) createSession(ctx context.Context) (string, error) {
	size := int64(8)
	r, err := fe.fc.CreateUploadSession(withKey(ctx, rwKey), &fastdfsv1.CreateUploadSessionRequest{Ext: "bin", Size: &size})
	return r.GetSession().GetToken(), err
}

// placeSentinels writes files next to and inside the store that a path
// escaping a file ID (dot segments, encoded slashes) could reach.
func (fe *fuzzEnv) placeSentinels(f *testing.F) {
	s := fe.c.Storages[0]
	for _, dir := range []string{fe.c.Dir, s.BasePath, s.StorePaths[0], filepath.Join(s.StorePaths[0], "data"),
		filepath.Join(s.StorePaths[0], "data", "00")} {
		p := filepath.Join(dir, "fuzz-sentinel")
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			f.Fatal(err)
		}
		fe.sentinels = append(fe.sentinels, p)
	}
}

// leak returns what msg, the message of an error answer to a request of
// text sent, should not hold (docs/api-behaviour.md: the addresses of
// trackers and storages, FastDFS status and errno texts, which only the
// log gets) unless the request did, or "".
func (fe *fuzzEnv) leak(msg, sent string) string {
	for _, s := range []string{fe.c.Tracker.IP, fe.c.Storages[0].IP, "fastdfs status", "ENOENT", "EINVAL"} {
		if strings.Contains(msg, s) && !strings.Contains(sent, s) {
			return s
		}
	}
	return ""
}

// fuzzRequest is what the checks after an input need to know of it.
type fuzzRequest struct {
	text     string // every byte sent, plus the target percent-decoded
	conds    *conds // the preconditions it sets
	accepted bool   // a 2xx answer / OK status
	detail   string // the input and the answer, for failure messages
}

// mayChange reports whether the request was allowed to change object o:
// accepted, with the read-write key, naming o exactly, with preconditions
// that hold for o.
func (r *fuzzRequest) mayChange(o *tracked) bool {
	return r.accepted && strings.Contains(r.text, rwKey) && strings.Contains(r.text, o.id) &&
		(r.conds == nil || r.conds.holdFor(o))
}

// verify runs the checks every input ends with: nothing bad logged,
// nothing touched outside the store, and every tracked object as it was
// unless the request could change it (then it is created anew).
func (fe *fuzzEnv) verify(t *testing.T, r *fuzzRequest) {
	t.Helper()
	logs := fe.logs.String()
	fe.logs.Reset()
	// net/http logs a handler's panic ("http: panic serving ...") and a
	// second WriteHeader (a handler answering twice); a panic in a gRPC
	// handler or on the fast path ends the process.
	for _, bad := range []string{"panic", "superfluous response.WriteHeader"} {
		if strings.Contains(logs, bad) {
			t.Fatalf("the gateway logged %q\n%s\nlog:\n%s", bad, r.detail, logs)
		}
	}
	if err := fe.checkOutside(); err != nil {
		t.Fatalf("%v\n%s", err, r.detail)
	}
	if bad := fe.checkTracked(t, r); bad != nil {
		t.Fatalf("%s\n%s\nlog:\n%s", strings.Join(bad, "\n"), r.detail, logs)
	}
}

// checkTracked checks every tracked object, creates anew those that
// changed (also after a failure: the seeds go on) and returns the changes
// r was not allowed to make.
func (fe *fuzzEnv) checkTracked(t *testing.T, r *fuzzRequest) (bad []string) {
	for _, o := range fe.objs {
		err := fe.check(o)
		if err == nil {
			continue
		}
		if !r.mayChange(o) {
			bad = append(bad, fmt.Sprintf("$%c %s changed by a request that could not change it: %v", o.letter, o.id, err))
		}
		if err := fe.create(o); err != nil {
			t.Fatal(err)
		}
	}
	return bad
}

// checkOutside checks the sentinels and that no spool file is left.
func (fe *fuzzEnv) checkOutside() error {
	for _, p := range fe.sentinels {
		if b, err := os.ReadFile(p); err != nil || string(b) != p {
			return fmt.Errorf("sentinel %s changed: %q, %v", p, b, err)
		}
	}
	if left, err := os.ReadDir(fe.spool); err != nil || len(left) > 0 {
		return fmt.Errorf("spool directory: %d files left, %v", len(left), err)
	}
	return nil
}

// check compares o with its expected state.
func (fe *fuzzEnv) check(o *tracked) error {
	ctx, cancel := context.WithTimeout(context.Background(), fuzzTimeout)
	defer cancel()
	if o.kind == trackedSession {
		return fe.checkSession(ctx, o)
	}
	got, err := fe.content(ctx, o)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, o.content) {
		return fmt.Errorf("content of %d bytes, want %d bytes", len(got), len(o.content))
	}
	meta, err := fe.c.Client.GetMetadata(ctx, o.id)
	if errors.Is(err, protocol.ErrNotFound) {
		// A file without metadata has no metadata file: the file's
		// existence was checked with its content.
		meta, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(meta) != len(o.meta) || !maps.Equal(meta, o.meta) {
		return fmt.Errorf("metadata %v, want %v", meta, o.meta)
	}
	return nil
}

// content reads o's content: $N from the gateway, on a new connection
// (the fast path; this also proves the gateway still answers), the
// others from the storage.
func (fe *fuzzEnv) content(ctx context.Context, o *tracked) ([]byte, error) {
	if o.letter != 'N' {
		var b bytes.Buffer
		_, err := fe.c.Client.Download(ctx, o.id, 0, 0, &b)
		return b.Bytes(), err
	}
	resp, body, err := rawExchange(fe.gw.HTTPAddr(), []byte("GET /v1/files/"+o.id+":download HTTP/1.1\r\nHost: fuzz\r\n"+
		"X-API-Key: "+roKey+"\r\nConnection: close\r\n\r\n"), "GET", fuzzTimeout)
	if err != nil {
		return nil, fmt.Errorf("download through the gateway: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download through the gateway: %s %s", resp.Status, body)
	}
	return body, nil
}

// checkSession checks that the session $T is open with nothing written.
func (fe *fuzzEnv) checkSession(ctx context.Context, o *tracked) error {
	r, err := fe.fc.GetUploadSession(withKey(ctx, rwKey), &fastdfsv1.GetUploadSessionRequest{Token: o.id})
	if err != nil {
		return err
	}
	if s := r.GetSession(); s.GetCommittedOffset() != 0 || s.GetFinished() {
		return fmt.Errorf("session at offset %d, finished %v", s.GetCommittedOffset(), s.GetFinished())
	}
	return nil
}

// uploadOptions are the engine's options for storing o.
func uploadOptions(o *tracked) client.UploadOptions {
	return client.UploadOptions{Ext: "txt", Meta: o.meta}
}
