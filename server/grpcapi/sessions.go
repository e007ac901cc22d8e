package grpcapi

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// sessionProto is the API's view of a session.
func sessionProto(s *fileops.Session) *fastdfsv1.UploadSession {
	p := &fastdfsv1.UploadSession{
		Token: s.Token, FileId: s.FileID, CommittedOffset: s.Offset,
		ExpireTime: timestamppb.New(s.Expires), Finished: s.Finished, Metadata: s.Meta,
	}
	if s.Size >= 0 {
		size := s.Size
		p.Size = &size
	}
	return p
}

// CreateUploadSession implements FileService.CreateUploadSession.
func (s *FileService) CreateUploadSession(ctx context.Context, req *fastdfsv1.CreateUploadSessionRequest) (*fastdfsv1.CreateUploadSessionResponse, error) {
	if g := req.GetGroup(); g != "" && !fileid.ValidGroup(g) {
		return nil, s.fail("create upload session", "", invalid("group", fmt.Sprintf("bad group %q", g)))
	}
	if ext := req.GetExt(); ext != "" {
		if err := fileid.ValidateExt(ext); err != nil {
			return nil, s.fail("create upload session", "", invalid("ext", fmt.Sprintf("bad ext %q: %s", ext, fileops.ValidationText(err))))
		}
	}
	spec := fileops.SessionSpec{Group: req.GetGroup(), Ext: req.GetExt(), Meta: req.GetMetadata(), Size: -1, CRC32: req.Crc32}
	if req.Size != nil {
		if err := checkSize("size", req.GetSize()); err != nil {
			return nil, s.fail("create upload session", "", err)
		}
		spec.Size = req.GetSize()
	}
	sess, err := s.sessions.Create(ctx, spec)
	if err != nil {
		return nil, s.fail("create upload session", "", err)
	}
	return &fastdfsv1.CreateUploadSessionResponse{Session: sessionProto(sess)}, nil
}

// GetUploadSession implements FileService.GetUploadSession.
func (s *FileService) GetUploadSession(ctx context.Context, req *fastdfsv1.GetUploadSessionRequest) (*fastdfsv1.GetUploadSessionResponse, error) {
	sess, err := s.sessions.Get(ctx, req.GetToken())
	if err != nil {
		return nil, s.fail("get upload session", "", err)
	}
	return &fastdfsv1.GetUploadSessionResponse{Session: sessionProto(sess)}, nil
}

// FinishUploadSession implements FileService.FinishUploadSession.
func (s *FileService) FinishUploadSession(ctx context.Context, req *fastdfsv1.FinishUploadSessionRequest) (*fastdfsv1.FinishUploadSessionResponse, error) {
	if req.Size != nil {
		if err := checkSize("size", req.GetSize()); err != nil {
			return nil, s.fail("finish upload session", "", err)
		}
	}
	sess, err := s.sessions.Finish(ctx, req.GetToken(), req.Size)
	if err != nil {
		return nil, s.fail("finish upload session", "", err)
	}
	return &fastdfsv1.FinishUploadSessionResponse{FileId: sess.FileID, Size: sess.Offset}, nil
}

// CancelUploadSession implements FileService.CancelUploadSession.
func (s *FileService) CancelUploadSession(ctx context.Context, req *fastdfsv1.CancelUploadSessionRequest) (*fastdfsv1.CancelUploadSessionResponse, error) {
	if err := s.sessions.Cancel(ctx, req.GetToken()); err != nil {
		return nil, s.fail("cancel upload session", "", err)
	}
	return &fastdfsv1.CancelUploadSessionResponse{}, nil
}

// WriteUploadSession implements FileService.WriteUploadSession. Without a
// checksum every chunk is committed as it arrives, so a stream broken
// anywhere keeps the chunks before the break; with one, the whole stream
// is verified first and committed only if it matches.
func (s *FileService) WriteUploadSession(stream grpc.ClientStreamingServer[fastdfsv1.WriteUploadSessionRequest, fastdfsv1.WriteUploadSessionResponse]) error {
	const op = "write upload session"
	spec, err := firstSpec[*fastdfsv1.WriteUploadSpec](stream.Recv)
	if err != nil {
		return s.fail(op, "", err)
	}
	if err := checkSize("offset", spec.GetOffset()); err != nil {
		return s.fail(op, "", err)
	}
	sum := checksumOf(spec.GetChecksum())
	ctx := stream.Context()
	w, err := s.sessions.Open(ctx, spec.GetToken(), spec.GetOffset())
	if err != nil {
		return s.fail(op, "", err)
	}
	next := func() ([]byte, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if m.GetSpec() != nil {
			return nil, invalid("spec", "only the first message may carry the spec")
		}
		if len(m.GetChunk()) > MaxChunkSize {
			return nil, invalid("chunk", fmt.Sprintf("chunk of %d bytes exceeds the maximum of %d", len(m.GetChunk()), MaxChunkSize))
		}
		return m.GetChunk(), nil
	}
	if sum != nil {
		r := &streamReader{next: next}
		err = w.CommitChecked(ctx, fileops.Content{R: r, Size: -1, Failed: func() error { return r.err }}, sum)
	} else {
		err = commitChunks(ctx, w, next)
	}
	if err != nil {
		return s.fail(op, w.Session().FileID, err)
	}
	return stream.SendAndClose(&fastdfsv1.WriteUploadSessionResponse{CommittedOffset: w.Session().Offset})
}

// commitChunks commits each chunk next returns until the stream ends.
func commitChunks(ctx context.Context, w *fileops.Writer, next func() ([]byte, error)) error {
	for {
		chunk, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.Commit(ctx, fileops.Content{R: &chunkBytes{b: chunk}, Size: int64(len(chunk))}); err != nil {
			return err
		}
	}
}

// chunkBytes reads one chunk.
type chunkBytes struct{ b []byte }

func (c *chunkBytes) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.b)
	c.b = c.b[n:]
	return n, nil
}

// streamReader reads the chunks of a stream to its end, recording the
// stream's own failure.
type streamReader struct {
	next func() ([]byte, error)
	buf  []byte
	err  error
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		chunk, err := r.next()
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		r.buf = chunk
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
