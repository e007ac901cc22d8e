package apiclient

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// errMalformed is returned for a received message that is not valid
// protobuf.
var errMalformed = errors.New("apiclient: malformed message")

// cursor reads the protobuf wire format across the buffers of a received
// message without joining them.
type cursor struct {
	bufs mem.BufferSlice
	i    int // current buffer
	off  int // offset in bufs[i]
}

func (c *cursor) done() bool {
	for c.i < len(c.bufs) && c.off >= c.bufs[c.i].Len() {
		c.i, c.off = c.i+1, 0
	}
	return c.i >= len(c.bufs)
}

func (c *cursor) readByte() (byte, bool) {
	if c.done() {
		return 0, false
	}
	b := c.bufs[c.i].ReadOnlyData()[c.off]
	c.off++
	return b, true
}

// varint reads a base-128 varint, with protowire's rules (at most 10
// bytes, no bits beyond 64).
func (c *cursor) varint() (uint64, error) {
	var b [binary.MaxVarintLen64]byte
	for k := range b {
		x, ok := c.readByte()
		if !ok {
			return 0, fmt.Errorf("%w: truncated varint", errMalformed)
		}
		b[k] = x
		if x < 0x80 {
			v, n := protowire.ConsumeVarint(b[:k+1])
			if n < 0 {
				return 0, fmt.Errorf("%w: %v", errMalformed, protowire.ParseError(n))
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: varint longer than %d bytes", errMalformed, len(b))
}

// span passes the next n bytes to fn in the contiguous pieces they are
// stored in, or fails if fewer than n are left (before calling fn).
func (c *cursor) span(n uint64, fn func([]byte) error) error {
	if n > uint64(c.remaining()) {
		return fmt.Errorf("%w: field of %d bytes overruns the message", errMalformed, n)
	}
	for n > 0 {
		c.done()
		b := c.bufs[c.i].ReadOnlyData()[c.off:]
		if uint64(len(b)) > n {
			b = b[:n]
		}
		c.off += len(b)
		n -= uint64(len(b))
		if fn != nil {
			if err := fn(b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *cursor) remaining() int {
	n := 0
	for j := c.i; j < len(c.bufs); j++ {
		n += c.bufs[j].Len()
	}
	return n - c.off
}

// eachBytesField calls fn with the number and length of every
// length-delimited field of the message; fn consumes the field with c.span
// or returns false to have it skipped. Other fields are skipped, as a
// protobuf decoder keeps a known field of the wrong wire type as unknown.
// Groups (deprecated, never in this API) are refused.
func (c *cursor) eachBytesField(fn func(num protowire.Number, n uint64) (consumed bool, err error)) error {
	for !c.done() {
		key, err := c.varint()
		if err != nil {
			return err
		}
		if key>>3 < uint64(protowire.MinValidNumber) || key>>3 > uint64(protowire.MaxValidNumber) {
			return fmt.Errorf("%w: field number %d", errMalformed, key>>3)
		}
		num, typ := protowire.Number(key>>3), protowire.Type(key&7)
		var n uint64
		switch typ {
		case protowire.VarintType:
			if n, err = c.varint(); err != nil {
				return err
			}
		case protowire.Fixed32Type:
			n = 4
		case protowire.Fixed64Type:
			n = 8
		case protowire.BytesType:
			if n, err = c.varint(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: wire type %d of field %d", errMalformed, typ, num)
		}
		consumed := false
		if typ == protowire.BytesType {
			if consumed, err = fn(num, n); err != nil {
				return err
			}
		}
		if !consumed && typ != protowire.VarintType {
			if err := c.span(n, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
