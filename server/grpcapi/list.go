package grpcapi

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// ListFiles implements FileService.ListFiles.
func (s *FileService) ListFiles(ctx context.Context, req *fastdfsv1.ListFilesRequest) (*fastdfsv1.ListFilesResponse, error) {
	r := fileops.ListRequest{
		Group: req.GetGroup(), Storage: req.GetStorageId(), StorePath: -1, Prefix: req.GetPrefix(),
		Newest: req.GetOrder() == fastdfsv1.ListFilesOrder_LIST_FILES_ORDER_NEWEST,
		Ext:    req.GetExt(), MinSize: req.GetMinSize(), MaxSize: req.GetMaxSize(),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	}
	if req.StorePath != nil {
		r.StorePath = int(req.GetStorePath())
	}
	if req.GetStorePath() < 0 {
		return nil, s.fail("list files", "", invalid("store_path", "store_path must not be negative"))
	}
	if req.GetStorageId() != "" {
		if err := checkStorageID(req.GetStorageId()); err != nil {
			return nil, s.fail("list files", "", err)
		}
	}
	if req.CreatedAfter != nil {
		r.CreatedFrom = req.GetCreatedAfter().AsTime()
	}
	if req.CreatedBefore != nil {
		r.CreatedTo = req.GetCreatedBefore().AsTime()
	}
	page, err := s.files.ListFiles(ctx, r)
	if err != nil {
		return nil, s.fail("list files", "", err)
	}
	resp := &fastdfsv1.ListFilesResponse{NextPageToken: page.NextToken}
	for _, f := range page.Files {
		resp.Files = append(resp.Files, &fastdfsv1.ListedFile{
			FileId: f.FileID, Size: f.Size, CreateTime: timestamppb.New(time.Unix(f.Name.Timestamp, 0)),
			Crc32: f.Name.CRC32, Kind: kindOf(f.Name),
		})
	}
	return resp, nil
}

// kindOf is the API's kind of a parsed name.
func kindOf(n *fileid.Name) fastdfsv1.FileKind {
	switch {
	case n.Appender:
		return fastdfsv1.FileKind_FILE_KIND_APPENDER
	case n.Slave:
		return fastdfsv1.FileKind_FILE_KIND_SLAVE
	}
	return fastdfsv1.FileKind_FILE_KIND_NORMAL
}

// Scrubber is the part of the engine ScrubStorage uses; *client.Client
// implements it. An engine without it answers UNIMPLEMENTED.
type Scrubber interface {
	StorageAddr(ctx context.Context, group, storage string) (string, error)
	Scrub(ctx context.Context, addr string, req *protocol.ScrubRequest) (*protocol.ScrubReport, error)
}

var _ Scrubber = (*client.Client)(nil)

// ScrubStorage implements ClusterService.ScrubStorage.
func (s *ClusterService) ScrubStorage(ctx context.Context, req *fastdfsv1.ScrubStorageRequest) (*fastdfsv1.ScrubStorageResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, s.fail("scrub", "", err)
	}
	if err := checkStorageID(req.GetStorageId()); err != nil {
		return nil, s.fail("scrub", "", err)
	}
	if req.GetRate() < 0 {
		return nil, s.fail("scrub", "", invalid("rate", "rate must not be negative"))
	}
	sc, ok := s.cl.(Scrubber)
	if !ok {
		return nil, s.fail("scrub", "", fmt.Errorf("scrub: %w", protocol.ErrNotSupported))
	}
	addr, err := sc.StorageAddr(ctx, req.GetGroup(), req.GetStorageId())
	if err != nil {
		return nil, s.fail("scrub", "", err)
	}
	q := &protocol.ScrubRequest{Group: req.GetGroup(), Rate: req.GetRate()}
	if req.GetRun() {
		q.Flags = protocol.ScrubRunNow
	}
	r, err := sc.Scrub(ctx, addr, q)
	if err != nil {
		return nil, s.fail("scrub", "", err)
	}
	resp := &fastdfsv1.ScrubStorageResponse{
		Passes: r.Passes, Running: r.Running, Files: r.Files, Bytes: r.Bytes, Corrupt: r.Corrupt,
		Missing: r.Missing, Repaired: r.Repaired, Unrepaired: r.Unrepaired, LastPassTime: unixTime(r.LastPassAt),
	}
	for _, f := range r.Findings {
		problem := "corrupt"
		if f.Kind == protocol.ScrubMissing {
			problem = "missing"
		}
		resp.Findings = append(resp.Findings, &fastdfsv1.ScrubFinding{
			FileId: fileid.Join(req.GetGroup(), f.Name), Problem: problem,
			Repaired: f.Outcome == protocol.ScrubRepaired, Time: unixTime(f.Time),
		})
	}
	return resp, nil
}
