package protocol_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestListMessagesRoundTrip(t *testing.T) {
	req := &protocol.ListFilesRequest{Group: "group1", Order: protocol.ListByNewest, Limit: 100,
		After: protocol.ListKey{Time: 1700000000, Name: "M00/00/00/abc"}, CreatedFrom: 5, CreatedTo: 9,
		MinSize: 1, MaxSize: 2, Ext: "jpg", Prefix: "M00/"}
	if got, err := protocol.DecodeListFilesRequest(req.Encode()); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("request: %+v, %v", got, err)
	}
	reply := &protocol.ListFilesReply{End: true, Through: protocol.ListKey{Time: 3, Name: "M01/00/00/x"},
		Entries: []protocol.ListEntry{{Name: "M00/00/00/a", Time: 1, Size: 2, CRC32: 0xFFFFFFFF}}}
	if got, err := protocol.DecodeListFilesReply(reply.Encode()); err != nil || !reflect.DeepEqual(got, reply) {
		t.Fatalf("reply: %+v, %v", got, err)
	}
	report := &protocol.ScrubReport{Passes: 1, Files: 2, Bytes: 3, Corrupt: 4, Missing: 5, Repaired: 6, Unrepaired: 7,
		LastPassAt: 8, Running: true, Findings: []protocol.ScrubFinding{{Name: "M00/00/00/a", Kind: protocol.ScrubCorrupt, Outcome: protocol.ScrubRepaired, Time: 9}}}
	if got, err := protocol.DecodeScrubReport(report.Encode()); err != nil || !reflect.DeepEqual(got, report) {
		t.Fatalf("report: %+v, %v", got, err)
	}
	sreq := &protocol.ScrubRequest{Group: "group1", Flags: protocol.ScrubRunNow, Rate: 1 << 20}
	if got, err := protocol.DecodeScrubRequest(sreq.Encode()); err != nil || !reflect.DeepEqual(got, sreq) {
		t.Fatalf("scrub request: %+v, %v", got, err)
	}
}

// FuzzListMessages: the decoders of the listing and scrub messages
// refuse what they cannot decode with ErrInvalid and never panic.
func FuzzListMessages(f *testing.F) {
	f.Add((&protocol.ListFilesRequest{Group: "g", Limit: 1, Ext: "x"}).Encode())
	f.Add((&protocol.ListFilesReply{Entries: []protocol.ListEntry{{Name: "n"}}}).Encode())
	f.Add((&protocol.ScrubReport{Findings: []protocol.ScrubFinding{{Name: "n"}}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		}
		if r, err := protocol.DecodeListFilesRequest(b); err == nil {
			if _, err := protocol.DecodeListFilesRequest(r.Encode()); err != nil {
				t.Fatalf("re-encoded request does not decode: %v", err)
			}
		} else {
			check(err)
		}
		_, err := protocol.DecodeListFilesReply(b)
		check(err)
		_, err = protocol.DecodeScrubReport(b)
		check(err)
		_, err = protocol.DecodeScrubRequest(b)
		check(err)
	})
}
