package fileid

// Source is bytes 0–3 of the encoded name exactly as written: the IPv4
// octets in order (IP mode) or the numeric storage id little-endian (id
// mode, as x86 upstream writes it).
type Source [4]byte

// Name is a parsed logical file name (no group).
type Name struct {
	StorePathIndex int    // from Mxx
	High, Low      int    // data directory levels HH and LL
	File           string // part after "Mxx/HH/LL/"

	Source   Source
	SourceIP string // set when Source decodes as an IPv4 address
	SourceID string // set when Source decodes as a numeric server id

	Timestamp int64  // create time, unix seconds
	RawSize   int64  // bytes 8–15 as stored, flag and random bits included
	CRC32     uint32 // of the (initial) content

	Appender bool
	Trunk    bool
	Slave    bool
	Size     int64  // true size, -1 if it cannot be known from the name
	Ext      string // extension without the dot ("" if none)

	// Trunk location (trunk names only).
	TrunkFileID    uint32
	TrunkOffset    uint32 // bytes
	TrunkAllocSize uint32 // bytes
}

// Fields are the values encoded into a new name.
type Fields struct {
	Source    Source
	Timestamp int64 // unix seconds
	Size      int64 // bytes (ignored for appender files)
	CRC32     uint32
	Appender  bool
	Trunk     bool

	// Trunk location, encoded only when Trunk is set.
	TrunkFileID    uint32
	TrunkOffset    uint32 // bytes
	TrunkAllocSize uint32 // bytes
}
