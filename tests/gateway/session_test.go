package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/gateway"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// sessionSecret is the uploads.secret the gateways of these tests share.
const sessionSecret = "test-upload-session-secret-0123456789"

func withSecret(cfg *config.Config) { cfg.Uploads.Secret = sessionSecret }

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func sessionClient(t testing.TB, gw *gateway.Gateway) fastdfsv1.FileServiceClient {
	e := &env{gw: gw}
	return e.files(t)
}

// createSession starts a session of size bytes (-1: unknown).
func createSession(t *testing.T, fs fastdfsv1.FileServiceClient, size int64, meta map[string]string) *fastdfsv1.UploadSession {
	t.Helper()
	req := &fastdfsv1.CreateUploadSessionRequest{Ext: "bin", Metadata: meta}
	if size >= 0 {
		req.Size = &size
	}
	resp, err := fs.CreateUploadSession(withKey(opCtx(t), rwKey), req)
	if err != nil {
		t.Fatalf("create upload session: %v", err)
	}
	return resp.GetSession()
}

// writeSession sends spec and then data in chunks of chunk bytes; stop,
// when not nil, is called after each chunk and ends the stream (without
// closing it) when it returns true.
func writeSession(ctx context.Context, fs fastdfsv1.FileServiceClient, spec *fastdfsv1.WriteUploadSpec, data []byte, chunk int, stop func(sent int) bool) (int64, error) {
	st, err := fs.WriteUploadSession(withKey(ctx, rwKey))
	if err != nil {
		return 0, err
	}
	if err := st.Send(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Spec{Spec: spec}}); err != nil {
		return 0, recvAfterSend(st, err)
	}
	sent := 0
	for _, c := range chunksOf(data, chunk) {
		if err := st.Send(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Chunk{Chunk: c}}); err != nil {
			return 0, recvAfterSend(st, err)
		}
		sent += len(c)
		if stop != nil && stop(sent) {
			return 0, errStopped
		}
	}
	resp, err := st.CloseAndRecv()
	return resp.GetCommittedOffset(), err
}

var errStopped = errors.New("stopped by the test")

func recvAfterSend(st fastdfsv1.FileService_WriteUploadSessionClient, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	_, err = st.CloseAndRecv()
	return err
}

func chunksOf(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		m := min(n, len(b))
		out, b = append(out, b[:m]), b[m:]
	}
	return out
}

func committed(t *testing.T, fs fastdfsv1.FileServiceClient, token string) int64 {
	t.Helper()
	resp, err := fs.GetUploadSession(withKey(opCtx(t), rwKey), &fastdfsv1.GetUploadSessionRequest{Token: token})
	if err != nil {
		t.Fatalf("get upload session: %v", err)
	}
	return resp.GetSession().GetCommittedOffset()
}

// resumeAndFinish writes data from the committed offset on, finishes the
// session and checks the stored file is data, byte for byte.
func resumeAndFinish(t *testing.T, e *env, fs fastdfsv1.FileServiceClient, token string, data []byte) string {
	t.Helper()
	off := committed(t, fs, token)
	if off > int64(len(data)) {
		t.Fatalf("committed offset %d beyond the %d bytes sent", off, len(data))
	}
	got, err := writeSession(opCtx(t), fs, &fastdfsv1.WriteUploadSpec{Token: token, Offset: off}, data[off:], 256<<10, nil)
	if err != nil || got != int64(len(data)) {
		t.Fatalf("resume at %d: committed %d, %v", off, got, err)
	}
	fin, err := fs.FinishUploadSession(withKey(opCtx(t), rwKey), &fastdfsv1.FinishUploadSessionRequest{Token: token})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if fin.GetSize() != int64(len(data)) {
		t.Fatalf("finish: size %d, want %d", fin.GetSize(), len(data))
	}
	_, b := e.download(t, fin.GetFileId(), nil)
	if !bytes.Equal(b, data) {
		t.Fatalf("stored file has %d bytes (sha1 %x), want %d (sha1 %x)", len(b), sha1.Sum(b), len(data), sha1.Sum(data))
	}
	return fin.GetFileId()
}

// TestSessionResumeAfterInterruptions interrupts a session's writes in
// the three places the issue names (the client cancels its stream, the
// gateway restarts, the storage restarts) and resumes each time from the
// committed offset; the stored file must be the content exactly once.
func TestSessionResumeAfterInterruptions(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	gw := startGateway(t, c, withSecret)
	e := &env{c: c, gw: gw}
	fs := sessionClient(t, gw)
	data := randomBytes(t, 3<<20+12345)
	sess := createSession(t, fs, int64(len(data)), map[string]string{"owner": "test"})
	token := sess.GetToken()

	// 1. The client cancels its stream after 1 MiB.
	ctx, cancel := context.WithCancel(opCtx(t))
	_, err := writeSession(ctx, fs, &fastdfsv1.WriteUploadSpec{Token: token}, data, 256<<10, func(sent int) bool { return sent >= 1<<20 })
	cancel()
	if !errors.Is(err, errStopped) {
		t.Fatalf("interrupted write: %v", err)
	}
	off := committed(t, fs, token)
	t.Logf("after the client's cancel: %d bytes committed", off)

	// 2. The gateway restarts (another process with the same secret would
	// do the same); the token still names the session.
	gw.Close()
	gw = startGateway(t, c, withSecret)
	fs = sessionClient(t, gw)
	e.gw = gw
	off2 := committed(t, fs, token)
	if off2 < off {
		t.Fatalf("committed offset went back from %d to %d across a gateway restart", off, off2)
	}
	end := min(off2+1<<20, int64(len(data)))
	if _, err := writeSession(opCtx(t), fs, &fastdfsv1.WriteUploadSpec{Token: token, Offset: off2}, data[off2:end], 256<<10, nil); err != nil {
		t.Fatalf("write after the gateway restart: %v", err)
	}

	// 3. The storage stops (the session is unavailable, not gone) and
	// comes back.
	c.StopStorage(0)
	_, err = fs.GetUploadSession(withKey(opCtx(t), rwKey), &fastdfsv1.GetUploadSessionRequest{Token: token})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("session with its storage down: %v, want UNAVAILABLE", err)
	}
	c.RestartStorage(0)
	id := resumeAndFinish(t, e, fs, token, data)

	meta, err := fs.GetMetadata(withKey(opCtx(t), rwKey), &fastdfsv1.GetMetadataRequest{FileId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got := meta.GetMetadata(); len(got) != 1 || got["owner"] != "test" {
		t.Fatalf("metadata of the finished upload: %v, want only owner=test", got)
	}
	// Finishing again answers the same file.
	fin, err := fs.FinishUploadSession(withKey(opCtx(t), rwKey), &fastdfsv1.FinishUploadSessionRequest{Token: token})
	if err != nil || fin.GetFileId() != id {
		t.Fatalf("second finish: %v, %v", fin, err)
	}
}

// TestSessionTwoGateways writes one session through two gateways sharing
// the secret, as behind a load balancer.
func TestSessionTwoGateways(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	e := &env{c: c, gw: startGateway(t, c, withSecret)}
	fs1, fs2 := sessionClient(t, e.gw), sessionClient(t, startGateway(t, c, withSecret))
	data := randomBytes(t, 1<<20)
	sess := createSession(t, fs1, -1, nil)
	if _, err := writeSession(opCtx(t), fs1, &fastdfsv1.WriteUploadSpec{Token: sess.GetToken()}, data[:400<<10], 64<<10, nil); err != nil {
		t.Fatal(err)
	}
	resumeAndFinish(t, e, fs2, sess.GetToken(), data)
}

// TestSessionBadInput checks every refusal of the session methods names
// the problem with its code and reason, and changes nothing.
func TestSessionBadInput(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	e := &env{c: c, gw: startGateway(t, c, func(cfg *config.Config) {
		withSecret(cfg)
		cfg.Limits.MaxUploadSize = 1 << 20
	})}
	fs := e.files(t)
	other := sessionClient(t, startGateway(t, c, func(cfg *config.Config) { cfg.Uploads.Secret = "another-secret-of-another-cluster" }))
	data := randomBytes(t, 300<<10)
	sess := createSession(t, fs, int64(len(data)), nil)
	tok := sess.GetToken()
	if _, err := writeSession(opCtx(t), fs, &fastdfsv1.WriteUploadSpec{Token: tok}, data[:100<<10], 64<<10, nil); err != nil {
		t.Fatal(err)
	}
	forged := []byte(tok)
	forged[len(forged)/2] ^= 1
	sha := sha1.Sum(data[100<<10:])
	badSum := sha1.Sum([]byte("something else"))
	ctx := withKey(opCtx(t), rwKey)
	// One chunk per write: a chunk is committed whole or not at all.
	write := func(spec *fastdfsv1.WriteUploadSpec, b []byte) error {
		_, err := writeSession(opCtx(t), fs, spec, b, len(b), nil)
		return err
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
	}{
		{"stale offset", func() error { return write(&fastdfsv1.WriteUploadSpec{Token: tok, Offset: 0}, data[:10]) }, codes.FailedPrecondition, fileops.ReasonOffsetMismatch},
		{"offset ahead", func() error { return write(&fastdfsv1.WriteUploadSpec{Token: tok, Offset: 200 << 10}, data[:10]) }, codes.FailedPrecondition, fileops.ReasonOffsetMismatch},
		{"beyond the size", func() error {
			return write(&fastdfsv1.WriteUploadSpec{Token: tok, Offset: 100 << 10}, randomBytes(t, 250<<10))
		}, codes.OutOfRange, fileops.ReasonSizeTooLarge},
		{"checksum mismatch", func() error {
			return write(&fastdfsv1.WriteUploadSpec{Token: tok, Offset: 100 << 10, Checksum: &fastdfsv1.Checksum{
				Algorithm: fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1, Value: badSum[:]}}, data[100<<10:])
		}, codes.InvalidArgument, fileops.ReasonChecksumMismatch},
		{"forged token", func() error { return write(&fastdfsv1.WriteUploadSpec{Token: string(forged)}, data[:10]) }, codes.NotFound, fileops.ReasonSessionNotFound},
		{"garbage token", func() error {
			_, err := fs.GetUploadSession(ctx, &fastdfsv1.GetUploadSessionRequest{Token: "../../etc/passwd"})
			return err
		}, codes.NotFound, fileops.ReasonSessionNotFound},
		{"another gateway's secret", func() error {
			_, err := other.GetUploadSession(ctx, &fastdfsv1.GetUploadSessionRequest{Token: tok})
			return err
		}, codes.NotFound, fileops.ReasonSessionNotFound},
		{"finish before the end", func() error {
			_, err := fs.FinishUploadSession(ctx, &fastdfsv1.FinishUploadSessionRequest{Token: tok})
			return err
		}, codes.FailedPrecondition, "UPLOAD_INCOMPLETE"},
		{"oversize session", func() error {
			size := int64(2 << 20)
			_, err := fs.CreateUploadSession(ctx, &fastdfsv1.CreateUploadSessionRequest{Size: &size})
			return err
		}, codes.ResourceExhausted, "UPLOAD_TOO_LARGE"},
		{"reserved metadata", func() error {
			_, err := fs.CreateUploadSession(ctx, &fastdfsv1.CreateUploadSessionRequest{Metadata: map[string]string{"fdfs-upload-expires": "1"}})
			return err
		}, codes.InvalidArgument, fileops.ReasonInvalidArgument},
		{"read-only key", func() error {
			_, err := fs.GetUploadSession(withKey(opCtx(t), roKey), &fastdfsv1.GetUploadSessionRequest{Token: tok})
			return err
		}, codes.PermissionDenied, "API_KEY_READ_ONLY"},
		{"reserved metadata on a file", func() error {
			_, err := fs.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: sess.GetFileId(), Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_MERGE,
				Metadata: map[string]string{"fdfs-upload-expires": "1"}})
			return err
		}, codes.InvalidArgument, fileops.ReasonInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code || fileops.Reason(err) != tc.reason {
				t.Fatalf("got %v (reason %q), want %v %s", err, fileops.Reason(err), tc.code, tc.reason)
			}
			if !strings.Contains(status.Convert(err).Message(), " ") {
				t.Fatalf("message %q says nothing", status.Convert(err).Message())
			}
		})
	}
	if off := committed(t, fs, tok); off != 100<<10 {
		t.Fatalf("refused writes changed the committed offset: %d, want %d", off, 100<<10)
	}
	// The rest with the right checksum goes in.
	got, err := writeSession(opCtx(t), fs, &fastdfsv1.WriteUploadSpec{Token: tok, Offset: 100 << 10, Checksum: &fastdfsv1.Checksum{
		Algorithm: fastdfsv1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1, Value: sha[:]}}, data[100<<10:], 64<<10, nil)
	if err != nil || got != int64(len(data)) {
		t.Fatalf("checksummed write: %d, %v", got, err)
	}
	resumeAndFinish(t, e, fs, tok, data)
	if _, err := fs.CancelUploadSession(ctx, &fastdfsv1.CancelUploadSessionRequest{Token: tok}); fileops.Reason(err) != fileops.ReasonSessionFinished {
		t.Fatalf("cancel of a finished session: %v", err)
	}
}

// TestSessionExpiry lets sessions expire: the sweep deletes the file of
// one nobody touches, a request naming an expired one deletes it too, and
// a finished upload is kept.
func TestSessionExpiry(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	dir := t.TempDir()
	gw := startGateway(t, c, func(cfg *config.Config) {
		withSecret(cfg)
		cfg.Uploads.SessionTTL = 2 * time.Second
		cfg.Uploads.SessionDir = dir
		cfg.Uploads.SweepInterval = 200 * time.Millisecond
	})
	e := &env{c: c, gw: gw}
	fs := e.files(t)
	data := randomBytes(t, 64<<10)
	swept := createSession(t, fs, -1, nil)
	touched := createSession(t, fs, -1, nil)
	done := createSession(t, fs, int64(len(data)), nil)
	for _, s := range []*fastdfsv1.UploadSession{swept, touched} {
		if _, err := writeSession(opCtx(t), fs, &fastdfsv1.WriteUploadSpec{Token: s.GetToken()}, data, 64<<10, nil); err != nil {
			t.Fatal(err)
		}
	}
	// touched expires 2 s after its write at the latest; swept, written
	// before it, may be swept before then (once under CI load touched
	// was then still alive).
	touchedExpired := time.Now().Add(2 * time.Second)
	finished := resumeAndFinish(t, e, fs, done.GetToken(), data)
	ctx := withKey(opCtx(t), rwKey)
	gone := func(id string) bool {
		_, err := fs.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: id})
		return status.Code(err) == codes.NotFound
	}
	// The sweep reclaims swept; touched is reclaimed by the first request
	// after its expiry, whichever comes first.
	testwait.Until(t, time.Minute, "the sweep deletes the expired session's file", func() bool { return gone(swept.GetFileId()) })
	time.Sleep(time.Until(touchedExpired))
	_, err := fs.GetUploadSession(ctx, &fastdfsv1.GetUploadSessionRequest{Token: touched.GetToken()})
	if fileops.Reason(err) != fileops.ReasonSessionExpired {
		t.Fatalf("expired session: %v, want %s", err, fileops.ReasonSessionExpired)
	}
	if !gone(touched.GetFileId()) {
		t.Fatal("the expired session's file is still there")
	}
	if gone(finished) {
		t.Fatal("the finished upload was deleted")
	}
	if resp, b := tus(t, "HEAD", e.url("/v1/uploads/"+swept.GetToken()), rwKey, nil, nil); resp.StatusCode != 410 {
		t.Fatalf("tus HEAD of an expired upload: %s %s, want 410", resp.Status, b)
	}
	if _, err := fs.GetUploadSession(ctx, &fastdfsv1.GetUploadSessionRequest{Token: done.GetToken()}); err != nil {
		t.Fatalf("finished session after its expiry: %v", err)
	}
	testwait.Until(t, time.Minute, "the sweep drops its records", func() bool {
		ents, err := os.ReadDir(dir)
		return err == nil && len(ents) == 0
	})
}
