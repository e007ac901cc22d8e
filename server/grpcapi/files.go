package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// Engine is the part of the client engine the services use: the file
// operations (fileops.Engine) and the tracker queries of ClusterService
// and CreateDownloadUrl. *client.Client implements it.
type Engine interface {
	fileops.Engine
	QueryFetch(ctx context.Context, fileID string) (*client.Server, error)
	QueryFetchAll(ctx context.Context, fileID string) ([]client.Server, error)
	QueryUpdate(ctx context.Context, fileID string) (*client.Server, error)
	QueryStoreAll(ctx context.Context, group string) ([]client.Server, error)
	ListGroups(ctx context.Context) ([]protocol.GroupStat, error)
	ListStorages(ctx context.Context, group, storageID string) ([]protocol.StorageStat, error)
	DeleteStorage(ctx context.Context, group, storageID string) error
}

var _ Engine = (*client.Client)(nil)

// Options configure the services.
type Options struct {
	// Client is the engine every call goes through (required), usually a
	// *client.Client.
	Client Engine
	// Log receives one line per failed call; nil discards.
	Log *slog.Logger

	// HTTPBaseURL is the scheme and host of CreateDownloadUrl's URLs, e.g.
	// "https://files.example.com"; empty means "http://<ip>:<HTTPPort>" of a
	// storage server the tracker picks for reading the file.
	HTTPBaseURL string
	// HTTPPort is the storages' HTTP port (storage.conf http.server_port);
	// 0 means 8888.
	HTTPPort int
	// URLWithoutGroup leaves the group out of the URL path (storage.conf
	// url_have_group_name = false).
	URLWithoutGroup bool
	// TokenSecret enables anti-steal tokens in download URLs
	// (http.anti_steal.secret_key); empty creates URLs without a token.
	TokenSecret string
	// TokenTTL is the token lifetime the storages check
	// (http.anti_steal.token_ttl); it only sets expire_time in the reply.
	TokenTTL time.Duration
	// Now is the clock of the tokens; nil means time.Now.
	Now func() time.Time
	// Idempotency remembers the idempotency keys of uploads; the gateway
	// shares one with its REST routes. nil: the service has its own.
	Idempotency *fileops.Idempotency
	// Sessions are the resumable uploads; the gateway shares them with
	// its tus routes. nil: the service has its own, with a random secret
	// and no sweep.
	Sessions *fileops.Sessions
}

// Register registers FileService and ClusterService on s; with Codec they
// answer request messages that do not decode with INVALID_ARGUMENT
// (decode.go).
func Register(s grpc.ServiceRegistrar, opts Options) {
	s.RegisterService(strictDesc(&fastdfsv1.FileService_ServiceDesc), NewFileService(opts))
	s.RegisterService(strictDesc(&fastdfsv1.ClusterService_ServiceDesc), NewClusterService(opts))
}

// FileService implements fastdfsv1.FileServiceServer.
type FileService struct {
	fastdfsv1.UnimplementedFileServiceServer
	cl       Engine
	files    *fileops.Files
	sessions *fileops.Sessions
	log      *slog.Logger
	opts     Options
}

// NewFileService returns the FileService of opts.Client.
func NewFileService(opts Options) *FileService {
	if opts.HTTPPort == 0 {
		opts.HTTPPort = 8888
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := logger(opts.Log)
	files := fileops.New(opts.Client, log).WithIdempotency(opts.Idempotency)
	sessions := opts.Sessions
	if sessions == nil {
		sessions = fileops.NewSessions(files, fileops.SessionConfig{})
	}
	return &FileService{cl: opts.Client, files: files, sessions: sessions, log: log, opts: opts}
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// fail logs err and converts it with ToStatus.
func (s *FileService) fail(op, fileID string, err error) error {
	st := ToStatus(err, fileID)
	s.log.Debug("grpc call failed", "op", op, "file_id", fileID, "err", err)
	return st
}

// checkFileID validates a file ID locally, before anything reaches the
// cluster.
func checkFileID(id string) error {
	if id == "" {
		return invalid("file_id", "file_id is required")
	}
	if _, _, err := client.DecodeFileID(id); err != nil {
		return invalid("file_id", fmt.Sprintf("bad file_id %q: %s", fileops.EchoedID(id), fileops.ValidationText(err)))
	}
	return nil
}

func checkSize(name string, v int64) error {
	if v < 0 {
		return invalid(name, fmt.Sprintf("%s must not be negative, got %d", name, v))
	}
	return nil
}

// UploadFile implements FileService.UploadFile.
func (s *FileService) UploadFile(stream grpc.ClientStreamingServer[fastdfsv1.UploadFileRequest, fastdfsv1.UploadFileResponse]) error {
	spec, err := firstSpec[*fastdfsv1.UploadSpec](stream.Recv)
	if err != nil {
		return s.fail("upload", "", err)
	}
	if err := checkUploadSpec(spec); err != nil {
		return s.fail("upload", spec.GetMasterFileId(), err)
	}
	kind := fileops.Normal
	switch spec.GetKind() {
	case fastdfsv1.FileKind_FILE_KIND_APPENDER:
		kind = fileops.Appender
	case fastdfsv1.FileKind_FILE_KIND_SLAVE:
		kind = fileops.Slave
	}
	r := contentReader[*fastdfsv1.UploadSpec](spec.GetSize(), stream.Recv)
	c := r.content()
	// Content beyond the announced size is no fault of the master file.
	c.Finish = func() error { return ToStatus(r.finish(), "") }
	id, err := s.files.Upload(stream.Context(), fileops.Upload{
		Kind: kind, Group: spec.GetGroup(), Ext: spec.GetExt(), Meta: spec.GetMetadata(),
		Master: spec.GetMasterFileId(), Prefix: spec.GetPrefix(), IdempotencyKey: spec.GetIdempotencyKey(),
		Checksum: checksumOf(spec.GetChecksum()),
	}, c)
	if err != nil {
		return s.fail("upload", spec.GetMasterFileId(), err)
	}
	return stream.SendAndClose(&fastdfsv1.UploadFileResponse{FileId: id, Size: spec.GetSize()})
}

// checksumOf is the file operations' form of an upload's checksum.
func checksumOf(c *fastdfsv1.Checksum) *fileops.Checksum {
	if c == nil {
		return nil
	}
	return &fileops.Checksum{Algorithm: fileops.ChecksumAlgorithm(c.GetAlgorithm()), Value: c.GetValue(), Field: "checksum",
		Store: c.GetStoreInMetadata()}
}

func checkUploadSpec(spec *fastdfsv1.UploadSpec) error {
	if err := checkSize("size", spec.GetSize()); err != nil {
		return err
	}
	if g := spec.GetGroup(); g != "" && !fileid.ValidGroup(g) {
		return invalid("group", fmt.Sprintf("bad group %q", g))
	}
	if ext := spec.GetExt(); ext != "" {
		if err := fileid.ValidateExt(ext); err != nil {
			return invalid("ext", fmt.Sprintf("bad ext %q: %s", ext, fileops.ValidationText(err)))
		}
	}
	switch spec.GetKind() {
	case fastdfsv1.FileKind_FILE_KIND_UNSPECIFIED, fastdfsv1.FileKind_FILE_KIND_NORMAL, fastdfsv1.FileKind_FILE_KIND_APPENDER:
		if spec.GetMasterFileId() != "" {
			return invalid("master_file_id", "master_file_id and prefix are for slave files only")
		}
		if spec.GetPrefix() != "" {
			return invalid("prefix", "master_file_id and prefix are for slave files only")
		}
	case fastdfsv1.FileKind_FILE_KIND_SLAVE:
		if err := checkFileID(spec.GetMasterFileId()); err != nil {
			return err
		}
		if spec.GetPrefix() == "" {
			return invalid("prefix", "a slave file needs a prefix")
		}
	default:
		return invalid("kind", fmt.Sprintf("unknown kind %d", spec.GetKind()))
	}
	return nil
}

// AppendFile implements FileService.AppendFile.
func (s *FileService) AppendFile(stream grpc.ClientStreamingServer[fastdfsv1.AppendFileRequest, fastdfsv1.AppendFileResponse]) error {
	spec, err := firstSpec[*fastdfsv1.AppendSpec](stream.Recv)
	if err != nil {
		return s.fail("append", "", err)
	}
	id := spec.GetFileId()
	if err := checkFileID(id); err != nil {
		return s.fail("append", id, err)
	}
	if err := errors.Join(checkSize("size", spec.GetSize()), checkSize("expected_size", spec.GetExpectedSize())); err != nil {
		return s.fail("append", id, err)
	}
	r := contentReader[*fastdfsv1.AppendSpec](spec.GetSize(), stream.Recv)
	pre := fileops.Precondition{ExpectedSize: spec.ExpectedSize}
	if err := s.files.AppendIf(stream.Context(), id, pre, r.content()); err != nil {
		return s.fail("append", id, err)
	}
	return stream.SendAndClose(&fastdfsv1.AppendFileResponse{Size: spec.GetSize()})
}

// ModifyFile implements FileService.ModifyFile.
func (s *FileService) ModifyFile(stream grpc.ClientStreamingServer[fastdfsv1.ModifyFileRequest, fastdfsv1.ModifyFileResponse]) error {
	spec, err := firstSpec[*fastdfsv1.ModifySpec](stream.Recv)
	if err != nil {
		return s.fail("modify", "", err)
	}
	id := spec.GetFileId()
	if err := checkFileID(id); err != nil {
		return s.fail("modify", id, err)
	}
	if err := errors.Join(checkSize("offset", spec.GetOffset()), checkSize("size", spec.GetSize()), checkSize("expected_size", spec.GetExpectedSize())); err != nil {
		return s.fail("modify", id, err)
	}
	r := contentReader[*fastdfsv1.ModifySpec](spec.GetSize(), stream.Recv)
	pre := fileops.Precondition{ExpectedSize: spec.ExpectedSize}
	if err := s.files.ModifyIf(stream.Context(), id, spec.GetOffset(), pre, r.content()); err != nil {
		return s.fail("modify", id, err)
	}
	return stream.SendAndClose(&fastdfsv1.ModifyFileResponse{Size: spec.GetSize()})
}

// TruncateFile implements FileService.TruncateFile.
func (s *FileService) TruncateFile(ctx context.Context, req *fastdfsv1.TruncateFileRequest) (*fastdfsv1.TruncateFileResponse, error) {
	id := req.GetFileId()
	if err := errors.Join(checkFileID(id), checkSize("size", req.GetSize()), checkSize("expected_size", req.GetExpectedSize())); err != nil {
		return nil, s.fail("truncate", id, err)
	}
	pre := fileops.Precondition{ExpectedSize: req.ExpectedSize}
	if err := s.files.TruncateIf(ctx, id, req.GetSize(), pre); err != nil {
		return nil, s.fail("truncate", id, err)
	}
	return &fastdfsv1.TruncateFileResponse{}, nil
}

// ChecksumMetadata is the header metadata key of DownloadFile that
// carries the CRC32 of a normal file's whole content (8 hex digits, as in
// the file ID), ranged downloads included.
const ChecksumMetadata = "x-checksum-crc32"

// DownloadFile implements FileService.DownloadFile.
func (s *FileService) DownloadFile(req *fastdfsv1.DownloadFileRequest, stream grpc.ServerStreamingServer[fastdfsv1.DownloadFileResponse]) error {
	id := req.GetFileId()
	if err := errors.Join(checkFileID(id), checkSize("offset", req.GetOffset()), checkSize("length", req.GetLength())); err != nil {
		return s.fail("download", id, err)
	}
	if _, n, _ := client.DecodeFileID(id); client.FileType(n) == "normal" {
		// The ID encodes the CRC32 of a normal file's content; sent as
		// header metadata before the first chunk.
		if err := stream.SetHeader(metadata.Pairs(ChecksumMetadata, fmt.Sprintf("%08x", n.CRC32))); err != nil {
			return s.fail("download", id, err)
		}
	}
	w := newChunkWriter(func(bp *[]byte) (bool, error) {
		msg := &outChunk{DownloadFileResponse: &fastdfsv1.DownloadFileResponse{Chunk: *bp}, bp: bp}
		err := stream.SendMsg(msg)
		return msg.handedOff, err
	})
	defer w.release()
	_, err := s.files.Download(stream.Context(), id, req.GetOffset(), req.GetLength(), w)
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return s.fail("download", id, err)
	}
	return nil
}

// DeleteFile implements FileService.DeleteFile.
func (s *FileService) DeleteFile(ctx context.Context, req *fastdfsv1.DeleteFileRequest) (*fastdfsv1.DeleteFileResponse, error) {
	id := req.GetFileId()
	if err := checkFileID(id); err != nil {
		return nil, s.fail("delete", id, err)
	}
	ifMatch, err := ifMatchOf(ctx, req.GetIfMatch())
	if err != nil {
		return nil, s.fail("delete", id, err)
	}
	if err := s.files.DeleteIf(ctx, id, fileops.Precondition{IfMatch: ifMatch}); err != nil {
		return nil, s.fail("delete", id, err)
	}
	return &fastdfsv1.DeleteFileResponse{}, nil
}

// GetFileInfo implements FileService.GetFileInfo.
func (s *FileService) GetFileInfo(ctx context.Context, req *fastdfsv1.GetFileInfoRequest) (*fastdfsv1.GetFileInfoResponse, error) {
	id := req.GetFileId()
	if err := checkFileID(id); err != nil {
		return nil, s.fail("file info", id, err)
	}
	fi, err := s.files.Info(ctx, id)
	if err != nil {
		return nil, s.fail("file info", id, err)
	}
	kind := kindOf(fi.Name)
	return &fastdfsv1.GetFileInfoResponse{File: &fastdfsv1.FileInfo{
		FileId:     id,
		Group:      fi.Group,
		Size:       fi.Size,
		CreateTime: timestamppb.New(fi.CreateTime),
		Crc32:      fi.CRC32,
		SourceIp:   fi.SourceIP,
		Kind:       kind,
		Trunk:      fi.Name.Trunk,
		Etag:       fileops.ETag(fi),
	}}, nil
}

// SetMetadata implements FileService.SetMetadata.
func (s *FileService) SetMetadata(ctx context.Context, req *fastdfsv1.SetMetadataRequest) (*fastdfsv1.SetMetadataResponse, error) {
	id := req.GetFileId()
	if err := checkFileID(id); err != nil {
		return nil, s.fail("set metadata", id, err)
	}
	var flag byte
	switch req.GetMode() {
	case fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE:
		flag = protocol.MetaOverwrite
	case fastdfsv1.SetMetadataMode_SET_METADATA_MODE_MERGE:
		flag = protocol.MetaMerge
	default:
		return nil, s.fail("set metadata", id, invalid("mode", "mode must be OVERWRITE or MERGE"))
	}
	ifMatch, err := ifMatchOf(ctx, req.GetIfMatch())
	if err != nil {
		return nil, s.fail("set metadata", id, err)
	}
	if err := s.files.SetMetadataIf(ctx, id, req.GetMetadata(), flag, fileops.Precondition{IfMatch: ifMatch}); err != nil {
		return nil, s.fail("set metadata", id, err)
	}
	return &fastdfsv1.SetMetadataResponse{}, nil
}

// GetMetadata implements FileService.GetMetadata; a file without metadata
// has empty metadata (fileops.Files.GetMetadata).
func (s *FileService) GetMetadata(ctx context.Context, req *fastdfsv1.GetMetadataRequest) (*fastdfsv1.GetMetadataResponse, error) {
	id := req.GetFileId()
	if err := checkFileID(id); err != nil {
		return nil, s.fail("get metadata", id, err)
	}
	meta, err := s.files.GetMetadata(ctx, id)
	if err != nil {
		return nil, s.fail("get metadata", id, err)
	}
	return &fastdfsv1.GetMetadataResponse{Metadata: meta}, nil
}

// RegenerateAppenderFile implements FileService.RegenerateAppenderFile.
func (s *FileService) RegenerateAppenderFile(ctx context.Context, req *fastdfsv1.RegenerateAppenderFileRequest) (*fastdfsv1.RegenerateAppenderFileResponse, error) {
	id := req.GetFileId()
	if err := checkFileID(id); err != nil {
		return nil, s.fail("regenerate appender", id, err)
	}
	newID, err := s.files.RegenerateAppender(ctx, id)
	if err != nil {
		return nil, s.fail("regenerate appender", id, err)
	}
	return &fastdfsv1.RegenerateAppenderFileResponse{FileId: newID}, nil
}

// CreateDownloadUrl implements FileService.CreateDownloadUrl. It checks that
// the file exists, asks the tracker for a storage that serves it (unless
// HTTPBaseURL is set) and signs the path as fastdfs-nginx-module expects.
func (s *FileService) CreateDownloadUrl(ctx context.Context, req *fastdfsv1.CreateDownloadUrlRequest) (*fastdfsv1.CreateDownloadUrlResponse, error) {
	id := req.GetFileId()
	if err := checkFileID(id); err != nil {
		return nil, s.fail("create download url", id, err)
	}
	if _, err := s.files.Info(ctx, id); err != nil {
		return nil, s.fail("create download url", id, err)
	}
	base := s.opts.HTTPBaseURL
	if base == "" {
		srv, err := s.cl.QueryFetch(ctx, id)
		if err != nil {
			return nil, s.fail("create download url", id, err)
		}
		base = "http://" + hostPort(srv.IP, s.opts.HTTPPort)
	}
	group, name, err := fileid.Split(id)
	if err != nil {
		return nil, s.fail("create download url", id, invalid("file_id", err.Error()))
	}
	path := "/" + group + "/" + name
	if s.opts.URLWithoutGroup {
		path = "/" + name
	}
	resp := &fastdfsv1.CreateDownloadUrlResponse{Url: base + path}
	if s.opts.TokenSecret != "" {
		now := s.opts.Now()
		ts := now.Unix()
		q := url.Values{}
		q.Set("token", httptoken.Make(name, s.opts.TokenSecret, ts))
		q.Set("ts", strconv.FormatInt(ts, 10))
		resp.Url += "?" + q.Encode()
		if s.opts.TokenTTL > 0 {
			resp.ExpireTime = timestamppb.New(time.Unix(ts, 0).Add(s.opts.TokenTTL))
		}
	}
	return resp, nil
}

// ifMatchHeader is the incoming metadata the REST routes' If-Match header
// arrives as (grpc-gateway forwards it with its "grpcgateway-" prefix).
const ifMatchHeader = "grpcgateway-if-match"

// ifMatchOf is the If-Match of a request: its if_match field, or the REST
// route's If-Match header; both set and different is INVALID_ARGUMENT.
func ifMatchOf(ctx context.Context, field string) (string, error) {
	var hdr string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ifMatchHeader); len(v) > 0 {
			hdr = strings.Join(v, ", ")
		}
	}
	switch {
	case hdr == "" || hdr == field:
		return field, nil
	case field == "":
		return hdr, nil
	}
	return "", invalid("if_match", "the if_match field and the If-Match header differ")
}
