package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The head and peer decoders round-trip and refuse malformed bodies with
// ErrInvalid (EINVAL on the wire).
func TestHeadAndPeerMessages(t *testing.T) {
	type codec struct {
		name string
		body []byte
		dec  func([]byte) (any, error)
		want any // nil: decoding must fail with ErrInvalid
	}
	wrap := func(f any) func([]byte) (any, error) {
		v := reflect.ValueOf(f)
		return func(b []byte) (any, error) {
			out := v.Call([]reflect.Value{reflect.ValueOf(b)})
			err, _ := out[1].Interface().(error)
			return out[0].Interface(), err
		}
	}
	be := func(vs ...int64) []byte {
		e := protocol.NewEncoder(8 * len(vs))
		for _, v := range vs {
			e.Int64(v)
		}
		return e.B
	}
	name := "M00/00/00/wKgBZGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZm.txt"
	slave := append(be(int64(len(name)), 5), []byte("_s\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00jpg\x00\x00\x00")...)
	for _, tc := range []codec{
		{"append", be(44, 10), wrap(protocol.DecodeAppendHead), &protocol.AppendHead{NameLen: 44, Length: 10}},
		{"append short", be(44), wrap(protocol.DecodeAppendHead), nil},
		{"append name 128", be(128, 0), wrap(protocol.DecodeAppendHead), nil},
		{"append name -1", be(-1, 0), wrap(protocol.DecodeAppendHead), nil},
		{"modify", be(50, 3, 4), wrap(protocol.DecodeModifyHead), &protocol.ModifyHead{NameLen: 50, Offset: 3, Length: 4}},
		{"modify long", be(50, 3, 4, 5), wrap(protocol.DecodeModifyHead), nil},
		{"truncate", be(44, 0), wrap(protocol.DecodeTruncateHead), &protocol.TruncateHead{NameLen: 44, NewSize: 0}},
		{"slave", slave, wrap(protocol.DecodeUploadSlaveHead), &protocol.UploadSlaveHead{MasterLen: int64(len(name)), FileSize: 5, Prefix: "_s", Ext: "jpg"}},
		{"slave short", slave[:37], wrap(protocol.DecodeUploadSlaveHead), nil},
		{"regenerate", []byte("M00/x"), wrap(protocol.DecodeRegenerateRequest), &protocol.RegenerateRequest{Name: "M00/x"}},
		{"regenerate empty", nil, wrap(protocol.DecodeRegenerateRequest), nil},
		{"regenerate 128", bytes.Repeat([]byte("a"), 128), wrap(protocol.DecodeRegenerateRequest), nil},
		{"fetch path binlog", append([]byte("group1\x00junk\x00\x00\x00\x00\x00"), 3), wrap(protocol.DecodeFetchPathBinlogRequest),
			&protocol.FetchPathBinlogRequest{Group: "group1", StorePathIndex: 3}},
		{"fetch path binlog short", []byte("group1"), wrap(protocol.DecodeFetchPathBinlogRequest), nil},
		{"leader", []byte("10.0.0.1:22122\x00pad"), wrap(protocol.DecodeLeaderAddr), "10.0.0.1:22122"},
		{"leader no port", []byte("10.0.0.1"), wrap(protocol.DecodeLeaderAddr), nil},
		{"leader too long", bytes.Repeat([]byte("1"), protocol.HostPortTextSize+1), wrap(protocol.DecodeLeaderAddr), nil},
		{"join leader", append(append(be(7), []byte("6.16\x00\x00\x00\x00")...), be(22122)...), wrap(protocol.DecodeJoinLeaderRequest),
			&protocol.JoinLeaderRequest{StartTime: 7, Version: "6.16", Port: 22122}},
		{"join leader short", be(7, 8), wrap(protocol.DecodeJoinLeaderRequest), nil},
		{"ping leader", []byte{0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 3}, wrap(protocol.DecodePingLeaderRequest),
			&protocol.PingLeaderRequest{MaxConnections: 256, CurrentConnections: 2, PeakConnections: 3}},
		{"ping leader 4", []byte{0, 0, 1, 0}, wrap(protocol.DecodePingLeaderRequest), nil},
		{"sys file", append([]byte{2}, be(9)...), wrap(protocol.DecodeSysFileRequest), &protocol.SysFileRequest{Index: 2, Offset: 9}},
		{"sys file 8", be(9), wrap(protocol.DecodeSysFileRequest), nil},
		{"sys chunk", append(be(5), "ab"...), wrap(protocol.DecodeSysFileChunk), &protocol.SysFileChunk{FileSize: 5, Data: []byte("ab")}},
		{"sys chunk short", []byte{0, 0, 0}, wrap(protocol.DecodeSysFileChunk), nil},
		{"status change", []byte{protocol.StatusOnline}, wrap(protocol.DecodeStatusChangeRequest), &protocol.StatusChangeRequest{Status: protocol.StatusOnline}},
		{"status change 2", []byte{1, 2}, wrap(protocol.DecodeStatusChangeRequest), nil},
	} {
		got, err := tc.dec(tc.body)
		if tc.want == nil {
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	// Ping: the empty body of older followers is no request.
	if r, err := protocol.DecodePingLeaderRequest(nil); r != nil || err != nil {
		t.Errorf("empty ping: %+v, %v", r, err)
	}
	// A head plus its name is the whole-prefix request.
	h, err := protocol.DecodeUploadSlaveHead(slave)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := protocol.DecodeUploadSlaveRequest(append(slave, name...))
	if err != nil || !reflect.DeepEqual(h.Request([]byte(name)), r) {
		t.Errorf("slave head + name = %+v, request %+v (%v)", h.Request([]byte(name)), r, err)
	}
}
