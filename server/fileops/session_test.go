package fileops_test

import (
	"context"
	"encoding/base64"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/fileops/fileopstest"
)

// clock is a settable clock for the sessions' expiry.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(c.now.Load(), 0) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d / time.Second)) }

func newSessions(t *testing.T, secret string, dir string) (*fileops.Sessions, *fileopstest.Engine, *clock) {
	t.Helper()
	eng := fileopstest.New()
	c := &clock{}
	c.now.Store(1_700_000_000)
	s := fileops.NewSessions(fileops.New(eng, nil), fileops.SessionConfig{
		Secret: []byte(secret), TTL: time.Hour, RecordDir: dir, Now: c.Now, SegmentSize: 4,
	})
	return s, eng, c
}

func write(t *testing.T, s *fileops.Sessions, token string, off int64, data string) error {
	t.Helper()
	w, err := s.Open(context.Background(), token, off)
	if err != nil {
		return err
	}
	return w.CommitSegments(context.Background(), fileops.Content{R: strings.NewReader(data), Size: int64(len(data))})
}

// TestSessionTokens refuses every token that is not exactly one this
// secret signed: damaged, truncated, extended, re-signed with another
// secret, or naming a file that is not an appender file.
func TestSessionTokens(t *testing.T) {
	s, eng, _ := newSessions(t, "secret-one-0123456789", "")
	other, _, _ := newSessions(t, "secret-two-0123456789", "")
	ctx := context.Background()
	sess, err := s.Create(ctx, fileops.SessionSpec{Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	normal := eng.Put(fileops.Normal, "txt", []byte("x"), nil)
	raw, _ := base64.RawURLEncoding.DecodeString(sess.Token)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x40
		return base64.RawURLEncoding.EncodeToString(b)
	}
	withID := func(id string) string {
		b := append(append([]byte(nil), raw[:9]...), id...)
		return base64.RawURLEncoding.EncodeToString(append(b, raw[len(raw)-16:]...))
	}
	for name, tok := range map[string]string{
		"empty":            "",
		"not base64":       "!!!",
		"truncated":        sess.Token[:len(sess.Token)-4],
		"extended":         sess.Token + "AAAA",
		"version":          flip(0),
		"expiry":           flip(3),
		"file ID":          flip(12),
		"MAC":              flip(len(raw) - 1),
		"other file":       withID(normal),
		"too long":         strings.Repeat("A", 300),
		"path in the name": "../../etc/passwd",
	} {
		if _, err := s.Get(ctx, tok); fileops.Reason(err) != fileops.ReasonSessionNotFound {
			t.Errorf("%s: %v, want %s", name, err, fileops.ReasonSessionNotFound)
		}
	}
	if _, err := other.Get(ctx, sess.Token); fileops.Reason(err) != fileops.ReasonSessionNotFound {
		t.Errorf("another secret: %v", err)
	}
	if _, err := s.Get(ctx, sess.Token); err != nil {
		t.Fatalf("the token itself: %v", err)
	}
}

// TestSessionWrites checks the committed offset: writes land at it only,
// in segments, never beyond the declared size, and a finished session
// takes nothing more.
func TestSessionWrites(t *testing.T) {
	s, eng, _ := newSessions(t, "secret-one-0123456789", "")
	ctx := context.Background()
	sess, err := s.Create(ctx, fileops.SessionSpec{Size: 10, Meta: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		off    int64
		data   string
		reason string
	}{
		{0, "hello", ""},
		{0, "hello", fileops.ReasonOffsetMismatch}, // a repeat after a lost reply
		{7, "xyz", fileops.ReasonOffsetMismatch},
		{5, "world!", fileops.ReasonSizeTooLarge},
		{5, "world", ""},
	}
	for _, st := range steps {
		if err := write(t, s, sess.Token, st.off, st.data); fileops.Reason(err) != st.reason {
			t.Fatalf("write %q at %d: %v, want reason %q", st.data, st.off, err, st.reason)
		}
	}
	fin, err := s.Finish(ctx, sess.Token, nil)
	if err != nil || !fin.Finished || fin.Offset != 10 {
		t.Fatalf("finish: %+v, %v", fin, err)
	}
	data, meta, _ := eng.File(sess.FileID)
	if string(data) != "helloworld" || len(meta) != 1 || meta["k"] != "v" {
		t.Fatalf("file %q, metadata %v", data, meta)
	}
	if err := write(t, s, sess.Token, 10, "x"); fileops.Reason(err) != fileops.ReasonSessionFinished {
		t.Fatalf("write after finish: %v", err)
	}
}

// TestSessionExpirySweep expires sessions on a fake clock: the sweep
// deletes the files of the expired unfinished ones only and drops every
// record it has no more use for.
func TestSessionExpirySweep(t *testing.T) {
	dir := t.TempDir()
	s, eng, clk := newSessions(t, "secret-one-0123456789", dir)
	ctx := context.Background()
	var ids []string
	for range 3 {
		sess, err := s.Create(ctx, fileops.SessionSpec{Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sess.FileID)
		if err := write(t, s, sess.Token, 0, "ab"); err != nil {
			t.Fatal(err)
		}
		if len(ids) == 1 {
			if _, err := s.Finish(ctx, sess.Token, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("sweep before the expiry: %d, %v", n, err)
	}
	clk.Advance(time.Hour)
	if n, err := s.Sweep(ctx); n != 2 || err != nil {
		t.Fatalf("sweep after the expiry: %d, %v, want 2", n, err)
	}
	if _, _, ok := eng.File(ids[0]); !ok {
		t.Fatal("the finished upload was deleted")
	}
	for _, id := range ids[1:] {
		if _, _, ok := eng.File(id); ok {
			t.Fatalf("%s outlived its session", id)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("records left: %v", ents)
	}
}
