package fileops

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Listing bounds.
const (
	DefaultPageSize  = 100
	MaxPageSize      = 1000
	pageTokenVersion = 1
)

// Lister is the part of the engine that lists files; *client.Client
// implements it. An engine without it answers UNIMPLEMENTED.
type Lister interface {
	ListFiles(ctx context.Context, q client.ListQuery) (*client.ListPage, error)
}

var _ Lister = (*client.Client)(nil)

// ListRequest selects files to list (ListFiles).
type ListRequest struct {
	Group     string
	Storage   string // storage id or IP; "" = the whole group
	StorePath int    // -1 = every store path
	Prefix    string // of the name after the group
	Newest    bool   // newest first; else by name
	// CreatedFrom and CreatedTo bound the create time: [from, to); zero
	// times are no bound.
	CreatedFrom, CreatedTo time.Time
	Ext                    string
	MinSize, MaxSize       int64 // bytes; MaxSize 0 = no bound
	PageSize               int   // 0 = DefaultPageSize
	PageToken              string
}

// ListedFile is one file of a page.
type ListedFile struct {
	FileID string
	Name   *fileid.Name
	Size   int64
}

// ListPage is a page of files and the token of the next one ("" on the
// last page).
type ListPage struct {
	Files     []ListedFile
	NextToken string
}

// ListFiles returns a page of the files of a group (AIP-158 paging).
// Page tokens are opaque to clients: a version, a hash of the filters
// (a token used with other filters is refused) and the position in the
// order, which is a property of the files themselves (create time from
// the file ID, name), so a token stays valid across gateway and storage
// restarts.
func (f *Files) ListFiles(ctx context.Context, r ListRequest) (*ListPage, error) {
	lister, ok := f.eng.(Lister)
	if !ok {
		return nil, ToStatus(fmt.Errorf("listing: %w", protocol.ErrNotSupported), "")
	}
	q, err := listQuery(r)
	if err != nil {
		return nil, ToStatus(err, "")
	}
	page, err := lister.ListFiles(ctx, q)
	if err != nil {
		return nil, f.status(err, "")
	}
	out := &ListPage{}
	for _, e := range page.Files {
		n, err := fileid.Parse(e.Name)
		if err != nil {
			continue // the storages list parsed names only
		}
		out.Files = append(out.Files, ListedFile{FileID: fileid.Join(r.Group, e.Name), Name: n, Size: e.Size})
	}
	if page.More {
		out.NextToken = encodePageToken(filterHash(r), page.Next)
	}
	return out, nil
}

// listQuery validates r and turns it into the engine's query.
func listQuery(r ListRequest) (client.ListQuery, error) {
	q := client.ListQuery{Group: r.Group, Storage: r.Storage}
	var vs []FieldViolation
	if !fileid.ValidGroup(r.Group) {
		vs = append(vs, FieldViolation{"group", fmt.Sprintf("bad group %q", r.Group)})
	}
	if r.PageSize < 0 || r.PageSize > MaxPageSize {
		vs = append(vs, FieldViolation{"page_size", fmt.Sprintf("page_size %d is not in 0..%d", r.PageSize, MaxPageSize)})
	}
	prefix := r.Prefix
	if r.StorePath >= 0 {
		sp := fmt.Sprintf("M%02X/", r.StorePath)
		switch {
		case r.StorePath > 255:
			vs = append(vs, FieldViolation{"store_path", fmt.Sprintf("store_path %d is not in 0..255", r.StorePath)})
		case prefix == "":
			prefix = sp
		case !strings.HasPrefix(prefix, sp):
			vs = append(vs, FieldViolation{"prefix", fmt.Sprintf("prefix %q is not in store path %d", prefix, r.StorePath)})
		}
	}
	if len(prefix) > 64 || strings.ContainsAny(prefix, "\x00") {
		vs = append(vs, FieldViolation{"prefix", "prefix must be at most 64 bytes without NUL"})
	}
	if r.Ext != "" && fileid.ValidateExt(r.Ext) != nil {
		vs = append(vs, FieldViolation{"ext", fmt.Sprintf("bad ext %q", r.Ext)})
	}
	if r.MinSize < 0 || r.MaxSize < 0 || r.MaxSize > 0 && r.MinSize > r.MaxSize {
		vs = append(vs, FieldViolation{"min_size", "min_size and max_size must be >= 0, min_size <= max_size"})
	}
	from, to := ceilSecond(r.CreatedFrom), ceilSecond(r.CreatedTo)
	if from != 0 && to != 0 && from >= to {
		vs = append(vs, FieldViolation{"created_after", "created_after must be before created_before"})
	}
	order := protocol.ListByName
	if r.Newest {
		order = protocol.ListByNewest
	}
	var after protocol.ListKey
	if r.PageToken != "" {
		h, key, err := decodePageToken(r.PageToken)
		if err != nil || h != filterHash(r) {
			vs = append(vs, FieldViolation{"page_token", "page_token is not a token of this listing (the other fields must not change between pages)"})
		}
		after = key
	}
	if len(vs) > 0 {
		return q, InvalidFields(vs...)
	}
	size := r.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	q.Filter = protocol.ListFilesRequest{
		Order: order, Limit: int32(size), After: after,
		CreatedFrom: from, CreatedTo: to, MinSize: r.MinSize, MaxSize: r.MaxSize,
		Ext: r.Ext, Prefix: prefix,
	}
	return q, nil
}

// ceilSecond is t in unix seconds rounded up (file IDs hold whole
// seconds), 0 for the zero time.
func ceilSecond(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// filterHash identifies the listing a token belongs to: every field but
// the page size and the token.
func filterHash(r ListRequest) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%q %q %d %q %t %d %d %q %d %d", r.Group, r.Storage, r.StorePath, r.Prefix, r.Newest,
		ceilSecond(r.CreatedFrom), ceilSecond(r.CreatedTo), r.Ext, r.MinSize, r.MaxSize)
	return h.Sum64()
}

func encodePageToken(hash uint64, k protocol.ListKey) string {
	b := make([]byte, 0, 17+len(k.Name))
	b = append(b, pageTokenVersion)
	b = binary.BigEndian.AppendUint64(b, hash)
	b = binary.BigEndian.AppendUint64(b, uint64(k.Time))
	b = append(b, k.Name...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (uint64, protocol.ListKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 17 || b[0] != pageTokenVersion {
		return 0, protocol.ListKey{}, fmt.Errorf("bad page token")
	}
	k := protocol.ListKey{Time: int64(binary.BigEndian.Uint64(b[9:17])), Name: string(b[17:])}
	if _, err := fileid.Parse(k.Name); err != nil {
		return 0, protocol.ListKey{}, fmt.Errorf("bad page token: %w", err)
	}
	return binary.BigEndian.Uint64(b[1:9]), k, nil
}
