package protocol

import (
	"bytes"
	"errors"
	"testing"
)

func TestTrunkMessages(t *testing.T) {
	slot := TrunkInfo{StorePathIndex: 1, High: 0xAB, Low: 0x0F, ID: 7, Offset: 1 << 20, Size: 4352}
	if got, err := DecodeTrunkInfo(slot.Encode()); err != nil || got != slot {
		t.Errorf("trunk info round trip: %+v %v", got, err)
	}
	want := []byte{1, 0xAB, 0x0F, 0, 0, 0, 7, 0, 0x10, 0, 0, 0, 0, 0x11, 0}
	if b := slot.Encode(); !bytes.Equal(b, want) {
		t.Errorf("trunk info layout % x, want % x", b, want)
	}
	alloc := &TrunkAllocRequest{Group: "group1", Size: 4120, StorePathIndex: 2}
	b := alloc.Encode()
	if len(b) != GroupNameLen+5 {
		t.Fatalf("alloc request of %d bytes", len(b))
	}
	if got, err := DecodeTrunkAllocRequest(b); err != nil || *got != *alloc {
		t.Errorf("alloc request round trip: %+v %v", got, err)
	}
	sr := &TrunkSlotRequest{Group: "g", Slot: slot}
	if got, err := DecodeTrunkSlotRequest(sr.Encode()); err != nil || *got != *sr {
		t.Errorf("slot request round trip: %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, make([]byte, TrunkInfoLen-1), make([]byte, TrunkInfoLen+1)} {
		if _, err := DecodeTrunkInfo(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("trunk info of %d bytes: %v", len(bad), err)
		}
	}
	for _, bad := range [][]byte{make([]byte, GroupNameLen+4), make([]byte, GroupNameLen+6)} {
		if _, err := DecodeTrunkAllocRequest(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("alloc request of %d bytes: %v", len(bad), err)
		}
		if _, err := DecodeTrunkSlotRequest(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("slot request of %d bytes: %v", len(bad), err)
		}
	}
}
