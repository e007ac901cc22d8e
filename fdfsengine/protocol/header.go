package protocol

import (
	"encoding/binary"
	"fmt"
	"io"
)

// HeaderSize is the size of every packet header in bytes.
const HeaderSize = 10

// Header is the 10-byte prefix of every FastDFS packet: body length
// (signed 64-bit, header excluded), command and status.
type Header struct {
	Length int64
	Cmd    byte
	Status byte
}

// Put writes h into b, which must hold at least HeaderSize bytes.
func (h Header) Put(b []byte) {
	binary.BigEndian.PutUint64(b[0:8], uint64(h.Length))
	b[8] = h.Cmd
	b[9] = h.Status
}

// Bytes returns the encoded header.
func (h Header) Bytes() []byte {
	b := make([]byte, HeaderSize)
	h.Put(b)
	return b
}

// DecodeHeader parses a header. A negative length is a protocol violation
// (upstream drops the connection) and is reported as ErrInvalid.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("header of %d bytes: %w", len(b), ErrInvalid)
	}
	h := Header{
		Length: int64(binary.BigEndian.Uint64(b[0:8])),
		Cmd:    b[8],
		Status: b[9],
	}
	if h.Length < 0 {
		return h, fmt.Errorf("negative packet length %d: %w", h.Length, ErrInvalid)
	}
	return h, nil
}

// ReadHeader reads and decodes one header from r.
func ReadHeader(r io.Reader) (Header, error) {
	var b [HeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Header{}, err
	}
	return DecodeHeader(b[:])
}

// WriteHeader writes one header to w.
func WriteHeader(w io.Writer, h Header) error {
	var b [HeaderSize]byte
	h.Put(b[:])
	_, err := w.Write(b[:])
	return err
}

// WritePacket writes a header announcing len(body) followed by body, in one
// write call so that small packets leave in one TCP segment.
func WritePacket(w io.Writer, cmd, status byte, body []byte) error {
	_, err := w.Write(AppendPacket(make([]byte, 0, HeaderSize+len(body)), cmd, status, body))
	return err
}

// AppendPacket appends a header announcing len(body), then body, to out.
func AppendPacket(out []byte, cmd, status byte, body []byte) []byte {
	var b [HeaderSize]byte
	Header{Length: int64(len(body)), Cmd: cmd, Status: status}.Put(b[:])
	return append(append(out, b[:]...), body...)
}

// WriteResponse writes a response packet (cmd RESP) with status 0 and body.
func WriteResponse(w io.Writer, body []byte) error {
	return WritePacket(w, CmdResp, 0, body)
}

// WriteError writes an error response: the status derived from err and an
// empty body, as every FastDFS server does.
func WriteError(w io.Writer, err error) error {
	return WritePacket(w, CmdResp, StatusOf(err), nil)
}

// ReadBody reads the body announced by h, refusing bodies larger than max
// bytes with ErrInvalid (the caller should then close the connection, since
// the unread body is still on the wire).
func ReadBody(r io.Reader, h Header, max int64) ([]byte, error) {
	if h.Length > max {
		return nil, fmt.Errorf("body of %d bytes exceeds %d: %w", h.Length, max, ErrInvalid)
	}
	b := make([]byte, h.Length)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadResponse reads a response header and its body (up to max bytes). A
// non-zero status is returned as a *StatusError; the body of an error
// response is always empty.
func ReadResponse(r io.Reader, max int64) ([]byte, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	if h.Cmd != CmdResp {
		return nil, fmt.Errorf("response cmd %d, want %d: %w", h.Cmd, CmdResp, ErrInvalid)
	}
	if h.Status != 0 {
		if h.Length > 0 {
			if _, err := io.CopyN(io.Discard, r, h.Length); err != nil {
				return nil, err
			}
		}
		return nil, StatusErr(h.Status)
	}
	return ReadBody(r, h, max)
}
