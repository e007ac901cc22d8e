package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// ClusterService implements fastdfsv1.ClusterServiceServer.
type ClusterService struct {
	fastdfsv1.UnimplementedClusterServiceServer
	cl  Engine
	log *slog.Logger
}

// NewClusterService returns the ClusterService of opts.Client.
func NewClusterService(opts Options) *ClusterService {
	return &ClusterService{cl: opts.Client, log: logger(opts.Log)}
}

func (s *ClusterService) fail(op, fileID string, err error) error {
	s.log.Debug("grpc call failed", "op", op, "file_id", fileID, "err", err)
	return ToStatus(err, fileID)
}

func hostPort(ip string, port int) string {
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

func checkGroup(g string) error {
	if !fileid.ValidGroup(g) {
		return invalid("group", fmt.Sprintf("bad group %q: want 1 to 16 letters or digits", g))
	}
	return nil
}

// maxStorageIDLen is the longest storage ID: an IPv6 address in text form.
const maxStorageIDLen = 45

// checkStorageID accepts what a tracker can know a storage by: a numeric
// server ID (storage-id mode) or an IP address (IP mode).
func checkStorageID(id string) error {
	if id == "" || len(id) > maxStorageIDLen {
		return invalid("storage_id", fmt.Sprintf("bad storage_id %q", id))
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':') {
			return invalid("storage_id", fmt.Sprintf("bad storage_id %q", id))
		}
	}
	return nil
}

// ListGroups implements ClusterService.ListGroups.
func (s *ClusterService) ListGroups(ctx context.Context, _ *fastdfsv1.ListGroupsRequest) (*fastdfsv1.ListGroupsResponse, error) {
	groups, err := s.cl.ListGroups(ctx)
	if err != nil {
		return nil, s.fail("list groups", "", err)
	}
	resp := &fastdfsv1.ListGroupsResponse{Groups: make([]*fastdfsv1.Group, 0, len(groups))}
	for i := range groups {
		resp.Groups = append(resp.Groups, groupProto(&groups[i]))
	}
	return resp, nil
}

// ListStorages implements ClusterService.ListStorages.
func (s *ClusterService) ListStorages(ctx context.Context, req *fastdfsv1.ListStoragesRequest) (*fastdfsv1.ListStoragesResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, s.fail("list storages", "", err)
	}
	stats, err := s.cl.ListStorages(ctx, req.GetGroup(), "")
	if err != nil {
		return nil, s.fail("list storages", "", err)
	}
	resp := &fastdfsv1.ListStoragesResponse{Storages: make([]*fastdfsv1.Storage, 0, len(stats))}
	for i := range stats {
		resp.Storages = append(resp.Storages, storageProto(req.GetGroup(), &stats[i]))
	}
	return resp, nil
}

// GetStorage implements ClusterService.GetStorage.
func (s *ClusterService) GetStorage(ctx context.Context, req *fastdfsv1.GetStorageRequest) (*fastdfsv1.GetStorageResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, s.fail("get storage", "", err)
	}
	if err := checkStorageID(req.GetStorageId()); err != nil {
		return nil, s.fail("get storage", "", err)
	}
	stats, err := s.cl.ListStorages(ctx, req.GetGroup(), req.GetStorageId())
	if err != nil {
		return nil, s.fail("get storage", "", err)
	}
	for i := range stats {
		if stats[i].ID == req.GetStorageId() || stats[i].IP == req.GetStorageId() {
			return &fastdfsv1.GetStorageResponse{Storage: storageProto(req.GetGroup(), &stats[i])}, nil
		}
	}
	return nil, s.fail("get storage", "", fmt.Errorf("storage %s of %s: %w", req.GetStorageId(), req.GetGroup(), protocol.ErrNotFound))
}

// DeleteStorage implements ClusterService.DeleteStorage.
func (s *ClusterService) DeleteStorage(ctx context.Context, req *fastdfsv1.DeleteStorageRequest) (*fastdfsv1.DeleteStorageResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, s.fail("delete storage", "", err)
	}
	if err := checkStorageID(req.GetStorageId()); err != nil {
		return nil, s.fail("delete storage", "", err)
	}
	// Idempotent: a retry after a lost reply finds it deleted (EALREADY).
	if err := s.cl.DeleteStorage(ctx, req.GetGroup(), req.GetStorageId()); err != nil && !errors.Is(err, protocol.ErrAlready) {
		return nil, s.fail("delete storage", "", err)
	}
	return &fastdfsv1.DeleteStorageResponse{}, nil
}

// LocateStorages implements ClusterService.LocateStorages.
func (s *ClusterService) LocateStorages(ctx context.Context, req *fastdfsv1.LocateStoragesRequest) (*fastdfsv1.LocateStoragesResponse, error) {
	var (
		servers []client.Server
		err     error
		id      = req.GetFileId()
	)
	switch req.GetOperation() {
	case fastdfsv1.StorageOperation_STORAGE_OPERATION_UPLOAD:
		if g := req.GetGroup(); g != "" {
			if err := checkGroup(g); err != nil {
				return nil, s.fail("locate storages", "", err)
			}
		}
		if id != "" {
			return nil, s.fail("locate storages", id, invalid("file_id", "file_id is not used for UPLOAD"))
		}
		servers, err = s.cl.QueryStoreAll(ctx, req.GetGroup())
	case fastdfsv1.StorageOperation_STORAGE_OPERATION_DOWNLOAD, fastdfsv1.StorageOperation_STORAGE_OPERATION_UPDATE:
		if err := checkFileID(id); err != nil {
			return nil, s.fail("locate storages", id, err)
		}
		if req.GetGroup() != "" {
			return nil, s.fail("locate storages", id, invalid("group", "group is only used for UPLOAD"))
		}
		if req.GetOperation() == fastdfsv1.StorageOperation_STORAGE_OPERATION_DOWNLOAD {
			servers, err = s.cl.QueryFetchAll(ctx, id)
		} else {
			var srv *client.Server
			if srv, err = s.cl.QueryUpdate(ctx, id); err == nil {
				servers = []client.Server{*srv}
			}
		}
	default:
		return nil, s.fail("locate storages", id, invalid("operation", "operation must be UPLOAD, DOWNLOAD or UPDATE"))
	}
	if err != nil {
		return nil, s.fail("locate storages", id, err)
	}
	resp := &fastdfsv1.LocateStoragesResponse{Storages: make([]*fastdfsv1.StorageAddress, 0, len(servers))}
	for _, srv := range servers {
		resp.Storages = append(resp.Storages, &fastdfsv1.StorageAddress{
			Group: srv.Group, Ip: srv.IP, Port: int64(srv.Port), StorePathIndex: int32(srv.StorePathIndex),
		})
	}
	return resp, nil
}

// GetClusterStats implements ClusterService.GetClusterStats: one group list
// and one storage list per group, summed up.
func (s *ClusterService) GetClusterStats(ctx context.Context, _ *fastdfsv1.GetClusterStatsRequest) (*fastdfsv1.GetClusterStatsResponse, error) {
	groups, err := s.cl.ListGroups(ctx)
	if err != nil {
		return nil, s.fail("cluster stats", "", err)
	}
	resp := &fastdfsv1.GetClusterStatsResponse{GroupCount: int64(len(groups)), Counters: &fastdfsv1.StorageCounters{}}
	var sum protocol.StatBlock
	for _, g := range groups {
		resp.TotalMb += g.TotalMB
		resp.FreeMb += g.FreeMB
		stats, err := s.cl.ListStorages(ctx, g.Name, "")
		if err != nil {
			return nil, s.fail("cluster stats", "", err)
		}
		for i := range stats {
			if st := stats[i].Status; st == protocol.StatusDeleted || st == protocol.StatusIPChanged {
				continue // tombstones: listed, not servers
			}
			resp.StorageCount++
			if stats[i].Status == protocol.StatusActive {
				resp.ActiveStorageCount++
			}
			addStats(&sum, &stats[i].Stat)
		}
	}
	resp.Counters = countersProto(&sum)
	return resp, nil
}

func groupProto(g *protocol.GroupStat) *fastdfsv1.Group {
	return &fastdfsv1.Group{
		Name:               g.Name,
		TotalMb:            g.TotalMB,
		FreeMb:             g.FreeMB,
		ReservedMb:         g.ReservedMB,
		TrunkFreeMb:        g.TrunkFreeMB,
		StorageCount:       g.StorageCount,
		StoragePort:        g.StoragePort,
		ReadableCount:      g.ReadableCount,
		WritableCount:      g.WritableCount,
		CurrentWriteServer: g.CurrentWriteServer,
		StorePathCount:     g.StorePathCount,
		SubdirCountPerPath: g.SubdirCountPerPath,
		CurrentTrunkFileId: g.CurrentTrunkFileID,
	}
}

// storageStatus maps the tracker's storage status byte to the API enum.
var storageStatus = map[byte]fastdfsv1.StorageStatus{
	protocol.StatusInit:      fastdfsv1.StorageStatus_STORAGE_STATUS_INIT,
	protocol.StatusWaitSync:  fastdfsv1.StorageStatus_STORAGE_STATUS_WAIT_SYNC,
	protocol.StatusSyncing:   fastdfsv1.StorageStatus_STORAGE_STATUS_SYNCING,
	protocol.StatusIPChanged: fastdfsv1.StorageStatus_STORAGE_STATUS_IP_CHANGED,
	protocol.StatusDeleted:   fastdfsv1.StorageStatus_STORAGE_STATUS_DELETED,
	protocol.StatusOffline:   fastdfsv1.StorageStatus_STORAGE_STATUS_OFFLINE,
	protocol.StatusOnline:    fastdfsv1.StorageStatus_STORAGE_STATUS_ONLINE,
	protocol.StatusActive:    fastdfsv1.StorageStatus_STORAGE_STATUS_ACTIVE,
	protocol.StatusRecovery:  fastdfsv1.StorageStatus_STORAGE_STATUS_RECOVERY,
}

// unixTime converts unix seconds; 0 (never) gives nil.
func unixTime(sec int64) *timestamppb.Timestamp {
	if sec <= 0 {
		return nil
	}
	return timestamppb.New(time.Unix(sec, 0))
}

func storageProto(group string, st *protocol.StorageStat) *fastdfsv1.Storage {
	return &fastdfsv1.Storage{
		Group:              group,
		StorageId:          st.ID,
		Ip:                 st.IP,
		Port:               st.StoragePort,
		Status:             storageStatus[st.Status],
		Readable:           st.RWMode&protocol.RWRead != 0,
		Writable:           st.RWMode&protocol.RWWrite != 0,
		Version:            st.Version,
		JoinTime:           unixTime(st.JoinTime),
		UpTime:             unixTime(st.UpTime),
		LastHeartbeatTime:  unixTime(st.Stat.LastHeartBeatTime),
		TotalMb:            st.TotalMB,
		FreeMb:             st.FreeMB,
		ReservedMb:         st.ReservedMB,
		UploadPriority:     st.UploadPriority,
		StorePathCount:     st.StorePathCount,
		SubdirCountPerPath: st.SubdirCountPerPath,
		CurrentWritePath:   st.CurrentWritePath,
		TrunkServer:        st.IfTrunkServer,
		Sync: &fastdfsv1.SyncProgress{
			SourceStorageId:  st.SrcID,
			LastSourceUpdate: unixTime(st.Stat.LastSourceUpdate),
			LastSyncUpdate:   unixTime(st.Stat.LastSyncUpdate),
			LastSyncedTime:   unixTime(st.Stat.LastSyncedTimestamp),
		},
		Counters: countersProto(&st.Stat),
	}
}

func countersProto(b *protocol.StatBlock) *fastdfsv1.StorageCounters {
	return &fastdfsv1.StorageCounters{
		AllocConnections:     b.AllocCount,
		CurrentConnections:   b.CurrentCount,
		MaxConnections:       b.MaxCount,
		TotalUploadCount:     b.TotalUploadCount,
		SuccessUploadCount:   b.SuccessUploadCount,
		TotalAppendCount:     b.TotalAppendCount,
		SuccessAppendCount:   b.SuccessAppendCount,
		TotalModifyCount:     b.TotalModifyCount,
		SuccessModifyCount:   b.SuccessModifyCount,
		TotalTruncateCount:   b.TotalTruncateCount,
		SuccessTruncateCount: b.SuccessTruncateCount,
		TotalSetMetaCount:    b.TotalSetMetaCount,
		SuccessSetMetaCount:  b.SuccessSetMetaCount,
		TotalDeleteCount:     b.TotalDeleteCount,
		SuccessDeleteCount:   b.SuccessDeleteCount,
		TotalDownloadCount:   b.TotalDownloadCount,
		SuccessDownloadCount: b.SuccessDownloadCount,
		TotalGetMetaCount:    b.TotalGetMetaCount,
		SuccessGetMetaCount:  b.SuccessGetMetaCount,
		TotalUploadBytes:     b.TotalUploadBytes,
		SuccessUploadBytes:   b.SuccessUploadBytes,
		TotalAppendBytes:     b.TotalAppendBytes,
		SuccessAppendBytes:   b.SuccessAppendBytes,
		TotalModifyBytes:     b.TotalModifyBytes,
		SuccessModifyBytes:   b.SuccessModifyBytes,
		TotalDownloadBytes:   b.TotalDownloadBytes,
		SuccessDownloadBytes: b.SuccessDownloadBytes,
		TotalSyncInBytes:     b.TotalSyncInBytes,
		SuccessSyncInBytes:   b.SuccessSyncInBytes,
		TotalSyncOutBytes:    b.TotalSyncOutBytes,
		SuccessSyncOutBytes:  b.SuccessSyncOutBytes,
	}
}

// addStats adds the counters of b to sum (connection counters included, as
// cluster-wide totals).
func addStats(sum, b *protocol.StatBlock) {
	sum.AllocCount += b.AllocCount
	sum.CurrentCount += b.CurrentCount
	sum.MaxCount += b.MaxCount
	sum.TotalUploadCount += b.TotalUploadCount
	sum.SuccessUploadCount += b.SuccessUploadCount
	sum.TotalAppendCount += b.TotalAppendCount
	sum.SuccessAppendCount += b.SuccessAppendCount
	sum.TotalModifyCount += b.TotalModifyCount
	sum.SuccessModifyCount += b.SuccessModifyCount
	sum.TotalTruncateCount += b.TotalTruncateCount
	sum.SuccessTruncateCount += b.SuccessTruncateCount
	sum.TotalSetMetaCount += b.TotalSetMetaCount
	sum.SuccessSetMetaCount += b.SuccessSetMetaCount
	sum.TotalDeleteCount += b.TotalDeleteCount
	sum.SuccessDeleteCount += b.SuccessDeleteCount
	sum.TotalDownloadCount += b.TotalDownloadCount
	sum.SuccessDownloadCount += b.SuccessDownloadCount
	sum.TotalGetMetaCount += b.TotalGetMetaCount
	sum.SuccessGetMetaCount += b.SuccessGetMetaCount
	sum.TotalUploadBytes += b.TotalUploadBytes
	sum.SuccessUploadBytes += b.SuccessUploadBytes
	sum.TotalAppendBytes += b.TotalAppendBytes
	sum.SuccessAppendBytes += b.SuccessAppendBytes
	sum.TotalModifyBytes += b.TotalModifyBytes
	sum.SuccessModifyBytes += b.SuccessModifyBytes
	sum.TotalDownloadBytes += b.TotalDownloadBytes
	sum.SuccessDownloadBytes += b.SuccessDownloadBytes
	sum.TotalSyncInBytes += b.TotalSyncInBytes
	sum.SuccessSyncInBytes += b.SuccessSyncInBytes
	sum.TotalSyncOutBytes += b.TotalSyncOutBytes
	sum.SuccessSyncOutBytes += b.SuccessSyncOutBytes
}
