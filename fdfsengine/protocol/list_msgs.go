package protocol

import "fmt"

// Codecs of LIST_FILES (120) and SCRUB (121), the commands a storage of
// this implementation serves beyond upstream's.

// List orders.
const (
	ListByName   byte = 0 // logical name ascending
	ListByNewest byte = 1 // create time descending, then name ascending
)

// Bounds of the listing messages.
const (
	MaxListLimit   = 10000 // entries per LIST_FILES reply
	maxListString  = 255   // bytes of a name, extension or prefix field
	listEntryFixed = 8 + 8 + 4 + 1
)

// ListKey is a position in a listing order: the create time (ListByNewest
// only) and the logical name of an entry. The zero key is the start.
type ListKey struct {
	Time int64  // unix seconds
	Name string // "" = before the first entry
}

// ListFilesRequest asks a storage for the next entries of its file index
// after After that match the filters.
type ListFilesRequest struct {
	Group string
	Order byte
	Limit int32 // 1..MaxListLimit
	After ListKey
	// Filters; zero values filter nothing.
	CreatedFrom int64 // unix seconds, inclusive
	CreatedTo   int64 // unix seconds, exclusive
	MinSize     int64 // bytes, inclusive
	MaxSize     int64 // bytes, inclusive; 0 = no bound
	Ext         string
	Prefix      string // of the logical name, e.g. "M00/" or "M00/0A/"
}

// Encode returns the request body.
func (r *ListFilesRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + 64 + len(r.After.Name) + len(r.Ext) + len(r.Prefix))
	e.Fixed(r.Group, GroupNameLen)
	e.Byte(r.Order)
	e.Int32(r.Limit)
	e.Int64(r.After.Time)
	e.Int64(r.CreatedFrom)
	e.Int64(r.CreatedTo)
	e.Int64(r.MinSize)
	e.Int64(r.MaxSize)
	for _, s := range []string{r.After.Name, r.Ext, r.Prefix} {
		e.Byte(byte(len(s)))
		e.String(s)
	}
	return e.B
}

// Validate checks the fields a decoded or built request must satisfy.
func (r *ListFilesRequest) Validate() error {
	switch {
	case r.Order != ListByName && r.Order != ListByNewest:
		return fmt.Errorf("list order %d: %w", r.Order, ErrInvalid)
	case r.Limit <= 0 || r.Limit > MaxListLimit:
		return fmt.Errorf("list limit %d not in 1..%d: %w", r.Limit, MaxListLimit, ErrInvalid)
	case len(r.After.Name) > maxListString || len(r.Ext) > maxListString || len(r.Prefix) > maxListString:
		return fmt.Errorf("list string longer than %d bytes: %w", maxListString, ErrInvalid)
	case r.MinSize < 0 || r.MaxSize < 0:
		return fmt.Errorf("negative size bound: %w", ErrInvalid)
	}
	return nil
}

// DecodeListFilesRequest decodes and validates a LIST_FILES body.
func DecodeListFilesRequest(b []byte) (*ListFilesRequest, error) {
	d := NewDecoder(b)
	r := &ListFilesRequest{Group: d.Fixed(GroupNameLen), Order: d.Byte(), Limit: d.Int32()}
	r.After.Time = d.Int64()
	r.CreatedFrom, r.CreatedTo = d.Int64(), d.Int64()
	r.MinSize, r.MaxSize = d.Int64(), d.Int64()
	r.After.Name = string(d.Raw(int(d.Byte())))
	r.Ext = string(d.Raw(int(d.Byte())))
	r.Prefix = string(d.Raw(int(d.Byte())))
	if err := d.Done(); err != nil {
		return nil, err
	}
	return r, r.Validate()
}

// ListEntry is one file of a listing.
type ListEntry struct {
	Name  string // logical name, no group
	Time  int64  // create time, unix seconds (from the name)
	Size  int64  // bytes
	CRC32 uint32 // from the name (of the initial content for appender files)
}

// ListFilesReply is a page of a storage's index. Through is the position
// up to which the storage examined its index: every matching entry up to
// it is in Entries. End means it reached the end of the index.
type ListFilesReply struct {
	Entries []ListEntry
	Through ListKey
	End     bool
}

// Encode returns the reply body.
func (r *ListFilesReply) Encode() []byte {
	n := 1 + 8 + 1 + len(r.Through.Name) + 4
	for i := range r.Entries {
		n += listEntryFixed + len(r.Entries[i].Name)
	}
	e := NewEncoder(n)
	end := byte(0)
	if r.End {
		end = 1
	}
	e.Byte(end)
	e.Int64(r.Through.Time)
	e.Byte(byte(len(r.Through.Name)))
	e.String(r.Through.Name)
	e.Int32(int32(len(r.Entries)))
	for _, en := range r.Entries {
		e.Int64(en.Time)
		e.Int64(en.Size)
		e.Int32(int32(en.CRC32))
		e.Byte(byte(len(en.Name)))
		e.String(en.Name)
	}
	return e.B
}

// DecodeListFilesReply decodes a LIST_FILES reply.
func DecodeListFilesReply(b []byte) (*ListFilesReply, error) {
	d := NewDecoder(b)
	r := &ListFilesReply{End: d.Byte() == 1}
	r.Through.Time = d.Int64()
	r.Through.Name = string(d.Raw(int(d.Byte())))
	n := int(d.Int32())
	if n < 0 || n > MaxListLimit || n*listEntryFixed > d.Remaining() {
		return nil, fmt.Errorf("list reply of %d entries in %d bytes: %w", n, d.Remaining(), ErrInvalid)
	}
	r.Entries = make([]ListEntry, n)
	for i := range r.Entries {
		en := &r.Entries[i]
		en.Time, en.Size, en.CRC32 = d.Int64(), d.Int64(), uint32(d.Int32())
		en.Name = string(d.Raw(int(d.Byte())))
	}
	return r, d.Done()
}

// Scrub request flags.
const (
	ScrubRunNow byte = 1 // start a pass
)

// ScrubRequest asks a storage for its scrubber's report (SCRUB, 121); with
// ScrubRunNow it starts a pass at Rate bytes/s (0: unthrottled) unless one
// is running, and answers without waiting for it.
type ScrubRequest struct {
	Group string
	Flags byte
	Rate  int64 // bytes/s
}

// Encode returns the request body.
func (r *ScrubRequest) Encode() []byte {
	e := NewEncoder(GroupNameLen + 9)
	e.Fixed(r.Group, GroupNameLen)
	e.Byte(r.Flags)
	e.Int64(r.Rate)
	return e.B
}

// DecodeScrubRequest decodes a SCRUB body.
func DecodeScrubRequest(b []byte) (*ScrubRequest, error) {
	d := NewDecoder(b)
	r := &ScrubRequest{Group: d.Fixed(GroupNameLen), Flags: d.Byte(), Rate: d.Int64()}
	if err := d.Done(); err != nil {
		return nil, err
	}
	if r.Rate < 0 {
		return nil, fmt.Errorf("scrub rate %d: %w", r.Rate, ErrInvalid)
	}
	return r, nil
}

// Scrub finding kinds and outcomes.
const (
	ScrubCorrupt byte = 'C' // content does not match the CRC32 or size of its name
	ScrubMissing byte = 'M' // in the index, not on disk

	ScrubRepaired   byte = 'R' // replaced by a verified copy from a peer
	ScrubUnrepaired byte = 'U' // no peer had a copy that verifies
)

// ScrubFinding is one bad file a pass found.
type ScrubFinding struct {
	Name    string
	Kind    byte // ScrubCorrupt or ScrubMissing
	Outcome byte // ScrubRepaired or ScrubUnrepaired
	Time    int64
}

// ScrubReport is what a storage's scrubber counted (since the start) and
// the findings of its last passes (newest last, bounded).
type ScrubReport struct {
	Passes     int64
	Files      int64 // files checked
	Bytes      int64 // bytes read
	Corrupt    int64
	Missing    int64
	Repaired   int64
	Unrepaired int64
	LastPassAt int64 // unix seconds the last pass ended, 0 = none yet
	Running    bool  // a pass is running
	Findings   []ScrubFinding
}

// Encode returns the reply body.
func (r *ScrubReport) Encode() []byte {
	e := NewEncoder(8*8 + 4 + len(r.Findings)*64)
	for _, v := range []int64{r.Passes, r.Files, r.Bytes, r.Corrupt, r.Missing, r.Repaired, r.Unrepaired, r.LastPassAt} {
		e.Int64(v)
	}
	running := byte(0)
	if r.Running {
		running = 1
	}
	e.Byte(running)
	e.Int32(int32(len(r.Findings)))
	for _, f := range r.Findings {
		e.Byte(f.Kind)
		e.Byte(f.Outcome)
		e.Int64(f.Time)
		e.Byte(byte(len(f.Name)))
		e.String(f.Name)
	}
	return e.B
}

// DecodeScrubReport decodes a SCRUB reply.
func DecodeScrubReport(b []byte) (*ScrubReport, error) {
	d := NewDecoder(b)
	r := &ScrubReport{}
	for _, p := range []*int64{&r.Passes, &r.Files, &r.Bytes, &r.Corrupt, &r.Missing, &r.Repaired, &r.Unrepaired, &r.LastPassAt} {
		*p = d.Int64()
	}
	r.Running = d.Byte() == 1
	n := int(d.Int32())
	if n < 0 || n*11 > d.Remaining() {
		return nil, fmt.Errorf("scrub report of %d findings in %d bytes: %w", n, d.Remaining(), ErrInvalid)
	}
	r.Findings = make([]ScrubFinding, n)
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Kind, f.Outcome, f.Time = d.Byte(), d.Byte(), d.Int64()
		f.Name = string(d.Raw(int(d.Byte())))
	}
	return r, d.Done()
}
