package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// maxTrackerReply bounds tracker reply bodies (bytes): the largest are the
// group list (512 × 113) and a storage list (32 × 517).
const maxTrackerReply = 1 << 20

// Server is a storage server chosen by the tracker.
type Server struct {
	Group string
	IP    string
	Port  int
	// StorePathIndex is the store path for an upload (store queries
	// only).
	StorePathIndex byte
}

// Addr is the "ip:port" to dial.
func (s *Server) Addr() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.Port)) }

// QueryStore asks a tracker where to upload a file: QUERY_STORE_WITHOUT_
// GROUP_ONE (101), or QUERY_STORE_WITH_GROUP_ONE (104) when group is set.
func (cl *Client) QueryStore(ctx context.Context, group string) (*Server, error) {
	cmd, body, err := storeQuery(group, protocol.CmdQueryStoreWithoutGroupOne, protocol.CmdQueryStoreWithGroupOne)
	if err != nil {
		return nil, opErr("query store", "", "", err)
	}
	var r *protocol.StoreReply
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(cmd, body, maxTrackerReply)
		if err == nil {
			r, err = protocol.DecodeStoreReply(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr("query store", "", addr, cl.storeRefusal(ctx, group, err))
	}
	return &Server{Group: r.Group, IP: r.IP, Port: r.Port, StorePathIndex: r.StorePathIndex}, nil
}

// QueryStoreAll lists every writable storage of the group a tracker picks
// for an upload (106, or 107 when group is set).
func (cl *Client) QueryStoreAll(ctx context.Context, group string) ([]Server, error) {
	cmd, body, err := storeQuery(group, protocol.CmdQueryStoreWithoutGroupAll, protocol.CmdQueryStoreWithGroupAll)
	if err != nil {
		return nil, opErr("query store all", "", "", err)
	}
	var r *protocol.StoreAllReply
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(cmd, body, maxTrackerReply)
		if err == nil {
			r, err = protocol.DecodeStoreAllReply(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr("query store all", "", addr, cl.storeRefusal(ctx, group, err))
	}
	out := make([]Server, len(r.Servers))
	for i, s := range r.Servers {
		out[i] = Server{Group: r.Group, IP: s.IP, Port: s.Port, StorePathIndex: r.StorePathIndex}
	}
	return out, nil
}

// ErrNoStorage is wrapped (beside the tracker's ENOENT) in the error of a
// store query no storage can take: it means "try again later", not "not
// found".
var ErrNoStorage = errors.New("no storage available for uploads")

// storeRefusal says what a tracker's refusal of a store query means. Like
// upstream, a tracker answers ENOENT both for a group it does not know and
// when no storage can take uploads (none ACTIVE yet, as right after a
// tracker restart until the storages join again), which would otherwise
// read like "file not found": for a named group the tracker is asked
// which it is. ENOSPC means every candidate is below
// reserved_storage_space.
func (cl *Client) storeRefusal(ctx context.Context, group string, err error) error {
	where := "in any group"
	if group != "" {
		where = "in group " + group
	}
	switch {
	case errors.Is(err, protocol.ErrNotFound):
		if group != "" {
			if _, gerr := cl.ListGroup(ctx, group); errors.Is(gerr, protocol.ErrNotFound) {
				return fmt.Errorf("group %s does not exist: %w", group, err)
			}
		}
		return fmt.Errorf("%w %s (no storage ACTIVE yet: storages join a restarted tracker within a heartbeat): %w", ErrNoStorage, where, err)
	case errors.Is(err, protocol.ErrNoSpace):
		return fmt.Errorf("no storage %s has free space above reserved_storage_space: %w", where, err)
	}
	return err
}

func storeQuery(group string, without, with byte) (byte, []byte, error) {
	if group == "" {
		return without, nil, nil
	}
	if !protocol.ValidGroupName(group) {
		return 0, nil, fmt.Errorf("group name %q: %w", group, protocol.ErrInvalid)
	}
	return with, protocol.EncodeGroup(group), nil
}

// QueryFetch asks a tracker which storage serves reads of a file
// (QUERY_FETCH_ONE, 102).
func (cl *Client) QueryFetch(ctx context.Context, fileID string) (*Server, error) {
	return cl.queryOne(ctx, "query fetch", protocol.CmdQueryFetchOne, fileID)
}

// QueryUpdate asks a tracker which storage takes changes to a file (its
// source storage when writable; QUERY_UPDATE, 103).
func (cl *Client) QueryUpdate(ctx context.Context, fileID string) (*Server, error) {
	return cl.queryOne(ctx, "query update", protocol.CmdQueryUpdate, fileID)
}

func (cl *Client) queryOne(ctx context.Context, op string, cmd byte, fileID string) (*Server, error) {
	q, err := fileQuery(fileID)
	if err != nil {
		return nil, opErr(op, fileID, "", err)
	}
	var r *protocol.FetchReply
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(cmd, q.Encode(), maxTrackerReply)
		if err == nil {
			r, err = protocol.DecodeFetchReply(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr(op, fileID, addr, cl.fileRefusal(ctx, q.Group, err))
	}
	return &Server{Group: r.Group, IP: r.IP, Port: r.Port}, nil
}

// ErrStorageOffline is wrapped (beside the tracker's ENOENT) in the error
// of a file query (fetch, fetch all, update) whose group exists but has no
// storage that can serve the file now (stopped, restarting, not yet
// joined): it means "try again later", not "file not found".
var ErrStorageOffline = errors.New("no storage of the file's group is available")

// fileRefusal says what a tracker's ENOENT to a file query means. A
// tracker answers ENOENT both for a group it does not know and when none
// of the group's storages can serve the file; it never knows whether the
// file exists. The tracker is asked which it is, as storeRefusal does.
func (cl *Client) fileRefusal(ctx context.Context, group string, err error) error {
	if !errors.Is(err, protocol.ErrNotFound) {
		return err
	}
	if _, gerr := cl.ListGroup(ctx, group); gerr != nil {
		return err
	}
	return fmt.Errorf("%w (group %s): %w", ErrStorageOffline, group, err)
}

// QueryFetchAll lists every storage that may serve reads of a file
// (QUERY_FETCH_ALL, 105).
func (cl *Client) QueryFetchAll(ctx context.Context, fileID string) ([]Server, error) {
	q, err := fileQuery(fileID)
	if err != nil {
		return nil, opErr("query fetch all", fileID, "", err)
	}
	var r *protocol.FetchAllReply
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdQueryFetchAll, q.Encode(), maxTrackerReply)
		if err == nil {
			r, err = protocol.DecodeFetchAllReply(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr("query fetch all", fileID, addr, cl.fileRefusal(ctx, q.Group, err))
	}
	out := make([]Server, len(r.Servers))
	for i, s := range r.Servers {
		out[i] = Server{Group: r.Group, IP: s.IP, Port: s.Port}
	}
	return out, nil
}

// fileQuery splits a file ID into the 102/103/105 request, applying the
// tracker's length rule locally (name of 22..111 bytes).
func fileQuery(fileID string) (*protocol.FileQuery, error) {
	group, name, err := fileid.Split(fileID)
	if err != nil {
		return nil, err
	}
	if n := protocol.GroupNameLen + len(name); n < protocol.FileQueryMinSize || n > protocol.FileQueryMaxSize {
		return nil, fmt.Errorf("file name of %d bytes: %w", len(name), protocol.ErrInvalid)
	}
	return &protocol.FileQuery{Group: group, Filename: name}, nil
}

// ListGroups returns the stats of every group (SERVER_LIST_ALL_GROUPS, 91).
func (cl *Client) ListGroups(ctx context.Context) ([]protocol.GroupStat, error) {
	var gs []protocol.GroupStat
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerListAllGroups, nil, maxTrackerReply)
		if err == nil {
			gs, err = protocol.DecodeGroupStats(b)
		}
		return err
	})
	return gs, opErr("list groups", "", addr, err)
}

// ListGroup returns the stats of one group (SERVER_LIST_ONE_GROUP, 90).
func (cl *Client) ListGroup(ctx context.Context, group string) (*protocol.GroupStat, error) {
	if !protocol.ValidGroupName(group) {
		return nil, opErr("list group", "", "", fmt.Errorf("group name %q: %w", group, protocol.ErrInvalid))
	}
	var gs []protocol.GroupStat
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerListOneGroup, protocol.EncodeGroup(group), maxTrackerReply)
		if err == nil {
			gs, err = protocol.DecodeGroupStats(b)
		}
		if err == nil && len(gs) != 1 {
			err = fmt.Errorf("%d group records: %w", len(gs), protocol.ErrInvalid)
		}
		return err
	})
	if err != nil {
		return nil, opErr("list group", "", addr, err)
	}
	return &gs[0], nil
}

// ListStorages returns the storages of a group (SERVER_LIST_STORAGE, 92),
// only the one with storageID (its IP in IP mode) when that is set.
func (cl *Client) ListStorages(ctx context.Context, group, storageID string) ([]protocol.StorageStat, error) {
	body, err := groupAndID(group, storageID, false)
	if err != nil {
		return nil, opErr("list storages", "", "", err)
	}
	var ss []protocol.StorageStat
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerListStorage, body, maxTrackerReply)
		if err == nil {
			ss, err = protocol.DecodeStorageStats(b)
		}
		return err
	})
	return ss, opErr("list storages", "", addr, err)
}

// DeleteStorage removes a storage that is not active from a group's
// membership (SERVER_DELETE_STORAGE, 93) on every tracker, as upstream's
// tools do, since each tracker keeps its own map. A tracker that does not
// know the storage, has deleted it already (EALREADY) or cannot be
// reached is passed over; any other refusal (EBUSY for an active storage)
// is the result.
func (cl *Client) DeleteStorage(ctx context.Context, group, storageID string) error {
	body, err := groupAndID(group, storageID, true)
	if err != nil {
		return opErr("delete storage", "", "", err)
	}
	return cl.onEveryTracker(ctx, "delete storage", func(c *conn) error {
		_, err := c.RoundTrip(protocol.CmdServerDeleteStorage, body, 0)
		return err
	})
}

// onEveryTracker runs fn once per tracker. It fails with the first status
// other than ENOENT and EALREADY; else it succeeds when at least one
// tracker did, and reports EALREADY, ENOENT or the connection errors (in
// that order) when none did.
func (cl *Client) onEveryTracker(ctx context.Context, op string, fn func(c *conn) error) error {
	var already, notFound, unreachable error
	ok := false
	for _, addr := range cl.trackers {
		err := cl.withConn(ctx, addr, fn)
		var re *reusedError
		if errors.As(err, &re) {
			err = cl.withFreshConn(ctx, addr, fn)
		}
		switch {
		case err == nil:
			ok = true
		case errors.Is(err, protocol.ErrNotFound):
			notFound = opErr(op, "", addr, err)
		case errors.Is(err, protocol.ErrAlready):
			already = opErr(op, "", addr, err)
		case fdfsnet.IsStatus(err) || ctx.Err() != nil:
			return opErr(op, "", addr, err)
		default:
			unreachable = errors.Join(unreachable, opErr(op, "", addr, err))
		}
	}
	switch {
	case ok:
		return nil
	case already != nil:
		return already
	case notFound != nil:
		return notFound
	}
	return unreachable
}

// DeleteGroup removes a group without active storages
// (SERVER_DELETE_GROUP, 108) on every tracker, as upstream's tools do,
// since each tracker keeps its own map (see DeleteStorage).
func (cl *Client) DeleteGroup(ctx context.Context, group string) error {
	if !protocol.ValidGroupName(group) {
		return opErr("delete group", "", "", fmt.Errorf("group name %q: %w", group, protocol.ErrInvalid))
	}
	return cl.onEveryTracker(ctx, "delete group", func(c *conn) error {
		_, err := c.RoundTrip(protocol.CmdServerDeleteGroup, protocol.EncodeGroup(group), 0)
		return err
	})
}

// GetLeader returns the "ip:port" of the leader tracker
// (SERVER_GET_LEADER, 95).
func (cl *Client) GetLeader(ctx context.Context) (string, error) {
	var leader string
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerGetLeader, nil, protocol.HostPortTextSize)
		leader = protocol.CString(b)
		return err
	})
	return leader, opErr("get leader", "", addr, err)
}

// ActiveTest sends ACTIVE_TEST to addr (a tracker or a storage) on a
// pooled connection.
func (cl *Client) ActiveTest(ctx context.Context, addr string) error {
	return opErr("active test", "", addr, cl.withConn(ctx, addr, func(c *conn) error { return c.ActiveTest() }))
}

func groupAndID(group, id string, idRequired bool) ([]byte, error) {
	if !protocol.ValidGroupName(group) {
		return nil, fmt.Errorf("group name %q: %w", group, protocol.ErrInvalid)
	}
	if idRequired && id == "" || len(id) >= protocol.StorageIDSize {
		return nil, fmt.Errorf("storage id %q: %w", id, protocol.ErrInvalid)
	}
	return (&protocol.GroupAndID{Group: group, ID: id}).Encode(), nil
}

// DrainStorage starts (protocol.DrainStart) or ends (DrainStop) the drain
// of a storage, or only reads it (DrainQuery), on every tracker
// (SERVER_DRAIN_STORAGE, an extension of ours: upstream trackers answer
// EINVAL). storage is its id or IP. It returns the least advanced state
// over the trackers (protocol.DrainNone, DrainOngoing, DrainComplete); a
// tracker that cannot be reached or refuses fails it, since that tracker
// would keep routing requests to the storage.
func (cl *Client) DrainStorage(ctx context.Context, group, storage string, op byte) (byte, error) {
	req := protocol.DrainRequest{Group: group, Op: op, Storage: storage}
	body := req.Encode()
	if _, err := protocol.DecodeDrainRequest(body); err != nil {
		return 0, opErr("drain storage", "", "", err)
	}
	state := protocol.DrainComplete
	for _, addr := range cl.trackers {
		var b []byte
		fn := func(c *conn) (err error) {
			b, err = c.RoundTrip(protocol.CmdServerDrainStorage, body, 1)
			return err
		}
		err := cl.withConn(ctx, addr, fn)
		var re *reusedError
		if errors.As(err, &re) {
			err = cl.withFreshConn(ctx, addr, fn)
		}
		if errors.Is(err, protocol.ErrInvalid) {
			err = fmt.Errorf("the tracker does not support draining (an upstream tracker? replace the trackers first): %w", err)
		}
		if err == nil && len(b) != 1 {
			err = fmt.Errorf("drain reply of %d bytes: %w", len(b), protocol.ErrInvalid)
		}
		if err != nil {
			return 0, opErr("drain storage", "", addr, err)
		}
		state = min(state, b[0])
	}
	return state, nil
}
