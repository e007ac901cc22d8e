package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// maxListReply bounds a LIST_FILES reply (bytes): MaxListLimit entries of
// at most 21+255 bytes.
const maxListReply = 4 << 20

// ListQuery selects the files ListFiles returns.
type ListQuery struct {
	Group string
	// Storage, when set, lists what this storage (its id, or its IP in IP
	// mode) holds; otherwise the ACTIVE storages of the group are merged.
	Storage string
	// Filter holds the order, the position to go on from (After), the
	// filters and the page size (Limit, 1..protocol.MaxListLimit). Its
	// Group is set from Group.
	Filter protocol.ListFilesRequest
}

// ListPage is a page of a listing. More tells whether there may be
// entries after Next (the position to pass as the next query's After).
type ListPage struct {
	Files []protocol.ListEntry
	Next  protocol.ListKey
	More  bool
}

// ListFiles returns the next page of the files of a group: the union of
// what its ACTIVE storages hold (each lists its own index, LIST_FILES),
// each file once, in the query's order. A storage that answers only part
// of the range (it stops after examining a bounded number of entries)
// bounds the page, so no file is skipped whatever the storages answer.
func (cl *Client) ListFiles(ctx context.Context, q ListQuery) (*ListPage, error) {
	const op = "list files"
	q.Filter.Group = q.Group
	if err := q.Filter.Validate(); err != nil {
		return nil, opErr(op, "", "", err)
	}
	addrs, err := cl.listTargets(ctx, q.Group, q.Storage)
	if err != nil {
		return nil, err
	}
	var (
		all     []protocol.ListEntry
		bound   *protocol.ListKey
		byOrder = func(a, b protocol.ListKey) int { return compareKeys(q.Filter.Order, a, b) }
	)
	for _, addr := range addrs {
		r, err := cl.ListFilesAt(ctx, addr, &q.Filter)
		if errors.Is(err, protocol.ErrInvalid) {
			// The request was validated above: EINVAL is a storage that
			// does not know the command (an upstream one).
			return nil, opErr(op, "", addr, fmt.Errorf("the storage does not list files (not this implementation): %w", protocol.ErrNotSupported))
		}
		if err != nil {
			return nil, err
		}
		all = append(all, r.Entries...)
		if !r.End && (bound == nil || byOrder(r.Through, *bound) < 0) {
			t := r.Through
			bound = &t
		}
	}
	slices.SortFunc(all, func(a, b protocol.ListEntry) int { return byOrder(keyOf(a), keyOf(b)) })
	all = slices.CompactFunc(all, func(a, b protocol.ListEntry) bool { return a.Name == b.Name })
	page := &ListPage{}
	for _, e := range all {
		if bound != nil && byOrder(keyOf(e), *bound) > 0 || len(page.Files) == int(q.Filter.Limit) {
			break
		}
		page.Files = append(page.Files, e)
	}
	switch {
	case len(page.Files) == int(q.Filter.Limit):
		page.Next, page.More = keyOf(page.Files[len(page.Files)-1]), true
	case bound != nil:
		page.Next, page.More = *bound, true
	}
	return page, nil
}

func keyOf(e protocol.ListEntry) protocol.ListKey {
	return protocol.ListKey{Time: e.Time, Name: e.Name}
}

// compareKeys orders keys as the storages do: by name, or newest first
// and then by name.
func compareKeys(order byte, a, b protocol.ListKey) int {
	if order == protocol.ListByNewest && a.Time != b.Time {
		return cmp.Compare(b.Time, a.Time)
	}
	return strings.Compare(a.Name, b.Name)
}

// listTargets returns the addresses of the storages to list: the one
// named storage, or every ACTIVE storage of the group.
func (cl *Client) listTargets(ctx context.Context, group, storage string) ([]string, error) {
	ss, err := cl.ListStorages(ctx, group, storage)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, s := range ss {
		if storage != "" || s.Status == protocol.StatusActive {
			addrs = append(addrs, net.JoinHostPort(s.IP, strconv.FormatInt(s.StoragePort, 10)))
		}
	}
	if len(addrs) == 0 {
		return nil, opErr("list files", "", "", fmt.Errorf("group %s has no ACTIVE storage: %w: %w", group, ErrNoStorage, protocol.ErrNotFound))
	}
	return addrs, nil
}

// ListFilesAt asks the storage at addr for a page of its file index
// (LIST_FILES, a command of this implementation only).
func (cl *Client) ListFilesAt(ctx context.Context, addr string, req *protocol.ListFilesRequest) (*protocol.ListFilesReply, error) {
	var r *protocol.ListFilesReply
	err := cl.withConn(ctx, addr, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdListFiles, req.Encode(), maxListReply)
		if err == nil {
			r, err = protocol.DecodeListFilesReply(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr("list files", "", addr, err)
	}
	return r, nil
}

// Scrub asks the storage at addr for its scrubber's report (SCRUB, a
// command of this implementation only), starting a pass first when
// req.Flags has protocol.ScrubRunNow.
func (cl *Client) Scrub(ctx context.Context, addr string, req *protocol.ScrubRequest) (*protocol.ScrubReport, error) {
	var r *protocol.ScrubReport
	err := cl.withConn(ctx, addr, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdScrub, req.Encode(), maxListReply)
		if err == nil {
			r, err = protocol.DecodeScrubReport(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr("scrub", "", addr, err)
	}
	return r, nil
}

// StorageAddr returns the "ip:port" of a storage of group named by its
// id (or its IP in IP mode), as the trackers list it.
func (cl *Client) StorageAddr(ctx context.Context, group, storage string) (string, error) {
	addrs, err := cl.listTargets(ctx, group, storage)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}
