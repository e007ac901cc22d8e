package protocol

import "fmt"

// The cluster statistics: SERVER_TRACKER_CLUSTER_STAT (96),
// SERVER_STORAGE_CLUSTER_STAT (97) and SERVER_STORAGE_VOLUMN_STAT (98).

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
