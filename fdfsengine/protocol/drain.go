package protocol

import "fmt"

// CmdServerDrainStorage is an extension of ours (no upstream tracker knows
// it; they answer EINVAL): take a storage out of service before it is
// stopped, see trackernode's drain.go and docs/migration.md.
const CmdServerDrainStorage byte = 200

// Operations of SERVER_DRAIN_STORAGE.
const (
	DrainQuery byte = 0 // only report the state
	DrainStart byte = 1
	DrainStop  byte = 2
)

// Drain states of the reply.
const (
	DrainNone     byte = 0 // in service
	DrainOngoing  byte = 1 // its peers are still catching up
	DrainComplete byte = 2 // nothing is routed to it any more
)

// drainRequestLen is group (16), op (1), storage id or IP (46).
const drainRequestLen = GroupNameLen + 1 + IPv6AddrSize

// DrainRequest is the body of SERVER_DRAIN_STORAGE.
type DrainRequest struct {
	Group   string
	Op      byte
	Storage string // storage id, or its IP
}

// Encode returns the 63-byte body.
func (r *DrainRequest) Encode() []byte {
	e := NewEncoder(drainRequestLen)
	e.Fixed(r.Group, GroupNameLen)
	e.Byte(r.Op)
	e.Fixed(r.Storage, IPv6AddrSize)
	return e.B
}

// DecodeDrainRequest decodes and checks a SERVER_DRAIN_STORAGE body.
func DecodeDrainRequest(b []byte) (*DrainRequest, error) {
	if len(b) != drainRequestLen {
		return nil, fmt.Errorf("drain request of %d bytes, want %d: %w", len(b), drainRequestLen, ErrInvalid)
	}
	d := NewDecoder(b)
	r := &DrainRequest{Group: d.Fixed(GroupNameLen), Op: d.Byte(), Storage: d.Fixed(IPv6AddrSize)}
	if r.Op > DrainStop || r.Storage == "" || r.Group == "" {
		return nil, fmt.Errorf("drain request op %d, storage %q, group %q: %w", r.Op, r.Storage, r.Group, ErrInvalid)
	}
	return r, d.Err()
}
