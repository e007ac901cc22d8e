package protocol

import "fmt"

// This file holds the bodies tracker peers exchange among themselves
// (leader election, follower check-in, sys-file copy) and the storage's
// status change, which the trackers decoded by hand before.

// Sizes of the tracker peer bodies.
const (
	JoinLeaderLen    = 8 + VersionSize + 8 // 24: start time, version, port
	PingLeaderLen    = 3 * 4               // 12: three connection counters
	SysFileReqLen    = 1 + 8               // 9: file index, offset
	SysFileChunkHead = 8                   // file size, then the bytes from the offset
)

// DecodeLeaderAddr parses the body of TRACKER_NOTIFY_NEXT_LEADER (66) and
// TRACKER_COMMIT_NEXT_LEADER (67): "ip:port" ("[ipv6]:port"). As upstream
// 6.16.1 (tracker_deal_notify_next_leader), any length up to
// HostPortTextSize is accepted and the text ends at the body's end or at a
// NUL: upstream sends strlen("ip:port") bytes, older senders a NUL-padded
// 52-byte field.
func DecodeLeaderAddr(b []byte) (string, error) {
	if len(b) == 0 || len(b) > HostPortTextSize {
		return "", fmt.Errorf("leader body of %d bytes: %w", len(b), ErrInvalid)
	}
	a := CString(b)
	if _, _, err := ParseHostPort(a); err != nil {
		return "", err
	}
	return a, nil
}

// EncodeLeaderAddr is the 66/67 body as upstream sends it
// (do_notify_leader_changed): the "ip:port" text without padding or NUL.
func EncodeLeaderAddr(addr string) []byte { return []byte(addr) }

// JoinLeaderRequest is the body of TRACKER_JOIN_LEADER (58): a follower's
// start time, version and the port it listens on (the leader finds it by
// the connection's source IP and that port).
type JoinLeaderRequest struct {
	StartTime int64 // unix seconds
	Version   string
	Port      int64
}

// Encode returns the 24-byte body.
func (r *JoinLeaderRequest) Encode() []byte {
	e := NewEncoder(JoinLeaderLen)
	e.Int64(r.StartTime)
	e.Fixed(r.Version, VersionSize)
	e.Int64(r.Port)
	return e.B
}

// DecodeJoinLeaderRequest decodes the 24-byte body.
func DecodeJoinLeaderRequest(b []byte) (*JoinLeaderRequest, error) {
	if len(b) != JoinLeaderLen {
		return nil, fmt.Errorf("join leader body of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &JoinLeaderRequest{StartTime: d.Int64(), Version: d.Fixed(VersionSize), Port: d.Int64()}
	return r, d.Done()
}

// PingLeaderRequest is the body of TRACKER_PING_LEADER (65): the
// follower's connection counters. Older followers send an empty body,
// which decodes as nil.
type PingLeaderRequest struct {
	MaxConnections     int32
	CurrentConnections int32
	PeakConnections    int32
}

// Encode returns the 12-byte body.
func (r *PingLeaderRequest) Encode() []byte {
	e := NewEncoder(PingLeaderLen)
	e.Int32(r.MaxConnections)
	e.Int32(r.CurrentConnections)
	e.Int32(r.PeakConnections)
	return e.B
}

// DecodePingLeaderRequest decodes an empty (nil, nil) or 12-byte body.
func DecodePingLeaderRequest(b []byte) (*PingLeaderRequest, error) {
	switch len(b) {
	case 0:
		return nil, nil
	case PingLeaderLen:
	default:
		return nil, fmt.Errorf("ping leader body of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &PingLeaderRequest{MaxConnections: d.Int32(), CurrentConnections: d.Int32(), PeakConnections: d.Int32()}
	return r, d.Done()
}

// SysFileRequest is the body of TRACKER_GET_ONE_SYS_FILE (63): which sys
// file, from which offset.
type SysFileRequest struct {
	Index  byte
	Offset int64
}

// Encode returns the 9-byte body.
func (r *SysFileRequest) Encode() []byte {
	e := NewEncoder(SysFileReqLen)
	e.Byte(r.Index)
	e.Int64(r.Offset)
	return e.B
}

// DecodeSysFileRequest decodes the 9-byte body.
func DecodeSysFileRequest(b []byte) (*SysFileRequest, error) {
	if len(b) != SysFileReqLen {
		return nil, fmt.Errorf("sys file request of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	r := &SysFileRequest{Index: d.Byte(), Offset: d.Int64()}
	return r, d.Done()
}

// SysFileChunk is the reply of TRACKER_GET_ONE_SYS_FILE (63): the whole
// file's size, then the bytes from the requested offset.
type SysFileChunk struct {
	FileSize int64
	Data     []byte
}

// Encode returns the reply body.
func (c *SysFileChunk) Encode() []byte {
	e := NewEncoder(SysFileChunkHead + len(c.Data))
	e.Int64(c.FileSize)
	e.Raw(c.Data)
	return e.B
}

// DecodeSysFileChunk decodes a reply body; Data aliases b.
func DecodeSysFileChunk(b []byte) (*SysFileChunk, error) {
	if len(b) < SysFileChunkHead {
		return nil, fmt.Errorf("sys file reply of %d bytes: %w", len(b), ErrInvalid)
	}
	d := NewDecoder(b)
	c := &SysFileChunk{FileSize: d.Int64()}
	c.Data = d.Rest()
	return c, d.Err()
}

// StatusChangeRequest is the body of STORAGE_CHANGE_STATUS (the storage
// asks its tracker for a new status of its own): one status byte.
type StatusChangeRequest struct {
	Status byte
}

// Encode returns the 1-byte body.
func (r *StatusChangeRequest) Encode() []byte { return []byte{r.Status} }

// DecodeStatusChangeRequest decodes the 1-byte body.
func DecodeStatusChangeRequest(b []byte) (*StatusChangeRequest, error) {
	if len(b) != 1 {
		return nil, fmt.Errorf("change status body of %d bytes: %w", len(b), ErrInvalid)
	}
	return &StatusChangeRequest{Status: b[0]}, nil
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
