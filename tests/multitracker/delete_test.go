package multitracker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Deleting a storage reaches every tracker, each of which keeps its own
// map and lists it DELETED from then on; an ACTIVE storage is refused, a
// deleted one is EALREADY.
func TestDeleteStorageOnEveryTracker(t *testing.T) {
	e := setup(t, 2)
	e.waitLeader(all(2))
	e.waitActive(0)
	e.waitActive(1)
	cl := e.client()
	ctx := context.Background()
	victim := e.c.Storages[1]
	if err := cl.DeleteStorage(ctx, "group1", victim.ID); !errors.Is(err, protocol.ErrBusy) {
		t.Fatalf("deleting an ACTIVE storage: %v, want EBUSY", err)
	}
	if err := e.c.StopStorage(victim.Index); err != nil {
		t.Fatal(err)
	}
	listed := func(i int) (bool, error) {
		b, err := call(e.addr(i), protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
		if err != nil {
			return false, err
		}
		ss, err := protocol.DecodeStorageStats(b)
		if err != nil {
			return false, err
		}
		for _, s := range ss {
			if s.ID == victim.ID {
				return s.Status == protocol.StatusActive || s.Status == protocol.StatusOnline, nil
			}
		}
		return false, nil
	}
	for i := range 2 {
		poll(t, fmt.Sprintf("storage offline on tracker %d", i), func() error {
			if on, err := listed(i); err != nil || on {
				return fmt.Errorf("still serving (%v)", err)
			}
			return nil
		})
	}
	if err := cl.DeleteStorage(ctx, "group1", victim.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for i := range 2 {
		b, err := call(e.addr(i), protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
		if err != nil {
			t.Fatal(err)
		}
		ss, _ := protocol.DecodeStorageStats(b)
		for _, s := range ss {
			if s.ID == victim.ID && s.Status != protocol.StatusDeleted {
				t.Fatalf("tracker %d lists %s as %s, want DELETED", i, s.ID, protocol.StorageStatusName(s.Status))
			}
		}
	}
	if err := cl.DeleteStorage(ctx, "group1", victim.ID); !errors.Is(err, protocol.ErrAlready) {
		t.Fatalf("deleting again: %v, want EALREADY", err)
	}
}
