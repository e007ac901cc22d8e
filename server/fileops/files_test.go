package fileops_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/fileops/fileopstest"
)

// apiError is what a client sees of an error: code, ErrorInfo reason and
// file_id.
type apiError struct {
	code   codes.Code
	reason string
	fileID string
}

func apiErrorOf(t *testing.T, err error) apiError {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%v (%T) is not a gRPC status", err, err)
	}
	e := apiError{code: st.Code()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			e.reason, e.fileID = info.GetReason(), info.GetMetadata()["file_id"]
		}
	}
	return e
}

func content(b []byte) fileops.Content {
	return fileops.Content{R: bytes.NewReader(b), Size: int64(len(b))}
}

func TestUploadKinds(t *testing.T) {
	data := []byte("hello, fileops")
	meta := map[string]string{"width": "640", "owner": "me"}
	tests := []struct {
		name  string
		up    fileops.Upload
		check func(t *testing.T, eng *fileopstest.Engine, master, id string)
	}{
		{name: "normal", up: fileops.Upload{Kind: fileops.Normal, Ext: "txt"}},
		{name: "normal with group and metadata", up: fileops.Upload{Kind: fileops.Normal, Group: "group2", Meta: meta},
			check: func(t *testing.T, _ *fileopstest.Engine, _, id string) {
				if !strings.HasPrefix(id, "group2/") {
					t.Errorf("id %s is not in group2", id)
				}
			}},
		{name: "appender", up: fileops.Upload{Kind: fileops.Appender, Ext: "log", Meta: meta}},
		{name: "slave", up: fileops.Upload{Kind: fileops.Slave, Prefix: "_thumb"}},
		{name: "slave with ext and metadata", up: fileops.Upload{Kind: fileops.Slave, Prefix: "_s", Ext: "png", Meta: meta},
			check: func(t *testing.T, eng *fileopstest.Engine, master, id string) {
				// The slave's metadata is set by fileops, after the upload.
				calls := eng.Calls()
				if i := slices.Index(calls, "upload slave "+master); i < 0 || !slices.Contains(calls[i:], "set metadata "+id) {
					t.Errorf("calls %q: no upload slave then set metadata", calls)
				}
				if !strings.HasSuffix(id, "_s.png") {
					t.Errorf("slave id %s", id)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			master := eng.Put(fileops.Normal, "jpg", []byte("master"), map[string]string{"master": "yes"})
			up := tc.up
			if up.Kind == fileops.Slave {
				up.Master = master
			}
			id, err := fileops.New(eng, nil).Upload(context.Background(), up, content(data))
			if err != nil {
				t.Fatal(err)
			}
			_, name, err := client.DecodeFileID(id)
			if err != nil {
				t.Fatal(err)
			}
			if name.Appender != (up.Kind == fileops.Appender) || name.Slave != (up.Kind == fileops.Slave) {
				t.Errorf("id %s: appender %v slave %v, want kind %v", id, name.Appender, name.Slave, up.Kind)
			}
			got, gotMeta, ok := eng.File(id)
			if !ok || !bytes.Equal(got, data) {
				t.Fatalf("stored %q (%v), want %q", got, ok, data)
			}
			if !maps.Equal(gotMeta, up.Meta) {
				t.Errorf("metadata %v, want %v", gotMeta, up.Meta)
			}
			if _, m, _ := eng.File(master); m["master"] != "yes" || len(m) != 1 {
				t.Errorf("the master's metadata changed: %v", m)
			}
			if tc.check != nil {
				tc.check(t, eng, master, id)
			}
		})
	}
}

// errFinish is a transport's Finish failure: more content than announced.
var errFinish = status.Error(codes.InvalidArgument, "the content is longer than announced")

// TestUploadCleanup: when a step after the upload fails, the new file is
// deleted and the step's error is returned.
func TestUploadCleanup(t *testing.T) {
	tests := []struct {
		name    string
		kind    fileops.Kind
		meta    map[string]string
		finish  error
		fail    func(op, id string) error // the engine's failures
		want    apiError
		wantErr error // returned as it is
		deletes int   // delete calls (fileops's, or the engine's own)
		left    int   // files left, the master included
	}{
		{name: "slave metadata fails", kind: fileops.Slave, meta: map[string]string{"k": "v"},
			fail: failOn(fileopstest.OpSetMetadata, protocol.ErrNoSpace),
			want: apiError{codes.ResourceExhausted, "NO_SPACE", "<master>"}, deletes: 1, left: 1},
		{name: "slave metadata times out", kind: fileops.Slave, meta: map[string]string{"k": "v"},
			fail: failOn(fileopstest.OpSetMetadata, context.DeadlineExceeded),
			want: apiError{codes.DeadlineExceeded, fileops.ReasonTimeout, "<master>"}, deletes: 1, left: 1},
		{name: "normal finish fails", kind: fileops.Normal, finish: errFinish, wantErr: errFinish, deletes: 1, left: 1},
		{name: "appender finish fails", kind: fileops.Appender, finish: errFinish, wantErr: errFinish, deletes: 1, left: 1},
		{name: "slave finish fails", kind: fileops.Slave, meta: map[string]string{"k": "v"}, finish: errFinish, wantErr: errFinish, deletes: 1, left: 1},
		{name: "cleanup fails too", kind: fileops.Normal, finish: errFinish,
			fail: failOn(fileopstest.OpDelete, protocol.ErrBusy), wantErr: errFinish, deletes: 1, left: 2},
		// The engine cleans up after its own metadata step (normal and
		// appender files): fileops has nothing to delete.
		{name: "engine's metadata fails", kind: fileops.Appender, meta: map[string]string{"k": "v"},
			fail: failOn(fileopstest.OpSetMetadata, protocol.ErrNoSpace),
			want: apiError{codes.ResourceExhausted, "NO_SPACE", ""}, deletes: 1, left: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			master := eng.Put(fileops.Normal, "jpg", []byte("master"), nil)
			eng.Fail = tc.fail
			c := content([]byte("payload"))
			if tc.finish != nil {
				c.Finish = func() error { return tc.finish }
			}
			up := fileops.Upload{Kind: tc.kind, Meta: tc.meta}
			if tc.kind == fileops.Slave {
				up.Master, up.Prefix = master, "_x"
			}
			id, err := fileops.New(eng, nil).Upload(context.Background(), up, c)
			if err == nil || id != "" {
				t.Fatalf("upload succeeded: %q", id)
			}
			if tc.wantErr != nil {
				if err != tc.wantErr {
					t.Fatalf("error %v, want the transport's %v unchanged", err, tc.wantErr)
				}
			} else {
				want := tc.want
				if want.fileID == "<master>" {
					want.fileID = master
				}
				if got := apiErrorOf(t, err); got != want {
					t.Fatalf("error %+v, want %+v (%v)", got, want, err)
				}
			}
			deletes := 0
			for _, c := range eng.Calls() {
				if strings.HasPrefix(c, fileopstest.OpDelete+" ") {
					deletes++
				}
			}
			if deletes != tc.deletes {
				t.Errorf("calls %q: %d deletes, want %d", eng.Calls(), deletes, tc.deletes)
			}
			if ids := eng.IDs(); len(ids) != tc.left || !slices.Contains(ids, master) {
				t.Errorf("files left %q, want %d with the master %s", ids, tc.left, master)
			}
		})
	}
}

func failOn(op string, err error) func(string, string) error {
	return func(o, _ string) error {
		if o == op {
			return err
		}
		return nil
	}
}

// errClient is a transport's own failure (the client's stream broke).
var errClient = status.Error(codes.Canceled, "the client went away")

// TestBlame: when the engine fails while the content failed, the
// transport's error is returned; otherwise the engine's, mapped.
func TestBlame(t *testing.T) {
	broken := func() io.Reader {
		return io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errors.New("stream broke")))
	}
	short := func() io.Reader { return strings.NewReader("abc") }
	tests := []struct {
		name   string
		r      func() io.Reader
		failed error
		op     func(f *fileops.Files, eng *fileopstest.Engine, c fileops.Content) error
		want   apiError
	}{
		{name: "upload, stream broke", r: broken, failed: errClient,
			op: func(f *fileops.Files, _ *fileopstest.Engine, c fileops.Content) error {
				_, err := f.Upload(context.Background(), fileops.Upload{}, c)
				return err
			}},
		{name: "upload, content short, no transport failure", r: short,
			op: func(f *fileops.Files, _ *fileopstest.Engine, c fileops.Content) error {
				_, err := f.Upload(context.Background(), fileops.Upload{}, c)
				return err
			}, want: apiError{codes.Unavailable, fileops.ReasonUnavailable, ""}},
		{name: "append, stream broke", r: broken, failed: errClient,
			op: func(f *fileops.Files, eng *fileopstest.Engine, c fileops.Content) error {
				return f.Append(context.Background(), eng.Put(fileops.Appender, "", nil, nil), c)
			}},
		{name: "modify, stream broke", r: broken, failed: errClient,
			op: func(f *fileops.Files, eng *fileopstest.Engine, c fileops.Content) error {
				return f.Modify(context.Background(), eng.Put(fileops.Appender, "", []byte("0123456789"), nil), 2, c)
			}},
		{name: "append to a normal file: the engine's refusal, even with a transport failure set", r: short, failed: nil,
			op: func(f *fileops.Files, eng *fileopstest.Engine, c fileops.Content) error {
				return f.Append(context.Background(), eng.Put(fileops.Normal, "", []byte("x"), nil), c)
			}, want: apiError{codes.FailedPrecondition, fileops.ReasonNotAppender, "<id>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			c := fileops.Content{R: tc.r(), Size: 10, Failed: func() error { return tc.failed }}
			err := tc.op(fileops.New(eng, nil), eng, c)
			if tc.failed != nil {
				if err != tc.failed {
					t.Fatalf("error %v, want the transport's %v", err, tc.failed)
				}
				return
			}
			got := apiErrorOf(t, err)
			if tc.want.fileID == "<id>" && got.fileID != "" {
				tc.want.fileID = got.fileID
			}
			if got != tc.want {
				t.Fatalf("error %+v, want %+v (%v)", got, tc.want, err)
			}
		})
	}
}

func TestAppendModifyFinish(t *testing.T) {
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	ctx := context.Background()
	id := eng.Put(fileops.Appender, "log", []byte("0123"), nil)
	if err := f.Append(ctx, id, content([]byte("4567"))); err != nil {
		t.Fatal(err)
	}
	if err := f.Modify(ctx, id, 2, content([]byte("ab"))); err != nil {
		t.Fatal(err)
	}
	c := content([]byte("89"))
	c.Finish = func() error { return errFinish }
	if err := f.Append(ctx, id, c); err != errFinish {
		t.Fatalf("append with trailing content: %v", err)
	}
	// The announced bytes are appended: nothing is undone.
	if got, _, _ := eng.File(id); string(got) != "01ab456789" {
		t.Fatalf("content %q", got)
	}
	if err := f.Truncate(ctx, id, 3); err != nil {
		t.Fatal(err)
	}
	newID, err := f.RegenerateAppender(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, ok := eng.File(newID); !ok || string(got) != "01a" {
		t.Fatalf("regenerated %s: %q %v", newID, got, ok)
	}
}

func TestReads(t *testing.T) {
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	ctx := context.Background()
	empty := eng.Put(fileops.Normal, "", nil, nil)
	full := eng.Put(fileops.Normal, "txt", []byte("0123456789"), map[string]string{"a": "1"})
	missing := strings.Replace(full, "group1", "group9", 1)

	for _, tc := range []struct {
		id             string
		offset, length int64
		want           string
		err            apiError
	}{
		{id: full, want: "0123456789"},
		{id: full, offset: 3, length: 4, want: "3456"},
		{id: full, offset: 8, want: "89"},
		// An empty file reads as empty, though storages refuse offset 0.
		{id: empty, want: ""},
		{id: empty, offset: 0, length: 1, err: apiError{codes.OutOfRange, fileops.ReasonOutOfRange, empty}},
		{id: full, offset: 10, err: apiError{codes.OutOfRange, fileops.ReasonOutOfRange, full}},
		{id: missing, err: apiError{codes.NotFound, fileops.ReasonFileNotFound, missing}},
	} {
		t.Run(fmt.Sprintf("%s@%d+%d", tc.id[len(tc.id)-8:], tc.offset, tc.length), func(t *testing.T) {
			var b bytes.Buffer
			_, err := f.Download(ctx, tc.id, tc.offset, tc.length, &b)
			if tc.err.code != codes.OK {
				if got := apiErrorOf(t, err); got != tc.err {
					t.Fatalf("error %+v, want %+v", got, tc.err)
				}
				return
			}
			if err != nil || b.String() != tc.want {
				t.Fatalf("read %q, %v; want %q", b.String(), err, tc.want)
			}
		})
	}

	if m, err := f.GetMetadata(ctx, full); err != nil || m["a"] != "1" {
		t.Errorf("metadata %v, %v", m, err)
	}
	// No metadata is empty metadata, not "not found"...
	if m, err := f.GetMetadata(ctx, empty); err != nil || len(m) != 0 {
		t.Errorf("metadata of a file without: %v, %v", m, err)
	}
	// ...but a missing file is.
	if _, err := f.GetMetadata(ctx, missing); apiErrorOf(t, err) != (apiError{codes.NotFound, fileops.ReasonFileNotFound, missing}) {
		t.Errorf("metadata of a missing file: %v", err)
	}
	if err := f.SetMetadata(ctx, full, map[string]string{"b": "2"}, protocol.MetaMerge); err != nil {
		t.Fatal(err)
	}
	if _, m, _ := eng.File(full); len(m) != 2 {
		t.Errorf("merged metadata %v", m)
	}
	if fi, err := f.Info(ctx, full); err != nil || fi.Size != 10 {
		t.Errorf("info %+v, %v", fi, err)
	}
	if err := f.Delete(ctx, full); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Info(ctx, full); apiErrorOf(t, err) != (apiError{codes.NotFound, fileops.ReasonFileNotFound, full}) {
		t.Errorf("info of a deleted file: %v", err)
	}
}

// TestEngineErrors: the engine's typed errors reach the client as the
// error table says.
func TestEngineErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		fail error // the engine's answer to every operation
		run  func(f *fileops.Files, id string) error
		want apiError // fileID "<id>" is the file's
	}{
		{"no storage yet", fmt.Errorf("%w in any group: %w", client.ErrNoStorage, protocol.ErrNotFound),
			func(f *fileops.Files, _ string) error {
				_, err := f.Upload(ctx, fileops.Upload{}, content([]byte("x")))
				return err
			}, apiError{codes.Unavailable, fileops.ReasonNoStorage, ""}},
		{"group does not exist", fmt.Errorf("group g9 does not exist: %w", protocol.ErrNotFound),
			func(f *fileops.Files, _ string) error {
				_, err := f.Upload(ctx, fileops.Upload{Group: "g9"}, content([]byte("x")))
				return err
			}, apiError{codes.NotFound, "NOT_FOUND", ""}},
		{"no space", protocol.ErrNoSpace,
			func(f *fileops.Files, _ string) error {
				_, err := f.Upload(ctx, fileops.Upload{Kind: fileops.Appender}, content([]byte("x")))
				return err
			}, apiError{codes.ResourceExhausted, "NO_SPACE", ""}},
		{"slave exists", protocol.ErrExists,
			func(f *fileops.Files, id string) error {
				_, err := f.Upload(ctx, fileops.Upload{Kind: fileops.Slave, Master: id, Prefix: "_p"}, content([]byte("x")))
				return err
			}, apiError{codes.AlreadyExists, "ALREADY_EXISTS", "<id>"}},
		{"delete, permission", protocol.ErrPermission,
			func(f *fileops.Files, id string) error { return f.Delete(ctx, id) },
			apiError{codes.PermissionDenied, "PERMISSION_DENIED", "<id>"}},
		{"truncate, busy", protocol.ErrBusy,
			func(f *fileops.Files, id string) error { return f.Truncate(ctx, id, 0) },
			apiError{codes.FailedPrecondition, "BUSY", "<id>"}},
		{"set metadata, canceled", context.Canceled,
			func(f *fileops.Files, id string) error { return f.SetMetadata(ctx, id, nil, protocol.MetaOverwrite) },
			apiError{codes.Canceled, fileops.ReasonCanceled, "<id>"}},
		{"regenerate, not supported", protocol.ErrNotSupported,
			func(f *fileops.Files, id string) error { _, err := f.RegenerateAppender(ctx, id); return err },
			apiError{codes.Unimplemented, "NOT_SUPPORTED", "<id>"}},
		{"download, connection lost", io.ErrUnexpectedEOF,
			func(f *fileops.Files, id string) error { _, err := f.Download(ctx, id, 0, 0, io.Discard); return err },
			apiError{codes.Unavailable, fileops.ReasonUnavailable, "<id>"}},
		{"unknown status", &protocol.StatusError{Code: 200},
			func(f *fileops.Files, id string) error { _, err := f.Info(ctx, id); return err },
			apiError{codes.Internal, fileops.ReasonInternal, "<id>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			id := eng.Put(fileops.Appender, "bin", []byte("data"), nil)
			eng.Fail = func(string, string) error { return tc.fail }
			want := tc.want
			if want.fileID == "<id>" {
				want.fileID = id
			}
			if got := apiErrorOf(t, tc.run(fileops.New(eng, nil), id)); got != want {
				t.Fatalf("error %+v, want %+v", got, want)
			}
		})
	}
}

// TestMetadataInjection checks that metadata FastDFS would store as other
// pairs is refused before anything reaches the engine, by every operation
// taking metadata.
func TestMetadataInjection(t *testing.T) {
	bad := map[string]string{"owner": "alice\x01role\x02admin"}
	ctx := context.Background()
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	master := eng.Put(fileops.Normal, "jpg", []byte("master"), nil)
	before := len(eng.Calls())
	for _, kind := range []fileops.Kind{fileops.Normal, fileops.Appender, fileops.Slave} {
		u := fileops.Upload{Kind: kind, Meta: bad}
		if kind == fileops.Slave {
			u.Master, u.Prefix = master, "_s"
		}
		_, err := f.Upload(ctx, u, content([]byte("x")))
		if fields, _ := badRequest(t, err); status.Code(err) != codes.InvalidArgument || fields[`metadata["owner"]`] == "" {
			t.Errorf("upload %v: %v, violations %v", kind, err, fields)
		}
	}
	for _, flag := range []byte{protocol.MetaOverwrite, protocol.MetaMerge} {
		err := f.SetMetadata(ctx, master, bad, flag)
		if fields, _ := badRequest(t, err); status.Code(err) != codes.InvalidArgument || fields[`metadata["owner"]`] == "" {
			t.Errorf("set metadata %c: %v, violations %v", flag, err, fields)
		}
	}
	if calls := eng.Calls()[before:]; len(calls) != 0 {
		t.Errorf("the engine was called: %v", calls)
	}
	if len(eng.IDs()) != 1 {
		t.Errorf("files %v", eng.IDs())
	}
}

func TestOutOfRangeAndPrecondition(t *testing.T) {
	ctx := context.Background()
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	app := eng.Put(fileops.Appender, "", []byte("0123456789"), nil)
	normal := eng.Put(fileops.Normal, "", []byte("0123456789"), nil)
	tests := []struct {
		name  string
		err   error
		code  codes.Code
		field string
	}{
		{"modify past the end", f.Modify(ctx, app, 11, content([]byte("x"))), codes.OutOfRange, "offset"},
		{"modify at the end", f.Modify(ctx, app, 10, content([]byte("x"))), codes.OK, ""},
		{"truncate beyond", f.Truncate(ctx, app, 100), codes.OutOfRange, "size"},
		{"download offset", func() error { _, err := f.Download(ctx, app, 50, 0, io.Discard); return err }(), codes.OutOfRange, "offset"},
		{"download length", func() error { _, err := f.Download(ctx, app, 2, 50, io.Discard); return err }(), codes.OutOfRange, "length"},
		{"append normal", f.Append(ctx, normal, content([]byte("x"))), codes.FailedPrecondition, ""},
		{"modify normal", f.Modify(ctx, normal, 0, content([]byte("x"))), codes.FailedPrecondition, ""},
		{"truncate normal", f.Truncate(ctx, normal, 0), codes.FailedPrecondition, ""},
		{"regenerate normal", func() error { _, err := f.RegenerateAppender(ctx, normal); return err }(), codes.FailedPrecondition, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status.Code(tc.err) != tc.code {
				t.Fatalf("%v, want %v", tc.err, tc.code)
			}
			if tc.field != "" {
				if fields, _ := badRequest(t, tc.err); fields[tc.field] == "" {
					t.Fatalf("violations %v, want %s", fields, tc.field)
				}
			}
		})
	}
}
