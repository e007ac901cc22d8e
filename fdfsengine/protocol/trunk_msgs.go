package protocol

import "fmt"

// TrunkInfoLen is FDFSTrunkInfoBuff: store path index, high, low (1 byte
// each), trunk file id, offset, size (int32 each).
const TrunkInfoLen = 15

// TrunkInfo is a slot of a trunk file on the wire (FDFSTrunkInfoBuff).
type TrunkInfo struct {
	StorePathIndex, High, Low byte
	ID, Offset, Size          uint32 // size: alloc size in bytes
}

// AppendTo appends the 15-byte form.
func (t TrunkInfo) AppendTo(e *Encoder) {
	e.Byte(t.StorePathIndex)
	e.Byte(t.High)
	e.Byte(t.Low)
	e.Int32(int32(t.ID))
	e.Int32(int32(t.Offset))
	e.Int32(int32(t.Size))
}

func decodeTrunkInfo(d *Decoder) TrunkInfo {
	return TrunkInfo{StorePathIndex: d.Byte(), High: d.Byte(), Low: d.Byte(),
		ID: uint32(d.Int32()), Offset: uint32(d.Int32()), Size: uint32(d.Int32())}
}

// DecodeTrunkInfo decodes a whole TRUNK_ALLOC_SPACE reply.
func DecodeTrunkInfo(b []byte) (TrunkInfo, error) {
	d := NewDecoder(b)
	t := decodeTrunkInfo(d)
	if err := d.Done(); err != nil {
		return TrunkInfo{}, fmt.Errorf("trunk info: %w", err)
	}
	return t, nil
}

// Encode returns the 15-byte reply body.
func (t TrunkInfo) Encode() []byte {
	e := NewEncoder(TrunkInfoLen)
	t.AppendTo(e)
	return e.B
}

// TrunkAllocRequest is the body of TRUNK_ALLOC_SPACE (27): group(16),
// size(int32, header included), store path index(1).
type TrunkAllocRequest struct {
	Group          string
	Size           int32
	StorePathIndex byte
}

// Encode returns the 21-byte body.
func (r *TrunkAllocRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + 5)
	e.Fixed(r.Group, GroupNameLen)
	e.Int32(r.Size)
	e.Byte(r.StorePathIndex)
	return e.B
}

// DecodeTrunkAllocRequest decodes a whole body.
func DecodeTrunkAllocRequest(b []byte) (*TrunkAllocRequest, error) {
	d := NewDecoder(b)
	r := &TrunkAllocRequest{Group: d.Fixed(GroupNameLen), Size: d.Int32(), StorePathIndex: d.Byte()}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("trunk alloc request: %w", err)
	}
	return r, nil
}

// TrunkSlotRequest is the body of TRUNK_ALLOC_CONFIRM (28, the header
// status carries the upload's outcome) and TRUNK_FREE_SPACE (29):
// group(16) + the slot.
type TrunkSlotRequest struct {
	Group string
	Slot  TrunkInfo
}

// Encode returns the 31-byte body.
func (r *TrunkSlotRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + TrunkInfoLen)
	e.Fixed(r.Group, GroupNameLen)
	r.Slot.AppendTo(e)
	return e.B
}

// DecodeTrunkSlotRequest decodes a whole body.
func DecodeTrunkSlotRequest(b []byte) (*TrunkSlotRequest, error) {
	d := NewDecoder(b)
	r := &TrunkSlotRequest{Group: d.Fixed(GroupNameLen), Slot: decodeTrunkInfo(d)}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("trunk slot request: %w", err)
	}
	return r, nil
}
