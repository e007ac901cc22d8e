package protocol

import (
	"bytes"
	"fmt"
	"strings"
)

// The bodies a storage and its tracker exchange: counters and the
// listing records made of them, JOIN, the change notices, disk usage,
// sync timestamps and sources, status reports, parameters, storage ids,
// the changelog and address changes.

// StatBlock is the 348-byte storage counter block: the BEAT body and the
// tail of every StorageStat.
type StatBlock struct {
	AllocCount, CurrentCount, MaxCount int32 // connection counters

	TotalUploadCount, SuccessUploadCount         int64
	TotalAppendCount, SuccessAppendCount         int64
	TotalModifyCount, SuccessModifyCount         int64
	TotalTruncateCount, SuccessTruncateCount     int64
	TotalSetMetaCount, SuccessSetMetaCount       int64
	TotalDeleteCount, SuccessDeleteCount         int64
	TotalDownloadCount, SuccessDownloadCount     int64
	TotalGetMetaCount, SuccessGetMetaCount       int64
	TotalCreateLinkCount, SuccessCreateLinkCount int64
	TotalDeleteLinkCount, SuccessDeleteLinkCount int64
	TotalUploadBytes, SuccessUploadBytes         int64
	TotalAppendBytes, SuccessAppendBytes         int64
	TotalModifyBytes, SuccessModifyBytes         int64
	TotalDownloadBytes, SuccessDownloadBytes     int64
	TotalSyncInBytes, SuccessSyncInBytes         int64
	TotalSyncOutBytes, SuccessSyncOutBytes       int64
	TotalFileOpenCount, SuccessFileOpenCount     int64
	TotalFileReadCount, SuccessFileReadCount     int64
	TotalFileWriteCount, SuccessFileWriteCount   int64
	LastSourceUpdate                             int64 // unix seconds
	LastSyncUpdate                               int64 // unix seconds
	LastSyncedTimestamp                          int64 // unix seconds
	LastHeartBeatTime                            int64 // unix seconds
}

// StatField names one 64-bit counter of a StatBlock.
type StatField struct {
	Name string // upstream key, e.g. "total_upload_count"
	P    *int64
}

// Fields returns the 42 int64 counters in wire order with their upstream
// names (as used in storage_stat.dat and storage_servers_new.dat).
func (s *StatBlock) Fields() []StatField {
	return []StatField{
		{"total_upload_count", &s.TotalUploadCount}, {"success_upload_count", &s.SuccessUploadCount},
		{"total_append_count", &s.TotalAppendCount}, {"success_append_count", &s.SuccessAppendCount},
		{"total_modify_count", &s.TotalModifyCount}, {"success_modify_count", &s.SuccessModifyCount},
		{"total_truncate_count", &s.TotalTruncateCount}, {"success_truncate_count", &s.SuccessTruncateCount},
		{"total_set_meta_count", &s.TotalSetMetaCount}, {"success_set_meta_count", &s.SuccessSetMetaCount},
		{"total_delete_count", &s.TotalDeleteCount}, {"success_delete_count", &s.SuccessDeleteCount},
		{"total_download_count", &s.TotalDownloadCount}, {"success_download_count", &s.SuccessDownloadCount},
		{"total_get_meta_count", &s.TotalGetMetaCount}, {"success_get_meta_count", &s.SuccessGetMetaCount},
		{"total_create_link_count", &s.TotalCreateLinkCount}, {"success_create_link_count", &s.SuccessCreateLinkCount},
		{"total_delete_link_count", &s.TotalDeleteLinkCount}, {"success_delete_link_count", &s.SuccessDeleteLinkCount},
		{"total_upload_bytes", &s.TotalUploadBytes}, {"success_upload_bytes", &s.SuccessUploadBytes},
		{"total_append_bytes", &s.TotalAppendBytes}, {"success_append_bytes", &s.SuccessAppendBytes},
		{"total_modify_bytes", &s.TotalModifyBytes}, {"success_modify_bytes", &s.SuccessModifyBytes},
		{"total_download_bytes", &s.TotalDownloadBytes}, {"success_download_bytes", &s.SuccessDownloadBytes},
		{"total_sync_in_bytes", &s.TotalSyncInBytes}, {"success_sync_in_bytes", &s.SuccessSyncInBytes},
		{"total_sync_out_bytes", &s.TotalSyncOutBytes}, {"success_sync_out_bytes", &s.SuccessSyncOutBytes},
		{"total_file_open_count", &s.TotalFileOpenCount}, {"success_file_open_count", &s.SuccessFileOpenCount},
		{"total_file_read_count", &s.TotalFileReadCount}, {"success_file_read_count", &s.SuccessFileReadCount},
		{"total_file_write_count", &s.TotalFileWriteCount}, {"success_file_write_count", &s.SuccessFileWriteCount},
		{"last_source_update", &s.LastSourceUpdate}, {"last_sync_update", &s.LastSyncUpdate},
		{"last_synced_timestamp", &s.LastSyncedTimestamp}, {"last_heart_beat_time", &s.LastHeartBeatTime},
	}
}

// AppendTo appends the 348-byte block.
func (s *StatBlock) AppendTo(e *Encoder) {
	e.Int32(s.AllocCount)
	e.Int32(s.CurrentCount)
	e.Int32(s.MaxCount)
	for _, f := range s.Fields() {
		e.Int64(*f.P)
	}
}

// Encode returns the 348-byte block.
func (s *StatBlock) Encode() []byte {
	e := NewEncoder(StatBlockSize)
	s.AppendTo(e)
	return e.B
}

func (s *StatBlock) decode(d *Decoder) {
	s.AllocCount = d.Int32()
	s.CurrentCount = d.Int32()
	s.MaxCount = d.Int32()
	for _, f := range s.Fields() {
		*f.P = d.Int64()
	}
}

// DecodeStatBlock decodes exactly 348 bytes.
func DecodeStatBlock(b []byte) (*StatBlock, error) {
	if len(b) != StatBlockSize {
		return nil, fmt.Errorf("stat block of %d bytes: %w", len(b), ErrInvalid)
	}
	s := &StatBlock{}
	d := NewDecoder(b)
	s.decode(d)
	return s, d.Done()
}

// StorageStat is one record of SERVER_LIST_STORAGE (487 bytes IPv4, 517 IPv6).
type StorageStat struct {
	Status             byte
	RWMode             byte // RWRead|RWWrite bits
	ID                 string
	IP                 string
	SrcID              string
	Version            string
	JoinTime           int64 // unix seconds
	UpTime             int64 // unix seconds
	TotalMB            int64
	FreeMB             int64
	ReservedMB         int64
	UploadPriority     int64
	StorePathCount     int64
	SubdirCountPerPath int64
	CurrentWritePath   int64
	StoragePort        int64
	Stat               StatBlock
	IfTrunkServer      bool
}

// AppendTo appends the record with ipSize bytes for the IP.
func (s *StorageStat) AppendTo(e *Encoder, ipSize int) {
	e.Byte(s.Status)
	e.Byte(s.RWMode)
	e.Fixed(s.ID, StorageIDSize)
	e.Fixed(s.IP, ipSize)
	e.Fixed(s.SrcID, StorageIDSize)
	e.Fixed(s.Version, VersionSize)
	for _, v := range []int64{s.JoinTime, s.UpTime, s.TotalMB, s.FreeMB, s.ReservedMB, s.UploadPriority,
		s.StorePathCount, s.SubdirCountPerPath, s.CurrentWritePath, s.StoragePort} {
		e.Int64(v)
	}
	s.Stat.AppendTo(e)
	e.Byte(boolByte(s.IfTrunkServer))
}

// EncodeStorageStats returns the records back to back.
func EncodeStorageStats(ss []StorageStat, ipSize int) []byte {
	e := NewEncoder(len(ss) * (StorageStatSizeV4 - IPv4AddrSize + ipSize))
	for i := range ss {
		ss[i].AppendTo(e, ipSize)
	}
	return e.B
}

// DecodeStorageStats decodes n records of either IP width.
func DecodeStorageStats(b []byte) ([]StorageStat, error) {
	ipSize := IPv4AddrSize
	switch {
	case len(b)%StorageStatSizeV4 == 0:
	case len(b)%StorageStatSizeV6 == 0:
		ipSize = IPv6AddrSize
	default:
		return nil, fmt.Errorf("storage stats of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	var out []StorageStat
	for d.Remaining() > 0 {
		s := StorageStat{Status: d.Byte(), RWMode: d.Byte(), ID: d.Fixed(StorageIDSize), IP: d.Fixed(ipSize),
			SrcID: d.Fixed(StorageIDSize), Version: d.Fixed(VersionSize)}
		for _, p := range []*int64{&s.JoinTime, &s.UpTime, &s.TotalMB, &s.FreeMB, &s.ReservedMB, &s.UploadPriority,
			&s.StorePathCount, &s.SubdirCountPerPath, &s.CurrentWritePath, &s.StoragePort} {
			*p = d.Int64()
		}
		s.Stat.decode(d)
		s.IfTrunkServer = d.Byte() != 0
		if d.Err() != nil {
			break
		}
		out = append(out, s)
	}
	return out, d.Done()
}

// Brief is the 67-byte storage summary used in beat replies, REPORT_STATUS,
// REPLICA_CHG and GET_STATUS: status(1) port(int32) id[16] ip[46].
type Brief struct {
	Status byte
	Port   int32
	ID     string
	IP     string
}

// AppendTo appends the 67-byte record.
func (b *Brief) AppendTo(e *Encoder) {
	e.Byte(b.Status)
	e.Int32(b.Port)
	e.Fixed(b.ID, StorageIDSize)
	e.Fixed(b.IP, IPv6AddrSize)
}

// Encode returns the 67-byte record.
func (b *Brief) Encode() []byte {
	e := NewEncoder(BriefSize)
	b.AppendTo(e)
	return e.B
}

func decodeBrief(d *Decoder) Brief {
	return Brief{Status: d.Byte(), Port: d.Int32(), ID: d.Fixed(StorageIDSize), IP: d.Fixed(IPv6AddrSize)}
}

// EncodeBriefs returns the records back to back (REPLICA_CHG body).
func EncodeBriefs(bs []Brief) []byte {
	e := NewEncoder(len(bs) * BriefSize)
	for i := range bs {
		bs[i].AppendTo(e)
	}
	return e.B
}

// DecodeBriefs decodes n×67 bytes.
func DecodeBriefs(b []byte) ([]Brief, error) {
	if len(b)%BriefSize != 0 {
		return nil, fmt.Errorf("briefs of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	out := make([]Brief, 0, len(b)/BriefSize)
	for d.Remaining() > 0 {
		out = append(out, decodeBrief(d))
	}
	return out, d.Done()
}

// ChangeNotice is the reply body of BEAT, REPORT_DISK_USAGE and
// SYNC_REPORT: flags then the briefs announced by the flags, in bit order.
type ChangeNotice struct {
	Flags       byte
	Leader      Brief   // if Flags&ChangeLeader: ID = leader IP, Port = tracker port
	TrunkServer Brief   // if Flags&ChangeTrunk (zero brief when there is none)
	Storages    []Brief // if Flags&ChangeGroup: the whole group sorted by id
}

// Encode returns flags + briefs.
func (c *ChangeNotice) Encode() []byte {
	e := NewEncoder(1 + (2+len(c.Storages))*BriefSize)
	e.Byte(c.Flags)
	if c.Flags&ChangeLeader != 0 {
		c.Leader.AppendTo(e)
	}
	if c.Flags&ChangeTrunk != 0 {
		c.TrunkServer.AppendTo(e)
	}
	if c.Flags&ChangeGroup != 0 {
		for i := range c.Storages {
			c.Storages[i].AppendTo(e)
		}
	}
	return e.B
}

// DecodeChangeNotice decodes a change-notification body.
func DecodeChangeNotice(b []byte) (*ChangeNotice, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("empty change notice: %w", ErrInvalid)
	}
	d := NewDecoder(b)
	c := &ChangeNotice{Flags: d.Byte()}
	if c.Flags&ChangeLeader != 0 {
		c.Leader = decodeBrief(d)
	}
	if c.Flags&ChangeTrunk != 0 {
		c.TrunkServer = decodeBrief(d)
	}
	if c.Flags&ChangeGroup != 0 {
		if d.Remaining()%BriefSize != 0 {
			return nil, fmt.Errorf("change notice group part of %d bytes: %w", d.Remaining(), ErrInvalid)
		}
		for d.Remaining() > 0 && d.Err() == nil {
			c.Storages = append(c.Storages, decodeBrief(d))
		}
	}
	return c, d.Done()
}

// JoinRequest is the STORAGE_JOIN body: 145 fixed bytes + one "host:port\n"
// line per tracker the storage knows.
type JoinRequest struct {
	Group              string
	StoragePort        int64
	StorePathCount     int64
	SubdirCountPerPath int64
	UploadPriority     int64
	JoinTime           int64 // unix seconds
	UpTime             int64 // unix seconds
	Version            string
	InitFlag           bool // true until the initial (old-file) sync finished
	Status             byte // storage's last known status; 0xFF = unknown (-1)
	StorageID          string
	CurrentTrackerIP   string
	Trackers           []string // "host:port", dual-IP entries "ip1,ip2:port"
}

// Encode returns the JOIN body; tracker_count is len(Trackers).
func (j *JoinRequest) Encode() []byte {
	e := NewEncoder(JoinFixedSize + 24*len(j.Trackers))
	e.Fixed(j.Group, GroupNameLenPad)
	for _, v := range []int64{j.StoragePort, j.StorePathCount, j.SubdirCountPerPath, j.UploadPriority, j.JoinTime, j.UpTime} {
		e.Int64(v)
	}
	e.Fixed(j.Version, VersionSize)
	e.Byte(boolByte(j.InitFlag))
	e.Byte(j.Status)
	e.Fixed(j.StorageID, StorageIDSize)
	e.Fixed(j.CurrentTrackerIP, IPv6AddrSize)
	e.Int64(int64(len(j.Trackers)))
	for _, t := range j.Trackers {
		e.String(t)
		e.Byte('\n')
	}
	return e.B
}

// DecodeJoinRequest decodes a JOIN body. tracker_count must be 1..16 and
// match the number of lines.
func DecodeJoinRequest(b []byte) (*JoinRequest, error) {
	if len(b) < JoinFixedSize {
		return nil, fmt.Errorf("join body of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	j := &JoinRequest{Group: d.Fixed(GroupNameLenPad)}
	for _, p := range []*int64{&j.StoragePort, &j.StorePathCount, &j.SubdirCountPerPath, &j.UploadPriority, &j.JoinTime, &j.UpTime} {
		*p = d.Int64()
	}
	j.Version = d.Fixed(VersionSize)
	j.InitFlag = d.Byte() != 0
	j.Status = d.Byte()
	j.StorageID = d.Fixed(StorageIDSize)
	j.CurrentTrackerIP = d.Fixed(IPv6AddrSize)
	n := d.Int64()
	if n < 1 || n > MaxTrackers {
		return nil, fmt.Errorf("join tracker_count %d: %w", n, ErrInvalid)
	}
	rest := d.Rest()
	if len(rest) == 0 || rest[len(rest)-1] != '\n' {
		return nil, fmt.Errorf("join tracker list not newline-terminated: %w", ErrInvalid)
	}
	lines := strings.Split(string(rest[:len(rest)-1]), "\n")
	if int64(len(lines)) != n {
		return nil, fmt.Errorf("join tracker_count %d but %d lines: %w", n, len(lines), ErrInvalid)
	}
	j.Trackers = lines
	return j, d.Err()
}

// JoinResponse is the 17-byte JOIN reply.
type JoinResponse struct {
	Status byte   // the storage's status as the tracker keeps it
	SrcID  string // sync source, "" for none
}

// Encode returns the 17-byte body.
func (r *JoinResponse) Encode() []byte {
	e := NewEncoder(JoinResponseSize)
	e.Byte(r.Status)
	e.Fixed(r.SrcID, StorageIDSize)
	return e.B
}

// DecodeJoinResponse decodes the 17-byte body.
func DecodeJoinResponse(b []byte) (*JoinResponse, error) {
	if len(b) != JoinResponseSize {
		return nil, fmt.Errorf("join reply of %d bytes: %w", len(b), ErrInvalid)
	}
	return &JoinResponse{Status: b[0], SrcID: CString(b[1:])}, nil
}

// PathUsage is one store path's entry of REPORT_DISK_USAGE, in MB.
type PathUsage struct {
	TotalMB int64
	FreeMB  int64
}

// EncodeDiskUsage returns n×(total_mb free_mb).
func EncodeDiskUsage(ps []PathUsage) []byte {
	e := NewEncoder(len(ps) * DiskUsageEntrySize)
	for _, p := range ps {
		e.Int64(p.TotalMB)
		e.Int64(p.FreeMB)
	}
	return e.B
}

// DecodeDiskUsage decodes n×16 bytes (n ≥ 1).
func DecodeDiskUsage(b []byte) ([]PathUsage, error) {
	if len(b) == 0 || len(b)%DiskUsageEntrySize != 0 {
		return nil, fmt.Errorf("disk usage of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	out := make([]PathUsage, 0, len(b)/DiskUsageEntrySize)
	for d.Remaining() > 0 {
		out = append(out, PathUsage{TotalMB: d.Int64(), FreeMB: d.Int64()})
	}
	return out, d.Done()
}

// SyncTimestamp is one SYNC_REPORT entry: the last record time (unix
// seconds) this storage received from SrcID.
type SyncTimestamp struct {
	SrcID     string
	Timestamp int32
}

// EncodeSyncReport returns n×(src_id[16] ts(int32)).
func EncodeSyncReport(ts []SyncTimestamp) []byte {
	e := NewEncoder(len(ts) * SyncReportEntrySize)
	for _, t := range ts {
		e.Fixed(t.SrcID, StorageIDSize)
		e.Int32(t.Timestamp)
	}
	return e.B
}

// DecodeSyncReport decodes n×20 bytes. The id fields are read as C strings.
func DecodeSyncReport(b []byte) ([]SyncTimestamp, error) {
	if len(b)%SyncReportEntrySize != 0 {
		return nil, fmt.Errorf("sync report of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	out := make([]SyncTimestamp, 0, len(b)/SyncReportEntrySize)
	for d.Remaining() > 0 {
		out = append(out, SyncTimestamp{SrcID: d.Fixed(StorageIDSize), Timestamp: d.Int32()})
	}
	return out, d.Done()
}

// SyncSource is the body of SYNC_NOTIFY (88) and the non-empty reply of
// SYNC_DEST_REQ (87), SYNC_DEST_QUERY (79) and SYNC_SRC_REQ (86).
type SyncSource struct {
	SrcID string
	Until int64 // unix seconds: sync old files up to this time
}

// EncodeSyncSource returns the 24-byte body, or an empty body for nil.
func EncodeSyncSource(s *SyncSource) []byte {
	if s == nil {
		return []byte{}
	}
	e := NewEncoder(SyncSourceSize)
	e.Fixed(s.SrcID, StorageIDSize)
	e.Int64(s.Until)
	return e.B
}

// DecodeSyncSource decodes an empty body (nil: no source) or 24 bytes. A
// 24-byte body with an empty id also means "no source".
func DecodeSyncSource(b []byte) (*SyncSource, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) != SyncSourceSize {
		return nil, fmt.Errorf("sync source of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	s := &SyncSource{SrcID: d.Fixed(StorageIDSize), Until: d.Int64()}
	return s, d.Done()
}

// SyncSrcRequest is the SYNC_SRC_REQ (86) body: a source storage asks
// whether it must sync old files to DestID.
type SyncSrcRequest struct {
	Group  string
	DestID string
}

// Encode returns group16 + dest_id[16].
func (r *SyncSrcRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + StorageIDSize)
	e.Fixed(r.Group, GroupNameLen)
	e.Fixed(r.DestID, StorageIDSize)
	return e.B
}

// DecodeSyncSrcRequest decodes exactly 32 bytes.
func DecodeSyncSrcRequest(b []byte) (*SyncSrcRequest, error) {
	if len(b) != GroupNameLen+StorageIDSize {
		return nil, fmt.Errorf("sync src request of %d bytes: %w", len(b), ErrInvalid)
	}
	return &SyncSrcRequest{Group: CString(b[:GroupNameLen]), DestID: CString(b[GroupNameLen:])}, nil
}

// ReportStatus is the REPORT_STATUS (76) body: group16 + brief of another
// storage (only status, id and ip are meaningful).
type ReportStatus struct {
	Group string
	Brief Brief
}

// Encode returns the 83-byte body.
func (r *ReportStatus) Encode() []byte {
	e := NewEncoder(GroupNameLen + BriefSize)
	e.Fixed(r.Group, GroupNameLen)
	r.Brief.AppendTo(e)
	return e.B
}

// DecodeReportStatus decodes exactly 83 bytes.
func DecodeReportStatus(b []byte) (*ReportStatus, error) {
	if len(b) != GroupNameLen+BriefSize {
		return nil, fmt.Errorf("report status of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &ReportStatus{Group: d.Fixed(GroupNameLen), Brief: decodeBrief(d)}
	return r, d.Done()
}

// GetMyIPRequest is the STORAGE_GET_MY_IP (60) body: group[17] port(int32).
type GetMyIPRequest struct {
	Group string
	Port  int32
}

// Encode returns the 21-byte body.
func (r *GetMyIPRequest) Encode() []byte {
	e := NewEncoder(GroupNameLenPad + 4)
	e.Fixed(r.Group, GroupNameLenPad)
	e.Int32(r.Port)
	return e.B
}

// DecodeGetMyIPRequest decodes exactly 21 bytes.
func DecodeGetMyIPRequest(b []byte) (*GetMyIPRequest, error) {
	if len(b) != GroupNameLenPad+4 {
		return nil, fmt.Errorf("get-my-ip body of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &GetMyIPRequest{Group: d.Fixed(GroupNameLenPad), Port: d.Int32()}
	return r, d.Done()
}

// GroupAndAddr is the body of GET_SERVER_ID (70) and GET_STATUS (71):
// group16 + "ip:port" text.
type GroupAndAddr struct {
	Group string
	Addr  string // "ip:port"
}

// Encode returns group16 + addr.
func (r *GroupAndAddr) Encode() []byte {
	e := NewEncoder(GroupNameLen + len(r.Addr))
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Addr)
	return e.B
}

// DecodeGroupAndAddr decodes group16 + 1..51 bytes of address text.
func DecodeGroupAndAddr(b []byte) (*GroupAndAddr, error) {
	if len(b) <= GroupNameLen || len(b) >= GroupNameLen+HostPortTextSize {
		return nil, fmt.Errorf("group+addr body of %d bytes: %w", len(b), ErrInvalid)
	}
	r := &GroupAndAddr{Group: CString(b[:GroupNameLen]), Addr: CString(b[GroupNameLen:])}
	if r.Addr == "" {
		return nil, fmt.Errorf("empty address: %w", ErrInvalid)
	}
	return r, nil
}

// GetGroupNameRequest is the GET_GROUP_NAME (109) body: optional IP text
// followed by port(int32).
type GetGroupNameRequest struct {
	IP   string // "" means the peer address
	Port int32
}

// Encode returns [ip] + port(int32).
func (r *GetGroupNameRequest) Encode() []byte {
	e := NewEncoder(len(r.IP) + 4)
	e.String(r.IP)
	e.Int32(r.Port)
	return e.B
}

// DecodeGetGroupNameRequest decodes 4 .. 4+45 bytes.
func DecodeGetGroupNameRequest(b []byte) (*GetGroupNameRequest, error) {
	if len(b) < 4 || len(b) >= 4+IPv6AddrSize {
		return nil, fmt.Errorf("get-group-name body of %d bytes: %w", len(b), ErrInvalid)
	}
	n := len(b) - 4
	d := NewDecoder(b[n:])
	return &GetGroupNameRequest{IP: CString(b[:n]), Port: d.Int32()}, d.Done()
}

// Param is one key=value line of the PARAMETER_REQ reply.
type Param struct {
	Key, Value string
}

// Params is the ordered PARAMETER_REQ (75) reply.
type Params []Param

// Encode returns "key=value\n" lines in order.
func (p Params) Encode() []byte {
	var b bytes.Buffer
	for _, kv := range p {
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Get returns the value of key ("" if absent).
func (p Params) Get(key string) string {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// DecodeParams parses "key=value" lines; empty lines are skipped.
func DecodeParams(b []byte) (Params, error) {
	var out Params
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("parameter line %q: %w", line, ErrInvalid)
		}
		out = append(out, Param{Key: k, Value: v})
	}
	return out, nil
}

// FetchStorageIDsRequest is the FETCH_STORAGE_IDS (69) body.
type FetchStorageIDsRequest struct {
	StartIndex int32
	AllowEmpty bool // answer 8 zero bytes instead of EOPNOTSUPP in IP mode
}

// Encode returns the 5-byte body.
func (r *FetchStorageIDsRequest) Encode() []byte {
	e := NewEncoder(5)
	e.Int32(r.StartIndex)
	e.Byte(boolByte(r.AllowEmpty))
	return e.B
}

// DecodeFetchStorageIDsRequest decodes exactly 5 bytes.
func DecodeFetchStorageIDsRequest(b []byte) (*FetchStorageIDsRequest, error) {
	if len(b) != 5 {
		return nil, fmt.Errorf("fetch storage ids body of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &FetchStorageIDsRequest{StartIndex: d.Int32(), AllowEmpty: d.Byte() != 0}
	return r, d.Done()
}

// StorageIDsReply is the FETCH_STORAGE_IDS reply: total count, then the
// returned lines "id group ip[:port][ rw=...]" (each sent with '\n').
type StorageIDsReply struct {
	Total int32
	Lines []string
}

// Encode returns total(int32) returned(int32) + lines.
func (r *StorageIDsReply) Encode() []byte {
	e := NewEncoder(8 + 48*len(r.Lines))
	e.Int32(r.Total)
	e.Int32(int32(len(r.Lines)))
	for _, l := range r.Lines {
		e.String(l)
		e.Byte('\n')
	}
	return e.B
}

// DecodeStorageIDsReply decodes the reply; the line count must equal
// "returned".
func DecodeStorageIDsReply(b []byte) (*StorageIDsReply, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("storage ids reply of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &StorageIDsReply{Total: d.Int32()}
	n := d.Int32()
	rest := string(d.Rest())
	if rest != "" {
		if !strings.HasSuffix(rest, "\n") {
			return nil, fmt.Errorf("storage ids reply not newline-terminated: %w", ErrInvalid)
		}
		r.Lines = strings.Split(rest[:len(rest)-1], "\n")
	}
	if n < 0 || int(n) != len(r.Lines) || n > r.Total {
		return nil, fmt.Errorf("storage ids reply: returned %d, %d lines, total %d: %w", n, len(r.Lines), r.Total, ErrInvalid)
	}
	return r, nil
}

// ChangelogRequest is the CHANGELOG_REQ (77) body: empty on a joined
// connection, else group16 + storage_id[16].
type ChangelogRequest struct {
	Group     string
	StorageID string
}

// Encode returns the 32-byte body (use an empty body on a joined connection).
func (r *ChangelogRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + StorageIDSize)
	e.Fixed(r.Group, GroupNameLen)
	e.Fixed(r.StorageID, StorageIDSize)
	return e.B
}

// DecodeChangelogRequest decodes an empty body (nil) or 32 bytes.
func DecodeChangelogRequest(b []byte) (*ChangelogRequest, error) {
	switch len(b) {
	case 0:
		return nil, nil
	case GroupNameLen + StorageIDSize:
		return &ChangelogRequest{Group: CString(b[:GroupNameLen]), StorageID: CString(b[GroupNameLen:])}, nil
	}
	return nil, fmt.Errorf("changelog request of %d bytes: %w", len(b), ErrInvalid)
}

// IPChangedReport is the STORAGE_REPORT_IP_CHANGED (78) body: a storage
// of IP mode (no storage ids) started with another address than last
// time and asks the tracker to move its record to the new one. The
// addresses are 46-byte fields whatever response_ip_addr_size says, as
// every storage-to-tracker structure.
type IPChangedReport struct {
	Group string
	OldIP string
	NewIP string
}

// IPChangedReportSize is the length of an IPChangedReport body.
const IPChangedReportSize = GroupNameLen + 2*IPv6AddrSize

// Encode returns the 108-byte body.
func (r *IPChangedReport) Encode() []byte {
	e := NewEncoder(IPChangedReportSize)
	e.Fixed(r.Group, GroupNameLen)
	e.Fixed(r.OldIP, IPv6AddrSize)
	e.Fixed(r.NewIP, IPv6AddrSize)
	return e.B
}

// DecodeIPChangedReport decodes exactly IPChangedReportSize bytes.
func DecodeIPChangedReport(b []byte) (*IPChangedReport, error) {
	if len(b) != IPChangedReportSize {
		return nil, fmt.Errorf("ip changed report of %d bytes, want %d: %w", len(b), IPChangedReportSize, ErrInvalid)
	}
	old := b[GroupNameLen : GroupNameLen+IPv6AddrSize]
	return &IPChangedReport{Group: CString(b[:GroupNameLen]), OldIP: CString(old), NewIP: CString(b[GroupNameLen+IPv6AddrSize:])}, nil
}
