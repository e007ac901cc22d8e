package protocol

import (
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
// length. This file holds the sizes and the clients' queries (store,
// fetch, group listings); tracker_storage_msgs.go the storage's own
// exchanges, tracker_stat_msgs.go the cluster statistics and
// tracker_peer_msgs.go those among trackers.

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

// boolByte is a protocol flag byte: 1 for true.
func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
