package protocol

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// CString returns b up to its first NUL byte (all of b if there is none).
// Fixed-width fields are always read this way because real peers leave
// garbage after the terminator.
func CString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// PutFixed copies s into dst and zero-fills the rest; s is truncated to
// len(dst).
func PutFixed(dst []byte, s string) {
	n := copy(dst, s)
	clear(dst[n:])
}

// Encoder appends big-endian fields to a byte slice.
type Encoder struct {
	B []byte
}

// NewEncoder returns an Encoder with capacity for n bytes.
func NewEncoder(n int) *Encoder { return &Encoder{B: make([]byte, 0, n)} }

// Int64 appends v as 8 bytes.
func (e *Encoder) Int64(v int64) { e.B = binary.BigEndian.AppendUint64(e.B, uint64(v)) }

// Int32 appends v as 4 bytes.
func (e *Encoder) Int32(v int32) { e.B = binary.BigEndian.AppendUint32(e.B, uint32(v)) }

// Byte appends one byte.
func (e *Encoder) Byte(v byte) { e.B = append(e.B, v) }

// Fixed appends s NUL-padded (or truncated) to exactly n bytes.
func (e *Encoder) Fixed(s string, n int) {
	start := len(e.B)
	e.B = append(e.B, make([]byte, n)...)
	copy(e.B[start:], s)
}

// Raw appends b as is.
func (e *Encoder) Raw(b []byte) { e.B = append(e.B, b...) }

// String appends s as is (no length, no NUL).
func (e *Encoder) String(s string) { e.B = append(e.B, s...) }

// Decoder reads big-endian fields from a body. The first short read sets a
// sticky ErrInvalid error and later reads return zero values, so a decoder
// checks Err once at the end.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.err = fmt.Errorf("body truncated at offset %d (need %d of %d bytes): %w", d.off, n, len(d.b), ErrInvalid)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

// Int64 reads 8 bytes.
func (d *Decoder) Int64() int64 {
	if p := d.take(8); p != nil {
		return int64(binary.BigEndian.Uint64(p))
	}
	return 0
}

// Int32 reads 4 bytes.
func (d *Decoder) Int32() int32 {
	if p := d.take(4); p != nil {
		return int32(binary.BigEndian.Uint32(p))
	}
	return 0
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

// Fixed reads an n-byte field as a C string.
func (d *Decoder) Fixed(n int) string { return CString(d.take(n)) }

// Raw reads n bytes (aliasing the body).
func (d *Decoder) Raw(n int) []byte { return d.take(n) }

// Rest returns the unread bytes.
func (d *Decoder) Rest() []byte {
	if d.err != nil {
		return nil
	}
	p := d.b[d.off:]
	d.off = len(d.b)
	return p
}

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Err is the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Done returns Err, or ErrInvalid if unread bytes remain (exact-length bodies).
func (d *Decoder) Done() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%d trailing bytes: %w", len(d.b)-d.off, ErrInvalid)
	}
	return nil
}
