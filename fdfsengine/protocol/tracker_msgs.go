package protocol

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Tracker command bodies. Every Encode is the exact inverse of the matching
// Decode for well-formed input. Functions that emit storage IPs take ipSize,
// the tracker's response IP size (IPv4AddrSize or IPv6AddrSize, see
// protocol.md §2); query replies (101-107) write ipSize-1 bytes per IP, the
// storage stat writes ipSize bytes. Decoders detect the width from the body
// length.

// Sizes of fixed tracker records in bytes.
const (
	GroupStatSize       = 113 // SERVER_LIST_ONE_GROUP / ALL_GROUPS record
	StatBlockSize       = 348 // storage counters (BEAT body, inside StorageStat)
	StorageStatSizeV4   = 1 + 1 + StorageIDSize + IPv4AddrSize + StorageIDSize + VersionSize + 10*8 + StatBlockSize + 1
	StorageStatSizeV6   = StorageStatSizeV4 - IPv4AddrSize + IPv6AddrSize
	BriefSize           = 1 + 4 + StorageIDSize + IPv6AddrSize // 67
	JoinFixedSize       = 145                                  // JOIN body without the tracker lines
	JoinResponseSize    = 1 + StorageIDSize                    // 17
	SyncSourceSize      = StorageIDSize + 8                    // 24
	SyncReportEntrySize = StorageIDSize + 4                    // 20
	DiskUsageEntrySize  = 16
	TrackerStatusSize   = 17
	// Query reply sizes in IPv4 mode (add 30 per IP in IPv6 mode).
	StoreReplySizeV4 = GroupNameLen + IPv4AddrSize - 1 + 8 + 1 // 40
	FetchReplySizeV4 = GroupNameLen + IPv4AddrSize - 1 + 8     // 39
	// File query (102/103/105) body limits: group + name of at least 22 and
	// less than 128 bytes.
	FileQueryMinSize = GroupNameLen + 22
	FileQueryMaxSize = GroupNameLen + 128 - 1
	// Cluster stat record sizes (96/97/98).
	TrackerClusterEntrySize = HostPortTextSize + 1 + 1 + 3*4 + VersionSize + 8 + 8     // 90
	StorageClusterEntrySize = StorageIDSize + HostPortTextSize + 1 + 1 + 3*4 + 8 + 8*2 // 106
	VolumeEntrySize         = GroupNameLenPad + 5*8 + 1 + 1                            // 59
)

// Change-notification flags (reply to BEAT, REPORT_DISK_USAGE, SYNC_REPORT).
const (
	ChangeLeader byte = 0x01 // one brief: the tracker leader
	ChangeTrunk  byte = 0x02 // one brief: the group's trunk server (zeros if none)
	ChangeGroup  byte = 0x04 // one brief per storage of the group, requester included
)

// Storage rw_mode bits (storage stat, storage_ids.conf rw=).
const (
	RWRead  byte = 4
	RWWrite byte = 2
)

// queryIPLen is the IP width of query replies for an address size.
func queryIPLen(ipSize int) int {
	if ipSize == IPv6AddrSize {
		return IPv6AddrSize - 1
	}
	return IPv4AddrSize - 1
}

// EncodeGroup returns the 16-byte NUL-padded group field.
func EncodeGroup(group string) []byte {
	b := make([]byte, GroupNameLen)
	PutFixed(b, group)
	return b
}

// DecodeGroup decodes a body that is exactly one 16-byte group field.
func DecodeGroup(b []byte) (string, error) {
	if len(b) != GroupNameLen {
		return "", fmt.Errorf("group body of %d bytes, want %d: %w", len(b), GroupNameLen, ErrInvalid)
	}
	return CString(b), nil
}

// ValidGroupName reports whether g is a legal group name: 1..16 chars of
// [A-Za-z0-9].
func ValidGroupName(g string) bool {
	if g == "" || len(g) > GroupNameLen {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// FormatHostPort formats "ip:port", bracketing IPv6 addresses as upstream
// does ("[::1]:22122").
func FormatHostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

// ParseHostPort splits "ip:port" or "[ipv6]:port".
func ParseHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %v: %w", s, err, ErrInvalid)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("port in %q: %w", s, ErrInvalid)
	}
	return host, port, nil
}

// StorageAddr is one storage in a query reply.
type StorageAddr struct {
	IP   string
	Port int
}

// ipWidth returns the per-IP width of a list body whose fixed part is
// fixed bytes and whose records are ip+8 bytes, trying IPv4 first.
func ipWidth(n, fixed int) (int, int, error) {
	for _, w := range []int{IPv4AddrSize - 1, IPv6AddrSize - 1} {
		if n >= fixed && (n-fixed)%(w+8) == 0 {
			return w, (n - fixed) / (w + 8), nil
		}
	}
	return 0, 0, fmt.Errorf("query reply of %d bytes: %w", n, ErrInvalid)
}

// StoreReply is the reply of 101/104: where to upload one file.
type StoreReply struct {
	Group          string
	IP             string
	Port           int
	StorePathIndex byte
}

// Encode returns the 40-byte (IPv4) or 70-byte (IPv6) body.
func (r *StoreReply) Encode(ipSize int) []byte {
	w := queryIPLen(ipSize)
	e := NewEncoder(GroupNameLen + w + 9)
	e.Fixed(r.Group, GroupNameLen)
	e.Fixed(r.IP, w)
	e.Int64(int64(r.Port))
	e.Byte(r.StorePathIndex)
	return e.B
}

// DecodeStoreReply decodes a 101/104 reply of either IP width.
func DecodeStoreReply(b []byte) (*StoreReply, error) {
	var w int
	switch len(b) {
	case StoreReplySizeV4:
		w = IPv4AddrSize - 1
	case StoreReplySizeV4 + IPv6AddrSize - IPv4AddrSize:
		w = IPv6AddrSize - 1
	default:
		return nil, fmt.Errorf("store reply of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &StoreReply{Group: d.Fixed(GroupNameLen), IP: d.Fixed(w)}
	r.Port = int(d.Int64())
	r.StorePathIndex = d.Byte()
	return r, d.Done()
}

// StoreAllReply is the reply of 106/107: every writable storage of the
// chosen group and the store path to use.
type StoreAllReply struct {
	Group          string
	Servers        []StorageAddr
	StorePathIndex byte
}

// Encode returns group16 + n×(ip port8) + store_path_index.
func (r *StoreAllReply) Encode(ipSize int) []byte {
	w := queryIPLen(ipSize)
	e := NewEncoder(GroupNameLen + len(r.Servers)*(w+8) + 1)
	e.Fixed(r.Group, GroupNameLen)
	for _, s := range r.Servers {
		e.Fixed(s.IP, w)
		e.Int64(int64(s.Port))
	}
	e.Byte(r.StorePathIndex)
	return e.B
}

// DecodeStoreAllReply decodes a 106/107 reply of either IP width.
func DecodeStoreAllReply(b []byte) (*StoreAllReply, error) {
	w, n, err := ipWidth(len(b), GroupNameLen+1)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(b)
	r := &StoreAllReply{Group: d.Fixed(GroupNameLen)}
	for range n {
		r.Servers = append(r.Servers, StorageAddr{IP: d.Fixed(w), Port: int(d.Int64())})
	}
	r.StorePathIndex = d.Byte()
	return r, d.Done()
}

// FetchReply is the reply of 102/103: the storage to read or update from.
type FetchReply struct {
	Group string
	IP    string
	Port  int
}

// Encode returns the 39-byte (IPv4) or 69-byte (IPv6) body.
func (r *FetchReply) Encode(ipSize int) []byte {
	w := queryIPLen(ipSize)
	e := NewEncoder(GroupNameLen + w + 8)
	e.Fixed(r.Group, GroupNameLen)
	e.Fixed(r.IP, w)
	e.Int64(int64(r.Port))
	return e.B
}

// DecodeFetchReply decodes a 102/103 reply of either IP width.
func DecodeFetchReply(b []byte) (*FetchReply, error) {
	var w int
	switch len(b) {
	case FetchReplySizeV4:
		w = IPv4AddrSize - 1
	case FetchReplySizeV4 + IPv6AddrSize - IPv4AddrSize:
		w = IPv6AddrSize - 1
	default:
		return nil, fmt.Errorf("fetch reply of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &FetchReply{Group: d.Fixed(GroupNameLen), IP: d.Fixed(w)}
	r.Port = int(d.Int64())
	return r, d.Done()
}

// FetchAllReply is the reply of 105: every storage that may serve the file.
type FetchAllReply struct {
	Group   string
	Servers []StorageAddr
}

// Encode returns group16 + n×(ip port8).
func (r *FetchAllReply) Encode(ipSize int) []byte {
	w := queryIPLen(ipSize)
	e := NewEncoder(GroupNameLen + len(r.Servers)*(w+8))
	e.Fixed(r.Group, GroupNameLen)
	for _, s := range r.Servers {
		e.Fixed(s.IP, w)
		e.Int64(int64(s.Port))
	}
	return e.B
}

// DecodeFetchAllReply decodes a 105 reply of either IP width.
func DecodeFetchAllReply(b []byte) (*FetchAllReply, error) {
	w, n, err := ipWidth(len(b), GroupNameLen)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(b)
	r := &FetchAllReply{Group: d.Fixed(GroupNameLen)}
	for range n {
		r.Servers = append(r.Servers, StorageAddr{IP: d.Fixed(w), Port: int(d.Int64())})
	}
	return r, d.Done()
}

// FileQuery is the request of 102/103/105: group16 + logical file name.
type FileQuery struct {
	Group    string
	Filename string
}

// Encode returns group16 + filename.
func (q *FileQuery) Encode() []byte {
	e := NewEncoder(GroupNameLen + len(q.Filename))
	e.Fixed(q.Group, GroupNameLen)
	e.String(q.Filename)
	return e.B
}

// DecodeFileQuery applies upstream's length rule (≥ 16+22, < 16+128 bytes).
func DecodeFileQuery(b []byte) (*FileQuery, error) {
	if len(b) < FileQueryMinSize || len(b) > FileQueryMaxSize {
		return nil, fmt.Errorf("file query of %d bytes: %w", len(b), ErrInvalid)
	}
	return &FileQuery{Group: CString(b[:GroupNameLen]), Filename: string(b[GroupNameLen:])}, nil
}

// GroupAndID is the request of 92 (id optional), 93 (id required) and the
// storage-side 86 (dest id in a 16-byte field, see SyncSrcRequest).
type GroupAndID struct {
	Group string
	ID    string // storage id (IP in IP mode), "" for none
}

// Encode returns group16 + the id unpadded (as the C tools send it).
func (g *GroupAndID) Encode() []byte {
	e := NewEncoder(GroupNameLen + len(g.ID))
	e.Fixed(g.Group, GroupNameLen)
	e.String(g.ID)
	return e.B
}

// DecodeGroupAndID decodes group16 followed by an optional storage id of
// 1..15 bytes (C string semantics: a trailing NUL is ignored).
func DecodeGroupAndID(b []byte, idRequired bool) (*GroupAndID, error) {
	if len(b) < GroupNameLen || len(b) > GroupNameLen+StorageIDSize {
		return nil, fmt.Errorf("group+id body of %d bytes: %w", len(b), ErrInvalid)
	}
	g := &GroupAndID{Group: CString(b[:GroupNameLen]), ID: CString(b[GroupNameLen:])}
	if idRequired && g.ID == "" {
		return nil, fmt.Errorf("storage id missing: %w", ErrInvalid)
	}
	if len(g.ID) >= StorageIDSize {
		return nil, fmt.Errorf("storage id of %d bytes: %w", len(g.ID), ErrInvalid)
	}
	return g, nil
}

// GroupStat is one 113-byte record of SERVER_LIST_ONE_GROUP / ALL_GROUPS.
type GroupStat struct {
	Name               string
	TotalMB            int64
	FreeMB             int64
	ReservedMB         int64
	TrunkFreeMB        int64
	StorageCount       int64
	StoragePort        int64 // -1 when the group's storages use different ports
	ReadableCount      int64
	WritableCount      int64
	CurrentWriteServer int64
	StorePathCount     int64
	SubdirCountPerPath int64
	CurrentTrunkFileID int64
}

// AppendTo appends the 113-byte record.
func (g *GroupStat) AppendTo(e *Encoder) {
	e.Fixed(g.Name, GroupNameLenPad)
	for _, v := range []int64{g.TotalMB, g.FreeMB, g.ReservedMB, g.TrunkFreeMB, g.StorageCount,
		g.StoragePort, g.ReadableCount, g.WritableCount, g.CurrentWriteServer, g.StorePathCount,
		g.SubdirCountPerPath, g.CurrentTrunkFileID} {
		e.Int64(v)
	}
}

// EncodeGroupStats returns the records back to back.
func EncodeGroupStats(gs []GroupStat) []byte {
	e := NewEncoder(len(gs) * GroupStatSize)
	for i := range gs {
		gs[i].AppendTo(e)
	}
	return e.B
}

// DecodeGroupStats decodes n×113 bytes.
func DecodeGroupStats(b []byte) ([]GroupStat, error) {
	if len(b)%GroupStatSize != 0 {
		return nil, fmt.Errorf("group stats of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	out := make([]GroupStat, 0, len(b)/GroupStatSize)
	for d.Remaining() > 0 {
		g := GroupStat{Name: d.Fixed(GroupNameLenPad)}
		for _, p := range []*int64{&g.TotalMB, &g.FreeMB, &g.ReservedMB, &g.TrunkFreeMB, &g.StorageCount,
			&g.StoragePort, &g.ReadableCount, &g.WritableCount, &g.CurrentWriteServer, &g.StorePathCount,
			&g.SubdirCountPerPath, &g.CurrentTrunkFileID} {
			*p = d.Int64()
		}
		out = append(out, g)
	}
	return out, d.Done()
}

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

// TrackerClusterFilter is the SERVER_TRACKER_CLUSTER_STAT (96) body.
// FilterBy is a bitmask of TrackerFilterActive / TrackerFilterLeader; the
// matching value byte is compared when its bit is set.
type TrackerClusterFilter struct {
	FilterBy, IsActive, IsLeader byte
}

// Tracker cluster filter bits.
const (
	TrackerFilterActive byte = 1
	TrackerFilterLeader byte = 2
)

// Encode returns the 3-byte body.
func (f *TrackerClusterFilter) Encode() []byte { return []byte{f.FilterBy, f.IsActive, f.IsLeader} }

// DecodeTrackerClusterFilter decodes exactly 3 bytes.
func DecodeTrackerClusterFilter(b []byte) (*TrackerClusterFilter, error) {
	if len(b) != 3 {
		return nil, fmt.Errorf("tracker cluster filter of %d bytes: %w", len(b), ErrInvalid)
	}
	return &TrackerClusterFilter{FilterBy: b[0], IsActive: b[1], IsLeader: b[2]}, nil
}

// TrackerClusterEntry is one 90-byte record of the 96 reply.
type TrackerClusterEntry struct {
	Host                               string // "ip:port"
	IsLeader, IsActive                 bool
	AllocCount, CurrentCount, MaxCount int32 // connection counters
	Version                            string
	UpTime                             int64 // unix seconds
	LastHeartbeat                      int64 // unix seconds, 0 for the answering tracker
}

// EncodeTrackerClusterStat returns count(1) + count×90 (string fields
// zero-padded).
func EncodeTrackerClusterStat(ts []TrackerClusterEntry) []byte {
	e := NewEncoder(1 + len(ts)*TrackerClusterEntrySize)
	e.Byte(byte(len(ts)))
	for _, t := range ts {
		e.Fixed(t.Host, HostPortTextSize)
		e.Byte(boolByte(t.IsLeader))
		e.Byte(boolByte(t.IsActive))
		e.Int32(t.AllocCount)
		e.Int32(t.CurrentCount)
		e.Int32(t.MaxCount)
		e.Fixed(t.Version, VersionSize)
		e.Int64(t.UpTime)
		e.Int64(t.LastHeartbeat)
	}
	return e.B
}

// DecodeTrackerClusterStat decodes the 96 reply (string fields as C strings).
func DecodeTrackerClusterStat(b []byte) ([]TrackerClusterEntry, error) {
	if len(b) < 1 || len(b) != 1+int(b[0])*TrackerClusterEntrySize {
		return nil, fmt.Errorf("tracker cluster stat of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b[1:])
	out := make([]TrackerClusterEntry, 0, b[0])
	for d.Remaining() > 0 {
		t := TrackerClusterEntry{Host: d.Fixed(HostPortTextSize), IsLeader: d.Byte() != 0, IsActive: d.Byte() != 0}
		t.AllocCount, t.CurrentCount, t.MaxCount = d.Int32(), d.Int32(), d.Int32()
		t.Version = d.Fixed(VersionSize)
		t.UpTime, t.LastHeartbeat = d.Int64(), d.Int64()
		out = append(out, t)
	}
	return out, d.Done()
}

// StorageClusterFilter is the SERVER_STORAGE_CLUSTER_STAT (97) body.
type StorageClusterFilter struct {
	FilterBy      byte // bitmask of StorageFilter*
	OpType        byte // StorageFilterOpEqual / NotEqual, applied to Status
	Status        byte
	IsTrunkServer byte
}

// Storage cluster filter bits and status operators.
const (
	StorageFilterTrunkServer byte = 1 // FDFS_STORAGE_STAT_FILTER_BY_IS_TRUNK_SERVER
	StorageFilterStatus      byte = 2 // FDFS_STORAGE_STAT_FILTER_BY_STATUS
	StorageFilterOpEqual     byte = '='
	StorageFilterOpNotEqual  byte = '!'
)

// Encode returns the 4-byte body.
func (f *StorageClusterFilter) Encode() []byte {
	return []byte{f.FilterBy, f.OpType, f.Status, f.IsTrunkServer}
}

// DecodeStorageClusterFilter decodes exactly 4 bytes.
func DecodeStorageClusterFilter(b []byte) (*StorageClusterFilter, error) {
	if len(b) != 4 {
		return nil, fmt.Errorf("storage cluster filter of %d bytes: %w", len(b), ErrInvalid)
	}
	return &StorageClusterFilter{FilterBy: b[0], OpType: b[1], Status: b[2], IsTrunkServer: b[3]}, nil
}

// StorageClusterEntry is one 106-byte record of the 97 reply.
type StorageClusterEntry struct {
	ID                                 string
	Host                               string // "ip:port"
	IsTrunkServer                      bool
	Status                             byte
	AllocCount, CurrentCount, MaxCount int32
	Version                            string
	UpTime                             int64 // unix seconds
	LastHeartbeat                      int64 // unix seconds
}

// StorageClusterStat is the 97 reply.
type StorageClusterStat struct {
	UseStorageID bool
	UseTrunkFile bool
	Storages     []StorageClusterEntry
}

// Encode returns use_storage_id(1) use_trunk_file(1) count(int32) +
// count×106 (string fields zero-padded).
func (s *StorageClusterStat) Encode() []byte {
	e := NewEncoder(6 + len(s.Storages)*StorageClusterEntrySize)
	e.Byte(boolByte(s.UseStorageID))
	e.Byte(boolByte(s.UseTrunkFile))
	e.Int32(int32(len(s.Storages)))
	for _, t := range s.Storages {
		e.Fixed(t.ID, StorageIDSize)
		e.Fixed(t.Host, HostPortTextSize)
		e.Byte(boolByte(t.IsTrunkServer))
		e.Byte(t.Status)
		e.Int32(t.AllocCount)
		e.Int32(t.CurrentCount)
		e.Int32(t.MaxCount)
		e.Fixed(t.Version, VersionSize)
		e.Int64(t.UpTime)
		e.Int64(t.LastHeartbeat)
	}
	return e.B
}

// DecodeStorageClusterStat decodes the 97 reply (string fields as C strings).
func DecodeStorageClusterStat(b []byte) (*StorageClusterStat, error) {
	if len(b) < 6 {
		return nil, fmt.Errorf("storage cluster stat of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	s := &StorageClusterStat{UseStorageID: d.Byte() != 0, UseTrunkFile: d.Byte() != 0}
	n := d.Int32()
	if n < 0 || int64(d.Remaining()) != int64(n)*StorageClusterEntrySize {
		return nil, fmt.Errorf("storage cluster stat count %d for %d bytes: %w", n, len(b), ErrInvalid)
	}
	for range n {
		t := StorageClusterEntry{ID: d.Fixed(StorageIDSize), Host: d.Fixed(HostPortTextSize),
			IsTrunkServer: d.Byte() != 0, Status: d.Byte()}
		t.AllocCount, t.CurrentCount, t.MaxCount = d.Int32(), d.Int32(), d.Int32()
		t.Version = d.Fixed(VersionSize)
		t.UpTime, t.LastHeartbeat = d.Int64(), d.Int64()
		s.Storages = append(s.Storages, t)
	}
	return s, d.Done()
}

// VolumeFilter is the SERVER_STORAGE_VOLUMN_STAT (98) body.
type VolumeFilter struct {
	FilterBy                                            byte // bitmask of VolumeFilter*
	IsDiskAvailable, IsTrunkAvailable, IsSpaceAvailable byte
}

// Volume filter bits.
const (
	VolumeFilterDisk  byte = 1
	VolumeFilterTrunk byte = 2
	VolumeFilterSpace byte = 4
)

// Encode returns the 4-byte body.
func (f *VolumeFilter) Encode() []byte {
	return []byte{f.FilterBy, f.IsDiskAvailable, f.IsTrunkAvailable, f.IsSpaceAvailable}
}

// DecodeVolumeFilter decodes exactly 4 bytes.
func DecodeVolumeFilter(b []byte) (*VolumeFilter, error) {
	if len(b) != 4 {
		return nil, fmt.Errorf("volume filter of %d bytes: %w", len(b), ErrInvalid)
	}
	return &VolumeFilter{FilterBy: b[0], IsDiskAvailable: b[1], IsTrunkAvailable: b[2], IsSpaceAvailable: b[3]}, nil
}

// VolumeEntry is one 59-byte group record of the 98 reply, sizes in MB.
type VolumeEntry struct {
	Group                             string
	TotalMB, FreeMB, ReservedMB       int64
	AvailMB                           int64 // free − reserved, ≥ 0
	TrunkFreeMB                       int64
	IsDiskAvailable, IsTrunkAvailable bool
}

// VolumeStat is the 98 reply.
type VolumeStat struct {
	UseTrunkFile bool
	Groups       []VolumeEntry
}

// Encode returns use_trunk_file(1) count(int32) + count×59.
func (v *VolumeStat) Encode() []byte {
	e := NewEncoder(5 + len(v.Groups)*VolumeEntrySize)
	e.Byte(boolByte(v.UseTrunkFile))
	e.Int32(int32(len(v.Groups)))
	for _, g := range v.Groups {
		e.Fixed(g.Group, GroupNameLenPad)
		e.Int64(g.TotalMB)
		e.Int64(g.FreeMB)
		e.Int64(g.ReservedMB)
		e.Int64(g.AvailMB)
		e.Int64(g.TrunkFreeMB)
		e.Byte(boolByte(g.IsDiskAvailable))
		e.Byte(boolByte(g.IsTrunkAvailable))
	}
	return e.B
}

// DecodeVolumeStat decodes the 98 reply (group as C string).
func DecodeVolumeStat(b []byte) (*VolumeStat, error) {
	if len(b) < 5 {
		return nil, fmt.Errorf("volume stat of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	v := &VolumeStat{UseTrunkFile: d.Byte() != 0}
	n := d.Int32()
	if n < 0 || int64(d.Remaining()) != int64(n)*VolumeEntrySize {
		return nil, fmt.Errorf("volume stat count %d for %d bytes: %w", n, len(b), ErrInvalid)
	}
	for range n {
		g := VolumeEntry{Group: d.Fixed(GroupNameLenPad)}
		g.TotalMB, g.FreeMB, g.ReservedMB, g.AvailMB, g.TrunkFreeMB = d.Int64(), d.Int64(), d.Int64(), d.Int64(), d.Int64()
		g.IsDiskAvailable, g.IsTrunkAvailable = d.Byte() != 0, d.Byte() != 0
		v.Groups = append(v.Groups, g)
	}
	return v, d.Done()
}

// TrackerStatus is the TRACKER_GET_STATUS (64) reply.
type TrackerStatus struct {
	IsLeader        bool
	RunningTime     int64 // seconds since start
	RestartInterval int64 // seconds the tracker was down before this start
}

// Encode returns the 17-byte body.
func (s *TrackerStatus) Encode() []byte {
	e := NewEncoder(TrackerStatusSize)
	e.Byte(boolByte(s.IsLeader))
	e.Int64(s.RunningTime)
	e.Int64(s.RestartInterval)
	return e.B
}

// DecodeTrackerStatus decodes exactly 17 bytes.
func DecodeTrackerStatus(b []byte) (*TrackerStatus, error) {
	if len(b) != TrackerStatusSize {
		return nil, fmt.Errorf("tracker status of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	s := &TrackerStatus{IsLeader: d.Byte() != 0, RunningTime: d.Int64(), RestartInterval: d.Int64()}
	return s, d.Done()
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

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
