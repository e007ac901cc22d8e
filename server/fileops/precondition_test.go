package fileops_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/fileops/fileopstest"
)

func size(n int64) *int64 { return &n }

// preconditionOf returns the ErrorInfo metadata and the
// PreconditionFailure subject of a FAILED_PRECONDITION with reason.
func preconditionOf(t *testing.T, err error, reason string) map[string]string {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("err %v: want FAILED_PRECONDITION", err)
	}
	var md map[string]string
	var pf *errdetails.PreconditionFailure
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetReason() != reason {
				t.Fatalf("reason %s, want %s", d.GetReason(), reason)
			}
			md = d.GetMetadata()
		case *errdetails.PreconditionFailure:
			pf = d
		}
	}
	if md == nil || pf == nil || len(pf.GetViolations()) != 1 || pf.GetViolations()[0].GetType() != fileops.PreconditionFailureType {
		t.Fatalf("details %v: want an ErrorInfo and a PreconditionFailure", st.Details())
	}
	return md
}

func TestExpectedSize(t *testing.T) {
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	ctx := context.Background()
	id := eng.Put(fileops.Appender, "log", []byte("abc"), nil)

	pre := fileops.Precondition{ExpectedSize: size(3)}
	if err := f.AppendIf(ctx, id, pre, content([]byte("def"))); err != nil {
		t.Fatal(err)
	}
	// The retry after a lost reply: the same request again.
	err := f.AppendIf(ctx, id, pre, content([]byte("def")))
	md := preconditionOf(t, err, fileops.ReasonSizeMismatch)
	if md["expected_size"] != "3" || md["actual_size"] != "6" || md["file_id"] != id {
		t.Errorf("metadata %v", md)
	}
	if data, _, _ := eng.File(id); string(data) != "abcdef" {
		t.Fatalf("content %q: the retry appended", data)
	}

	if err := f.ModifyIf(ctx, id, 0, fileops.Precondition{ExpectedSize: size(5)}, content([]byte("X"))); err == nil {
		t.Fatal("modify with a wrong expected size succeeded")
	}
	if err := f.ModifyIf(ctx, id, 0, fileops.Precondition{ExpectedSize: size(6)}, content([]byte("X"))); err != nil {
		t.Fatal(err)
	}
	preconditionOf(t, f.TruncateIf(ctx, id, 1, fileops.Precondition{ExpectedSize: size(3)}), fileops.ReasonSizeMismatch)
	if err := f.TruncateIf(ctx, id, 1, fileops.Precondition{ExpectedSize: size(6)}); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := eng.File(id); string(data) != "X" {
		t.Fatalf("content %q, want X", data)
	}
	// A missing file is NOT_FOUND, not a mismatch.
	eng.Delete(ctx, id)
	if e := apiErrorOf(t, f.AppendIf(ctx, id, pre, content([]byte("x")))); e.code != codes.NotFound {
		t.Errorf("missing file: %v", e)
	}
}

func TestIfMatch(t *testing.T) {
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	ctx := context.Background()
	id := eng.Put(fileops.Appender, "log", []byte("abc"), map[string]string{"a": "1"})
	fi, err := f.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	etag := fileops.ETag(fi)
	if err := f.AppendIf(ctx, id, fileops.Precondition{}, content([]byte("d"))); err != nil {
		t.Fatal(err)
	}
	fi, _ = f.Info(ctx, id)
	current := fileops.ETag(fi)
	if current == etag {
		t.Fatalf("etag %s did not change with the content", etag)
	}

	md := preconditionOf(t, f.SetMetadataIf(ctx, id, map[string]string{"b": "2"}, 'O', fileops.Precondition{IfMatch: etag}), fileops.ReasonEtagMismatch)
	if md["etag"] != current {
		t.Errorf("metadata %v: want etag %s", md, current)
	}
	preconditionOf(t, f.DeleteIf(ctx, id, fileops.Precondition{IfMatch: etag}), fileops.ReasonEtagMismatch)
	if _, meta, ok := eng.File(id); !ok || meta["a"] != "1" || meta["b"] != "" {
		t.Fatalf("file changed by refused calls: ok %v, metadata %v", ok, meta)
	}
	if err := f.SetMetadataIf(ctx, id, map[string]string{"b": "2"}, 'M', fileops.Precondition{IfMatch: `W/` + current + `, ` + current}); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteIf(ctx, id, fileops.Precondition{IfMatch: "*"}); err != nil {
		t.Fatal(err)
	}
	if e := apiErrorOf(t, f.DeleteIf(ctx, id, fileops.Precondition{IfMatch: "*"})); e.code != codes.NotFound {
		t.Errorf("delete * of a missing file: %v", e)
	}
}

func TestMatchETag(t *testing.T) {
	const e = `"0000abcd-3-5"`
	for list, want := range map[string]bool{
		"*": true, e: true, `0000abcd-3-5`: true, `"x", ` + e: true,
		`W/` + e: false, `"x"`: false, ``: false,
	} {
		if got := fileops.MatchETag(list, e); got != want {
			t.Errorf("MatchETag(%q) = %v", list, got)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	ctx := context.Background()
	u := fileops.Upload{Kind: fileops.Normal, Ext: "txt", IdempotencyKey: "k-1", Meta: map[string]string{"a": "1"}}
	id, err := f.Upload(ctx, u, content([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	// The repeat stores nothing, reads its content and answers the first ID.
	r := bytes.NewReader([]byte("hello"))
	again, err := f.Upload(ctx, u, fileops.Content{R: r, Size: 5})
	if err != nil || again != id {
		t.Fatalf("repeat: %q, %v; want %q", again, err, id)
	}
	if r.Len() != 0 {
		t.Errorf("the repeat left %d bytes of its content unread", r.Len())
	}
	if n := len(eng.IDs()); n != 1 {
		t.Fatalf("%d files stored", n)
	}
	// Another spec with the same key is refused (content drained too).
	r = bytes.NewReader([]byte("hello!"))
	_, err = f.Upload(ctx, u, fileops.Content{R: r, Size: 6})
	if md := preconditionOf(t, err, fileops.ReasonIdempotencyKeyReused); md["first_file_id"] != id {
		t.Errorf("metadata %v", md)
	}
	if r.Len() != 0 {
		t.Errorf("the refused upload left %d bytes unread", r.Len())
	}
	// Another key, or another group, is another upload.
	u2 := u
	u2.IdempotencyKey = "k-2"
	if id2, err := f.Upload(ctx, u2, content([]byte("hello"))); err != nil || id2 == id {
		t.Fatalf("other key: %q, %v", id2, err)
	}
	u3 := u
	u3.Group = "group2"
	if id3, err := f.Upload(ctx, u3, content([]byte("hello"))); err != nil || id3 == id {
		t.Fatalf("other group: %q, %v", id3, err)
	}
	if n := len(eng.IDs()); n != 3 {
		t.Fatalf("%d files stored, want 3", n)
	}
	// A repeat whose content is short fails as an upload would.
	if _, err := f.Upload(ctx, u, fileops.Content{R: bytes.NewReader([]byte("he")), Size: 5}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("short repeat: %v", err)
	}
	// A bad key is INVALID_ARGUMENT.
	bad := u
	bad.IdempotencyKey = "has space"
	if e := apiErrorOf(t, mustErr(f.Upload(ctx, bad, content(nil)))); e.code != codes.InvalidArgument {
		t.Errorf("bad key: %v", e)
	}
}

func mustErr(_ string, err error) error { return err }

func TestIdempotencyFailureAndExpiry(t *testing.T) {
	eng := fileopstest.New()
	now := time.Unix(1000, 0)
	c := fileops.NewIdempotency(time.Hour, 2)
	c.Now = func() time.Time { return now }
	f := fileops.New(eng, nil).WithIdempotency(c)
	ctx := context.Background()
	u := fileops.Upload{Kind: fileops.Normal, IdempotencyKey: "k"}

	// A failed first upload is not remembered: the retry uploads.
	eng.Fail = failOn(fileopstest.OpUpload, errors.New("boom"))
	if _, err := f.Upload(ctx, u, content([]byte("x"))); err == nil {
		t.Fatal("upload did not fail")
	}
	eng.Fail = nil
	id, err := f.Upload(ctx, u, content([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour) // expired: a new upload
	if id2, err := f.Upload(ctx, u, content([]byte("x"))); err != nil || id2 == id {
		t.Fatalf("after the TTL: %q, %v", id2, err)
	}
	// Bounded: the oldest keys go first.
	for _, k := range []string{"a", "b", "c"} {
		u.IdempotencyKey = k
		if _, err := f.Upload(ctx, u, content([]byte("x"))); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 2 {
		t.Errorf("%d keys kept, want 2", c.Len())
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	eng := fileopstest.New()
	f := fileops.New(eng, nil)
	u := fileops.Upload{Kind: fileops.Normal, IdempotencyKey: "same"}
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := f.Upload(context.Background(), u, content([]byte("payload")))
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("ids %q differ", ids)
		}
	}
	if n := len(eng.IDs()); n != 1 {
		t.Fatalf("%d files stored", n)
	}
}
