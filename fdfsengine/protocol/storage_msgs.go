package protocol

import (
	"bytes"
	"fmt"
	"sort"
)

// This file holds the codecs of the bodies of client→storage and
// storage→storage commands. Only the fixed (non-content) part of each body
// is encoded or decoded here: file content always follows it on the wire and
// is streamed by the caller, never buffered by these codecs.
//
// Decode functions that take a body prefix return the number of bytes they
// consumed; whatever follows in the slice is the start of the content.
// Group fields are read as C strings because storage→storage senders leave
// garbage after the terminator.

// Sizes in bytes of the fixed heads of the storage command bodies (the part
// before the variable-length file names and content).
const (
	UploadHeadLen        = 1 + 8 + ExtNameLen                  // 15: store path index, size, ext
	UploadSlaveHeadLen   = 8 + 8 + SlavePrefixLen + ExtNameLen // 38: master len, size, prefix, ext
	DownloadHeadLen      = 8 + 8 + GroupNameLen                // 32: offset, length, group
	FileRequestHeadLen   = GroupNameLen                        // 16: group (delete, get meta, query info)
	SetMetadataHeadLen   = 8 + 8 + 1 + GroupNameLen            // 33: name len, meta len, flag, group
	AppendHeadLen        = 8 + 8                               // 16: name len, length
	ModifyHeadLen        = 8 + 8 + 8                           // 24: name len, offset, length
	TruncateHeadLen      = 8 + 8                               // 16: name len, new size
	UploadRespHeadLen    = GroupNameLen                        // 16: group, then the name
	FileInfoRespLenIPv4  = 8 + 8 + 8 + IPv4AddrSize            // 40
	FileInfoRespLenIPv6  = 8 + 8 + 8 + IPv6AddrSize            // 70
	ReportServerIDLen    = StorageIDSize                       // 16
	SyncFileHeadLen      = 8 + 8 + 4 + GroupNameLen            // 36: name len, size, ts, group (16, 18)
	SyncDeleteHeadLen    = 4 + GroupNameLen                    // 20: ts, group (17)
	SyncRangeHeadLen     = 8 + 8 + 8 + 4 + GroupNameLen        // 44: name len, offset, length, ts, group (25, 35)
	SyncTruncateHeadLen  = 8 + 8 + 8 + 4 + GroupNameLen        // 44: name len, old, new, ts, group (37)
	SyncTwoNamesHeadLen  = 8 + 8 + 4 + GroupNameLen            // 36: len, len, ts, group (19, 40)
	MaxStorageFilenameLn = 128                                 // upstream's filename buffer; names must be shorter
	NormalFilenameLen    = 10 + 27 + 7                         // 44: Mxx/HH/LL/ + base64 + formatted ext
	AppendMinFilenameLen = NormalFilenameLen                   // append/modify/truncate: name length ≥ 44
	SlaveMasterMinLen    = 10                                  // slave upload: master name length > 10
	StoreAnyPath         = 0xFF                                // store_path_index −1: the storage chooses
)

// HeadLen returns the size of the fixed head of a storage command body, the
// part to read before the variable-length names can be located, or -1 for
// commands whose whole body is a name (38) or that have no body.
func HeadLen(cmd byte) int {
	switch cmd {
	case CmdUploadFile, CmdUploadAppenderFile:
		return UploadHeadLen
	case CmdUploadSlaveFile:
		return UploadSlaveHeadLen
	case CmdDownloadFile:
		return DownloadHeadLen
	case CmdDeleteFile, CmdGetMetadata, CmdQueryFileInfo:
		return FileRequestHeadLen
	case CmdSetMetadata:
		return SetMetadataHeadLen
	case CmdAppendFile:
		return AppendHeadLen
	case CmdTruncateFile:
		return TruncateHeadLen
	case CmdModifyFile:
		return ModifyHeadLen
	case CmdReportServerID:
		return ReportServerIDLen
	case CmdSyncCreateFile, CmdSyncUpdateFile:
		return SyncFileHeadLen
	case CmdSyncCreateLink, CmdSyncRenameFile:
		return SyncTwoNamesHeadLen
	case CmdSyncDeleteFile:
		return SyncDeleteHeadLen
	case CmdSyncAppendFile, CmdSyncModifyFile:
		return SyncRangeHeadLen
	case CmdSyncTruncateFile:
		return SyncTruncateHeadLen
	}
	return -1
}

// PrefixLen returns the length of the non-content part of a body (fixed head
// plus the names whose lengths the head carries) for the commands whose
// names have explicit lengths: 21, 24, 34, 36, 16, 18, 19, 25, 35, 37, 40,
// and 13 (head + name + metadata). For the other commands the whole body is
// non-content and -1 is returned. Name lengths outside 0..127 and negative
// metadata lengths give ErrInvalid, so a streaming reader never allocates
// from untrusted lengths.
func PrefixLen(cmd byte, head []byte) (int64, error) {
	hl := HeadLen(cmd)
	if hl < 0 {
		return -1, nil
	}
	if len(head) < hl {
		return -1, fmt.Errorf("cmd %d: head of %d bytes, want %d: %w", cmd, len(head), hl, ErrInvalid)
	}
	d := NewDecoder(head)
	var names, meta int64
	switch cmd {
	case CmdUploadSlaveFile, CmdAppendFile, CmdModifyFile, CmdTruncateFile,
		CmdSyncCreateFile, CmdSyncUpdateFile, CmdSyncAppendFile, CmdSyncModifyFile, CmdSyncTruncateFile:
		names = checkNameLen(d.Int64())
	case CmdSyncCreateLink, CmdSyncRenameFile:
		n1, n2 := checkNameLen(d.Int64()), checkNameLen(d.Int64())
		names = n1 + n2
		if n1 < 0 || n2 < 0 {
			names = -1
		}
	case CmdSetMetadata:
		names, meta = checkNameLen(d.Int64()), d.Int64()
	default:
		return -1, nil
	}
	if names < 0 || meta < 0 || meta > 1<<40 {
		return -1, fmt.Errorf("cmd %d: bad name or metadata length: %w", cmd, ErrInvalid)
	}
	return int64(hl) + names + meta, nil
}

// checkNameLen returns n when it is a possible file name length, else -1.
func checkNameLen(n int64) int64 {
	if n < 0 || n >= MaxStorageFilenameLn {
		return -1
	}
	return n
}

// UploadRequest is the fixed part of UPLOAD_FILE (11) and
// UPLOAD_APPENDER_FILE (23); FileSize bytes of content follow.
type UploadRequest struct {
	StorePathIndex byte // 0xFF (StoreAnyPath) = storage chooses
	FileSize       int64
	Ext            string // without dot, at most 6 chars
}

// Encode returns the 15-byte head.
func (r *UploadRequest) Encode() []byte {
	e := NewEncoder(UploadHeadLen)
	e.Byte(r.StorePathIndex)
	e.Int64(r.FileSize)
	e.Fixed(r.Ext, ExtNameLen)
	return e.B
}

// DecodeUploadRequest decodes the head at the start of b.
func DecodeUploadRequest(b []byte) (*UploadRequest, int, error) {
	d := NewDecoder(b)
	r := &UploadRequest{StorePathIndex: d.Byte(), FileSize: d.Int64(), Ext: d.Fixed(ExtNameLen)}
	if err := d.Err(); err != nil {
		return nil, 0, err
	}
	return r, UploadHeadLen, nil
}

// UploadSlaveRequest is the non-content part of UPLOAD_SLAVE_FILE (21).
type UploadSlaveRequest struct {
	MasterName string // logical name of the master, no group
	FileSize   int64
	Prefix     string
	Ext        string
}

// Encode returns the 38-byte head followed by the master name.
func (r *UploadSlaveRequest) Encode() []byte {
	e := NewEncoder(UploadSlaveHeadLen + len(r.MasterName))
	e.Int64(int64(len(r.MasterName)))
	e.Int64(r.FileSize)
	e.Fixed(r.Prefix, SlavePrefixLen)
	e.Fixed(r.Ext, ExtNameLen)
	e.String(r.MasterName)
	return e.B
}

// DecodeUploadSlaveRequest decodes the head and master name at the start of b.
func DecodeUploadSlaveRequest(b []byte) (*UploadSlaveRequest, int, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &UploadSlaveRequest{FileSize: d.Int64(), Prefix: d.Fixed(SlavePrefixLen), Ext: d.Fixed(ExtNameLen)}
	if n < 0 || n >= MaxStorageFilenameLn {
		return nil, 0, fmt.Errorf("master name length %d: %w", n, ErrInvalid)
	}
	r.MasterName = string(d.Raw(int(n)))
	if err := d.Err(); err != nil {
		return nil, 0, err
	}
	return r, UploadSlaveHeadLen + int(n), nil
}

// FileResponse is the body of the upload (11/21/23) and regenerate (38)
// replies: the 16-byte group then the logical file name.
type FileResponse struct {
	Group string
	Name  string
}

// Encode returns the reply body.
func (r *FileResponse) Encode() []byte {
	e := NewEncoder(GroupNameLen + len(r.Name))
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeFileResponse decodes an upload/regenerate reply body.
func DecodeFileResponse(b []byte) (*FileResponse, error) {
	if len(b) <= GroupNameLen || len(b) >= GroupNameLen+MaxStorageFilenameLn {
		return nil, fmt.Errorf("file reply of %d bytes: %w", len(b), ErrInvalid)
	}
	return &FileResponse{Group: CString(b[:GroupNameLen]), Name: string(b[GroupNameLen:])}, nil
}

// FileRequest is the body of DELETE_FILE (12), GET_METADATA (15) and
// QUERY_FILE_INFO (22): group then the logical file name (length implied).
type FileRequest struct {
	Group string
	Name  string
}

// Encode returns the body.
func (r *FileRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + len(r.Name))
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeFileRequest decodes a whole body.
func DecodeFileRequest(b []byte) (*FileRequest, error) {
	d := NewDecoder(b)
	r := &FileRequest{Group: d.Fixed(GroupNameLen)}
	r.Name = string(d.Rest())
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// DownloadRequest is the body of DOWNLOAD_FILE (14). Length 0 means to the
// end of the file.
type DownloadRequest struct {
	Offset, Length int64
	Group, Name    string
}

// Encode returns the body.
func (r *DownloadRequest) Encode() []byte {
	e := NewEncoder(DownloadHeadLen + len(r.Name))
	e.Int64(r.Offset)
	e.Int64(r.Length)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeDownloadRequest decodes a whole body.
func DecodeDownloadRequest(b []byte) (*DownloadRequest, error) {
	d := NewDecoder(b)
	r := &DownloadRequest{Offset: d.Int64(), Length: d.Int64(), Group: d.Fixed(GroupNameLen)}
	r.Name = string(d.Rest())
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// SetMetadataRequest is the body of SET_METADATA (13). Meta is the packed
// metadata (PackMeta); Flag is MetaOverwrite or MetaMerge.
type SetMetadataRequest struct {
	Name  string
	Flag  byte
	Group string
	Meta  []byte
}

// Encode returns the body.
func (r *SetMetadataRequest) Encode() []byte {
	e := NewEncoder(SetMetadataHeadLen + len(r.Name) + len(r.Meta))
	e.Int64(int64(len(r.Name)))
	e.Int64(int64(len(r.Meta)))
	e.Byte(r.Flag)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	e.Raw(r.Meta)
	return e.B
}

// DecodeSetMetadataRequest decodes a whole body; the two lengths must add
// up to the body length exactly (EINVAL otherwise, as upstream).
func DecodeSetMetadataRequest(b []byte) (*SetMetadataRequest, error) {
	d := NewDecoder(b)
	nameLen, metaLen := d.Int64(), d.Int64()
	r := &SetMetadataRequest{Flag: d.Byte(), Group: d.Fixed(GroupNameLen)}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if nameLen < 0 || metaLen < 0 || nameLen+metaLen != int64(d.Remaining()) {
		return nil, fmt.Errorf("set metadata: name %d + meta %d != %d: %w", nameLen, metaLen, d.Remaining(), ErrInvalid)
	}
	r.Name = string(d.Raw(int(nameLen)))
	r.Meta = d.Raw(int(metaLen))
	return r, d.Done()
}

// FileInfoResponse is the reply of QUERY_FILE_INFO (22).
type FileInfoResponse struct {
	Size       int64
	CreateTime int64 // unix seconds (mtime of the stored file)
	CRC32      uint32
	SourceIP   string
}

// Encode returns the reply body with an IP field of ipSize bytes
// (IPv4AddrSize → 40 bytes, IPv6AddrSize → 70). The CRC is sign-extended
// to 64 bits as upstream does.
func (r *FileInfoResponse) Encode(ipSize int) []byte {
	e := NewEncoder(24 + ipSize)
	e.Int64(r.Size)
	e.Int64(r.CreateTime)
	e.Int64(int64(int32(r.CRC32)))
	e.Fixed(r.SourceIP, ipSize)
	return e.B
}

// DecodeFileInfoResponse decodes a 40- or 70-byte reply.
func DecodeFileInfoResponse(b []byte) (*FileInfoResponse, error) {
	if len(b) != FileInfoRespLenIPv4 && len(b) != FileInfoRespLenIPv6 {
		return nil, fmt.Errorf("file info reply of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &FileInfoResponse{Size: d.Int64(), CreateTime: d.Int64(), CRC32: uint32(d.Int64())}
	r.SourceIP = CString(d.Rest())
	return r, d.Err()
}

// AppendRequest is the non-content part of APPEND_FILE (24); Length bytes
// of content follow.
type AppendRequest struct {
	Name   string
	Length int64
}

// Encode returns the head and name.
func (r *AppendRequest) Encode() []byte {
	e := NewEncoder(AppendHeadLen + len(r.Name))
	e.Int64(int64(len(r.Name)))
	e.Int64(r.Length)
	e.String(r.Name)
	return e.B
}

// DecodeAppendRequest decodes the head and name at the start of b.
func DecodeAppendRequest(b []byte) (*AppendRequest, int, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &AppendRequest{Length: d.Int64()}
	name, err := nameField(d, n)
	if err != nil {
		return nil, 0, err
	}
	r.Name = name
	return r, AppendHeadLen + len(name), nil
}

// ModifyRequest is the non-content part of MODIFY_FILE (34).
type ModifyRequest struct {
	Name           string
	Offset, Length int64
}

// Encode returns the head and name.
func (r *ModifyRequest) Encode() []byte {
	e := NewEncoder(ModifyHeadLen + len(r.Name))
	e.Int64(int64(len(r.Name)))
	e.Int64(r.Offset)
	e.Int64(r.Length)
	e.String(r.Name)
	return e.B
}

// DecodeModifyRequest decodes the head and name at the start of b.
func DecodeModifyRequest(b []byte) (*ModifyRequest, int, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &ModifyRequest{Offset: d.Int64(), Length: d.Int64()}
	name, err := nameField(d, n)
	if err != nil {
		return nil, 0, err
	}
	r.Name = name
	return r, ModifyHeadLen + len(name), nil
}

// TruncateRequest is the body of TRUNCATE_FILE (36).
type TruncateRequest struct {
	Name    string
	NewSize int64
}

// Encode returns the body.
func (r *TruncateRequest) Encode() []byte {
	e := NewEncoder(TruncateHeadLen + len(r.Name))
	e.Int64(int64(len(r.Name)))
	e.Int64(r.NewSize)
	e.String(r.Name)
	return e.B
}

// DecodeTruncateRequest decodes a whole body.
func DecodeTruncateRequest(b []byte) (*TruncateRequest, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &TruncateRequest{NewSize: d.Int64()}
	name, err := nameField(d, n)
	if err != nil {
		return nil, err
	}
	r.Name = name
	return r, d.Done()
}

// ReportServerIDRequest is the body of REPORT_SERVER_ID (9): the sender's
// storage id (IP mode: its IP text).
type ReportServerIDRequest struct {
	ID string
}

// Encode returns the 16-byte body.
func (r *ReportServerIDRequest) Encode() []byte {
	e := NewEncoder(StorageIDSize)
	e.Fixed(r.ID, StorageIDSize)
	return e.B
}

// DecodeReportServerIDRequest decodes the 16-byte body.
func DecodeReportServerIDRequest(b []byte) (*ReportServerIDRequest, error) {
	d := NewDecoder(b)
	r := &ReportServerIDRequest{ID: d.Fixed(StorageIDSize)}
	return r, d.Done()
}

// SyncFileRequest is the non-content part of SYNC_CREATE_FILE (16) and
// SYNC_UPDATE_FILE (18). FileSize bytes of content follow unless the
// header status is EEXIST (source-only form).
type SyncFileRequest struct {
	Name      string
	FileSize  int64
	Timestamp int32 // source op time, unix seconds
	Group     string
}

// Encode returns the head and name.
func (r *SyncFileRequest) Encode() []byte {
	e := NewEncoder(SyncFileHeadLen + len(r.Name))
	e.Int64(int64(len(r.Name)))
	e.Int64(r.FileSize)
	e.Int32(r.Timestamp)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeSyncFileRequest decodes the head and name at the start of b.
func DecodeSyncFileRequest(b []byte) (*SyncFileRequest, int, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &SyncFileRequest{FileSize: d.Int64(), Timestamp: d.Int32(), Group: d.Fixed(GroupNameLen)}
	name, err := nameField(d, n)
	if err != nil {
		return nil, 0, err
	}
	r.Name = name
	return r, SyncFileHeadLen + len(name), nil
}

// SyncDeleteRequest is the body of SYNC_DELETE_FILE (17).
type SyncDeleteRequest struct {
	Timestamp int32
	Group     string
	Name      string
}

// Encode returns the body.
func (r *SyncDeleteRequest) Encode() []byte {
	e := NewEncoder(SyncDeleteHeadLen + len(r.Name))
	e.Int32(r.Timestamp)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeSyncDeleteRequest decodes a whole body.
func DecodeSyncDeleteRequest(b []byte) (*SyncDeleteRequest, error) {
	d := NewDecoder(b)
	r := &SyncDeleteRequest{Timestamp: d.Int32(), Group: d.Fixed(GroupNameLen)}
	r.Name = string(d.Rest())
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// SyncRangeRequest is the non-content part of SYNC_APPEND_FILE (25) and
// SYNC_MODIFY_FILE (35); Length bytes of content follow.
type SyncRangeRequest struct {
	Name           string
	Offset, Length int64
	Timestamp      int32
	Group          string
}

// Encode returns the head and name.
func (r *SyncRangeRequest) Encode() []byte {
	e := NewEncoder(SyncRangeHeadLen + len(r.Name))
	e.Int64(int64(len(r.Name)))
	e.Int64(r.Offset)
	e.Int64(r.Length)
	e.Int32(r.Timestamp)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeSyncRangeRequest decodes the head and name at the start of b.
func DecodeSyncRangeRequest(b []byte) (*SyncRangeRequest, int, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &SyncRangeRequest{Offset: d.Int64(), Length: d.Int64(), Timestamp: d.Int32(), Group: d.Fixed(GroupNameLen)}
	name, err := nameField(d, n)
	if err != nil {
		return nil, 0, err
	}
	r.Name = name
	return r, SyncRangeHeadLen + len(name), nil
}

// SyncTruncateRequest is the body of SYNC_TRUNCATE_FILE (37).
type SyncTruncateRequest struct {
	Name             string
	OldSize, NewSize int64
	Timestamp        int32
	Group            string
}

// Encode returns the body.
func (r *SyncTruncateRequest) Encode() []byte {
	e := NewEncoder(SyncTruncateHeadLen + len(r.Name))
	e.Int64(int64(len(r.Name)))
	e.Int64(r.OldSize)
	e.Int64(r.NewSize)
	e.Int32(r.Timestamp)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.Name)
	return e.B
}

// DecodeSyncTruncateRequest decodes a whole body.
func DecodeSyncTruncateRequest(b []byte) (*SyncTruncateRequest, error) {
	d := NewDecoder(b)
	n := d.Int64()
	r := &SyncTruncateRequest{OldSize: d.Int64(), NewSize: d.Int64(), Timestamp: d.Int32(), Group: d.Fixed(GroupNameLen)}
	name, err := nameField(d, n)
	if err != nil {
		return nil, err
	}
	r.Name = name
	return r, d.Done()
}

// SyncTwoNamesRequest is the body of SYNC_CREATE_LINK (19: First = dest
// link name, Second = source name) and SYNC_RENAME_FILE (40: First = new
// name, Second = old name).
type SyncTwoNamesRequest struct {
	First, Second string
	Timestamp     int32
	Group         string
}

// Encode returns the body.
func (r *SyncTwoNamesRequest) Encode() []byte {
	e := NewEncoder(SyncTwoNamesHeadLen + len(r.First) + len(r.Second))
	e.Int64(int64(len(r.First)))
	e.Int64(int64(len(r.Second)))
	e.Int32(r.Timestamp)
	e.Fixed(r.Group, GroupNameLen)
	e.String(r.First)
	e.String(r.Second)
	return e.B
}

// DecodeSyncTwoNamesRequest decodes a whole body.
func DecodeSyncTwoNamesRequest(b []byte) (*SyncTwoNamesRequest, error) {
	d := NewDecoder(b)
	n1, n2 := d.Int64(), d.Int64()
	r := &SyncTwoNamesRequest{Timestamp: d.Int32(), Group: d.Fixed(GroupNameLen)}
	first, err := nameField(d, n1)
	if err != nil {
		return nil, err
	}
	second, err := nameField(d, n2)
	if err != nil {
		return nil, err
	}
	r.First, r.Second = first, second
	return r, d.Done()
}

// nameField reads a file name whose length n came off the wire, refusing
// lengths outside 1..127 (upstream's name buffer is 128 bytes).
func nameField(d *Decoder, n int64) (string, error) {
	if err := d.Err(); err != nil {
		return "", err
	}
	if n <= 0 || n >= MaxStorageFilenameLn {
		return "", fmt.Errorf("file name length %d: %w", n, ErrInvalid)
	}
	s := string(d.Raw(int(n)))
	return s, d.Err()
}

// PackMeta encodes metadata as upstream stores and sends it: records
// "name\x02value" joined by "\x01", sorted by name (byte order), no
// trailing separator.
func PackMeta(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	n := 0
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	sort.Strings(keys)
	b := make([]byte, 0, n)
	for i, k := range keys {
		if i > 0 {
			b = append(b, MetaRecordSep)
		}
		b = append(b, k...)
		b = append(b, MetaFieldSep)
		b = append(b, m[k]...)
	}
	return b
}

// UnpackMeta decodes packed metadata. Like upstream's splitter it truncates
// names to 64 and values to 256 bytes and skips records without a name/value
// separator; an empty input is an empty map.
func UnpackMeta(b []byte) (map[string]string, error) {
	m := make(map[string]string)
	if len(b) == 0 {
		return m, nil
	}
	for _, rec := range bytes.Split(b, []byte{MetaRecordSep}) {
		k, v, ok := bytes.Cut(rec, []byte{MetaFieldSep})
		if !ok {
			continue
		}
		if len(k) > MetaNameMaxLen {
			k = k[:MetaNameMaxLen]
		}
		if len(v) > MetaValueMaxLen {
			v = v[:MetaValueMaxLen]
		}
		m[string(k)] = string(v)
	}
	return m, nil
}
