package fdfsnet

import (
	"fmt"
	"io"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Request is one request of a Pipeline: a header announcing
// len(Fixed)+N body bytes, Fixed, then N bytes of Content from Off.
type Request struct {
	Cmd, Status byte
	Fixed       []byte
	Content     io.ReaderAt
	Off, N      int64
}

// Size is the request's length on the wire (bytes).
func (r *Request) Size() int64 { return protocol.HeaderSize + int64(len(r.Fixed)) + r.N }

// PipelineMax is the most bytes a Pipeline writes (bytes): its requests
// are assembled in one pooled send buffer.
const PipelineMax = sendBufSize

// Pipeline writes reqs back to back in one write, then reads one reply per
// request, in order, and returns their statuses (0 or a FastDFS status).
// A server reads a TCP stream one request after the other, so the later
// requests wait in its socket while it serves the first: the requests
// cost one write and their replies as few reads as they arrive in,
// instead of a write, a read and a wait for each. It is meant for
// commands answered with a bare status (the storage sync commands): a
// reply with a body is EINVAL. The requests must fit PipelineMax together.
//
// An error leaves the connection unusable; the statuses of the replies
// read before it are returned with it (fewer than len(reqs)).
func (c *Conn) Pipeline(reqs []Request) ([]byte, error) {
	c.clean = false
	bp := sendBufs.Get().(*[]byte)
	defer sendBufs.Put(bp)
	b, err := assemble((*bp)[:0], reqs)
	if err != nil {
		return nil, err
	}
	if err := c.arm(); err != nil {
		return nil, err
	}
	if _, err := c.nc.Write(b); err != nil {
		return nil, c.refusal(c.ioErr(err))
	}
	return c.recvStatuses(len(reqs), (*bp)[:cap(*bp)])
}

// assemble appends the encoded reqs to b, their content read in place.
func assemble(b []byte, reqs []Request) ([]byte, error) {
	for i := range reqs {
		r := &reqs[i]
		if int64(len(b))+r.Size() > PipelineMax {
			return nil, fmt.Errorf("pipeline of more than %d bytes: %w", PipelineMax, protocol.ErrInvalid)
		}
		var h [protocol.HeaderSize]byte
		protocol.Header{Length: int64(len(r.Fixed)) + r.N, Cmd: r.Cmd, Status: r.Status}.Put(h[:])
		b = append(append(b, h[:]...), r.Fixed...)
		at := len(b)
		b = b[:at+int(r.N)]
		if r.N == 0 {
			continue
		}
		if n, err := r.Content.ReadAt(b[at:], r.Off); n < int(r.N) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("content ended %d bytes before its announced size: %w", r.N-int64(n), err)
		}
	}
	return b, nil
}

// recvStatuses reads n replies into buf, as many per read as have come.
func (c *Conn) recvStatuses(n int, buf []byte) ([]byte, error) {
	statuses := make([]byte, 0, n)
	have, at := 0, 0
	for len(statuses) < n {
		for have-at < protocol.HeaderSize {
			if at > 0 {
				have = copy(buf, buf[at:have])
				at = 0
			}
			if err := c.arm(); err != nil {
				return statuses, err
			}
			m, err := c.nc.Read(buf[have:])
			have += m
			if err != nil && have-at < protocol.HeaderSize {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return statuses, c.ioErr(err)
			}
		}
		h, err := protocol.DecodeHeader(buf[at : at+protocol.HeaderSize])
		if err == nil && h.Cmd != protocol.CmdResp {
			err = fmt.Errorf("response cmd %d, want %d: %w", h.Cmd, protocol.CmdResp, protocol.ErrInvalid)
		}
		if err == nil && h.Length != 0 {
			err = fmt.Errorf("pipelined reply with a %d-byte body: %w", h.Length, protocol.ErrInvalid)
		}
		if err != nil {
			return statuses, err
		}
		at += protocol.HeaderSize
		statuses = append(statuses, h.Status)
	}
	if at != have {
		return statuses, fmt.Errorf("%d bytes after the last pipelined reply: %w", have-at, protocol.ErrInvalid)
	}
	c.clean = true
	return statuses, nil
}
