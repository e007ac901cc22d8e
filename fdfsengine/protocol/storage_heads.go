package protocol

import "fmt"

// This file holds the fixed heads of the storage commands whose names and
// content are streamed: a server reads the head alone, checks the lengths
// it announces against its own limits, then reads the name (and streams
// the content) itself. Each head decodes from exactly its fixed length; a
// name length outside 0..127 (upstream's 128-byte name buffer) is refused
// here, narrower per-command bounds are the server's. The whole-prefix
// decoders (DecodeAppendRequest, ...) are what a test or a buffering peer
// uses; a head and its name decode to the same request.

// FetchPathBinlogLen is the body of FETCH_ONE_PATH_BINLOG (26): the group
// then the store path index.
const FetchPathBinlogLen = GroupNameLen + 1

// decodeHead returns a Decoder over a head that must be exactly n bytes.
func decodeHead(what string, b []byte, n int) (*Decoder, error) {
	if len(b) != n {
		return nil, fmt.Errorf("%s head of %d bytes, want %d: %w", what, len(b), n, ErrInvalid)
	}
	return NewDecoder(b), nil
}

// headNameLen checks a name length read from a head.
func headNameLen(what string, n int64) error {
	if n < 0 || n >= MaxStorageFilenameLn {
		return fmt.Errorf("%s name length %d: %w", what, n, ErrInvalid)
	}
	return nil
}

// UploadSlaveHead is the 38-byte head of UPLOAD_SLAVE_FILE (21): the
// master name (MasterLen bytes) and FileSize bytes of content follow.
type UploadSlaveHead struct {
	MasterLen int64
	FileSize  int64
	Prefix    string
	Ext       string
}

// Encode returns the head.
func (h *UploadSlaveHead) Encode() []byte {
	e := NewEncoder(UploadSlaveHeadLen)
	e.Int64(h.MasterLen)
	e.Int64(h.FileSize)
	e.Fixed(h.Prefix, SlavePrefixLen)
	e.Fixed(h.Ext, ExtNameLen)
	return e.B
}

// DecodeUploadSlaveHead decodes the head.
func DecodeUploadSlaveHead(b []byte) (*UploadSlaveHead, error) {
	d, err := decodeHead("upload slave", b, UploadSlaveHeadLen)
	if err != nil {
		return nil, err
	}
	h := &UploadSlaveHead{MasterLen: d.Int64(), FileSize: d.Int64(), Prefix: d.Fixed(SlavePrefixLen), Ext: d.Fixed(ExtNameLen)}
	if err := headNameLen("master", h.MasterLen); err != nil {
		return nil, err
	}
	return h, d.Done()
}

// Request completes the head with the master name read after it.
func (h *UploadSlaveHead) Request(master []byte) *UploadSlaveRequest {
	return &UploadSlaveRequest{MasterName: string(master), FileSize: h.FileSize, Prefix: h.Prefix, Ext: h.Ext}
}

// AppendHead is the 16-byte head of APPEND_FILE (24): the appender file
// name (NameLen bytes) and Length bytes of content follow.
type AppendHead struct {
	NameLen int64
	Length  int64
}

// Encode returns the head.
func (h *AppendHead) Encode() []byte {
	e := NewEncoder(AppendHeadLen)
	e.Int64(h.NameLen)
	e.Int64(h.Length)
	return e.B
}

// DecodeAppendHead decodes the head.
func DecodeAppendHead(b []byte) (*AppendHead, error) {
	d, err := decodeHead("append", b, AppendHeadLen)
	if err != nil {
		return nil, err
	}
	h := &AppendHead{NameLen: d.Int64(), Length: d.Int64()}
	if err := headNameLen("append", h.NameLen); err != nil {
		return nil, err
	}
	return h, d.Done()
}

// ModifyHead is the 24-byte head of MODIFY_FILE (34): the appender file
// name (NameLen bytes) and Length bytes of content for Offset follow.
type ModifyHead struct {
	NameLen int64
	Offset  int64
	Length  int64
}

// Encode returns the head.
func (h *ModifyHead) Encode() []byte {
	e := NewEncoder(ModifyHeadLen)
	e.Int64(h.NameLen)
	e.Int64(h.Offset)
	e.Int64(h.Length)
	return e.B
}

// DecodeModifyHead decodes the head.
func DecodeModifyHead(b []byte) (*ModifyHead, error) {
	d, err := decodeHead("modify", b, ModifyHeadLen)
	if err != nil {
		return nil, err
	}
	h := &ModifyHead{NameLen: d.Int64(), Offset: d.Int64(), Length: d.Int64()}
	if err := headNameLen("modify", h.NameLen); err != nil {
		return nil, err
	}
	return h, d.Done()
}

// TruncateHead is the 16-byte head of TRUNCATE_FILE (36): the appender
// file name (NameLen bytes) follows and ends the body.
type TruncateHead struct {
	NameLen int64
	NewSize int64
}

// Encode returns the head.
func (h *TruncateHead) Encode() []byte {
	e := NewEncoder(TruncateHeadLen)
	e.Int64(h.NameLen)
	e.Int64(h.NewSize)
	return e.B
}

// DecodeTruncateHead decodes the head.
func DecodeTruncateHead(b []byte) (*TruncateHead, error) {
	d, err := decodeHead("truncate", b, TruncateHeadLen)
	if err != nil {
		return nil, err
	}
	h := &TruncateHead{NameLen: d.Int64(), NewSize: d.Int64()}
	if err := headNameLen("truncate", h.NameLen); err != nil {
		return nil, err
	}
	return h, d.Done()
}

// RegenerateRequest is the body of REGENERATE_APPENDER_FILENAME (38): the
// appender file name alone, its length implied by the body's.
type RegenerateRequest struct {
	Name string
}

// Encode returns the body.
func (r *RegenerateRequest) Encode() []byte { return []byte(r.Name) }

// DecodeRegenerateRequest decodes a whole body: a name of 1..127 bytes.
func DecodeRegenerateRequest(b []byte) (*RegenerateRequest, error) {
	if len(b) == 0 || len(b) >= MaxStorageFilenameLn {
		return nil, fmt.Errorf("regenerate: file name length %d: %w", len(b), ErrInvalid)
	}
	return &RegenerateRequest{Name: string(b)}, nil
}

// FetchPathBinlogRequest is the body of FETCH_ONE_PATH_BINLOG (26): a
// recovering storage asks a peer of its group for the create records of
// one store path.
type FetchPathBinlogRequest struct {
	Group          string
	StorePathIndex byte
}

// Encode returns the 17-byte body.
func (r *FetchPathBinlogRequest) Encode() []byte {
	e := NewEncoder(FetchPathBinlogLen)
	e.Fixed(r.Group, GroupNameLen)
	e.Byte(r.StorePathIndex)
	return e.B
}

// DecodeFetchPathBinlogRequest decodes the 17-byte body.
func DecodeFetchPathBinlogRequest(b []byte) (*FetchPathBinlogRequest, error) {
	if len(b) != FetchPathBinlogLen {
		return nil, fmt.Errorf("fetch one path binlog body of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &FetchPathBinlogRequest{Group: d.Fixed(GroupNameLen), StorePathIndex: d.Byte()}
	return r, d.Done()
}
