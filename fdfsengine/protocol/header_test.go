package protocol_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// Every captured packet has a header whose length is the body length and
// that re-encodes byte-identically.
func TestTraceHeaders(t *testing.T) {
	all, err := tracefile.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 400 {
		t.Fatalf("only %d traces loaded", len(all))
	}
	for _, ex := range all {
		for i, pkt := range [][]byte{ex.Request, ex.Response} {
			if pkt == nil {
				continue
			}
			h, err := protocol.DecodeHeader(pkt)
			if err != nil {
				t.Fatalf("%s: %v", ex.Path, err)
			}
			if h.Length != int64(len(pkt)-protocol.HeaderSize) {
				t.Errorf("%s: pkg_len %d, body %d", ex.Path, h.Length, len(pkt)-protocol.HeaderSize)
			}
			if i == 0 && h.Cmd != ex.Cmd {
				t.Errorf("%s: cmd %d, title says %d", ex.Path, h.Cmd, ex.Cmd)
			}
			if i == 1 && h.Cmd != protocol.CmdResp {
				t.Errorf("%s: response cmd %d", ex.Path, h.Cmd)
			}
			if i == 1 && h.Status != 0 && h.Length != 0 {
				t.Errorf("%s: error response with a body", ex.Path)
			}
			if !bytes.Equal(h.Bytes(), pkt[:protocol.HeaderSize]) {
				t.Errorf("%s: header re-encodes differently", ex.Path)
			}
		}
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"short", []byte{0, 0, 0}},
		{"negative", []byte{0xff, 0, 0, 0, 0, 0, 0, 1, 11, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := protocol.DecodeHeader(tc.in); !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("err = %v, want EINVAL", err)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	wrapped := errors.Join(errors.New("ctx"), protocol.ErrNotFound)
	tests := []struct {
		err  error
		want byte
	}{
		{nil, 0},
		{protocol.ErrInvalid, protocol.EINVAL},
		{wrapped, protocol.ENOENT},
		{errors.New("other"), protocol.EIO},
	}
	for _, tc := range tests {
		if got := protocol.StatusOf(tc.err); got != tc.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if !errors.Is(protocol.StatusErr(2), protocol.ErrNotFound) {
		t.Error("decoded status 2 is not ErrNotFound")
	}
}

func FuzzDecodeHeader(f *testing.F) {
	if all, err := tracefile.LoadAll(); err == nil {
		for _, ex := range all[:40] {
			f.Add(ex.Request[:protocol.HeaderSize])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := protocol.DecodeHeader(b)
		if err != nil {
			return
		}
		if h.Length < 0 || !bytes.Equal(h.Bytes(), b[:protocol.HeaderSize]) {
			t.Fatalf("bad round trip %x", b)
		}
	})
}
