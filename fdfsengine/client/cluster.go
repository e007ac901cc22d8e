package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// SetTrunkServer asks the trackers to make storageID the trunk server of
// group ("" lets the leader pick one) and returns the id of the trunk
// server now in place (SERVER_SET_TRUNK_SERVER, 94). Only the leader
// answers it: the trackers are asked in order, passing over the ones that
// cannot be reached or answer EOPNOTSUPP (followers), as upstream's
// tracker_set_trunk_server does. EALREADY (it already is) is returned with
// storageID as the id.
func (cl *Client) SetTrunkServer(ctx context.Context, group, storageID string) (string, error) {
	const op = "set trunk server"
	body, err := groupAndID(group, storageID, false)
	if err != nil {
		return "", opErr(op, "", "", err)
	}
	var last error
	for _, addr := range cl.trackers {
		var b []byte
		err := cl.withFreshConn(ctx, addr, func(c *conn) (err error) {
			b, err = c.RoundTrip(protocol.CmdServerSetTrunkServer, body, protocol.StorageIDSize)
			return err
		})
		switch {
		case err == nil:
			return protocol.CString(b), nil
		case errors.Is(err, protocol.ErrAlready):
			return storageID, opErr(op, "", addr, err)
		case errors.Is(err, protocol.ErrNotSupported) || !fdfsnet.IsStatus(err) && ctx.Err() == nil:
			last = opErr(op, "", addr, err)
		default:
			return "", opErr(op, "", addr, err)
		}
	}
	if last == nil {
		last = opErr(op, "", "", fmt.Errorf("no tracker: %w", protocol.ErrNotFound))
	}
	return "", last
}

// TrackerClusterStat lists the trackers as the answering one sees them
// (SERVER_TRACKER_CLUSTER_STAT, 96, upstream 6.13+).
func (cl *Client) TrackerClusterStat(ctx context.Context, f protocol.TrackerClusterFilter) ([]protocol.TrackerClusterEntry, error) {
	var ts []protocol.TrackerClusterEntry
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerTrackerClusterStat, f.Encode(), maxTrackerReply)
		if err == nil {
			ts, err = protocol.DecodeTrackerClusterStat(b)
		}
		return err
	})
	return ts, opErr("tracker cluster stat", "", addr, err)
}

// StorageClusterStat lists every storage of every group in short form
// (SERVER_STORAGE_CLUSTER_STAT, 97, upstream 6.13+).
func (cl *Client) StorageClusterStat(ctx context.Context, f protocol.StorageClusterFilter) (*protocol.StorageClusterStat, error) {
	var s *protocol.StorageClusterStat
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerStorageClusterStat, f.Encode(), maxTrackerReply)
		if err == nil {
			s, err = protocol.DecodeStorageClusterStat(b)
		}
		return err
	})
	return s, opErr("storage cluster stat", "", addr, err)
}

// VolumeStat lists the groups' space (SERVER_STORAGE_VOLUMN_STAT, 98,
// upstream 6.13+).
func (cl *Client) VolumeStat(ctx context.Context, f protocol.VolumeFilter) (*protocol.VolumeStat, error) {
	var v *protocol.VolumeStat
	addr, err := cl.withTracker(ctx, func(c *conn) error {
		b, err := c.RoundTrip(protocol.CmdServerStorageVolumeStat, f.Encode(), maxTrackerReply)
		if err == nil {
			v, err = protocol.DecodeVolumeStat(b)
		}
		return err
	})
	return v, opErr("volume stat", "", addr, err)
}
