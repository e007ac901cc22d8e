package grpcapi

import (
	"errors"
	"fmt"
	"io"

	"github.com/fdfsgo/fdfs/server/fileops"
)

// MaxChunkSize is the largest chunk a client may send in a stream message, in
// bytes (2 MiB, as Google Cloud Storage's WriteObject).
const MaxChunkSize = 2 << 20

// DownloadChunkSize is the size of the chunks DownloadFile sends, in bytes;
// the last one may be smaller. A message (chunk plus a few bytes of
// protobuf framing) then fits grpc-go's largest pooled buffer, 1 MiB: a
// larger one is encoded into a freshly allocated and zeroed buffer, which
// cost a tenth of the gateway's CPU in 1 GiB downloads.
const DownloadChunkSize = 1<<20 - 64

// chunkReader turns the chunk messages of a client stream into an io.Reader
// of exactly size bytes. The engine reads it while it writes the content to
// the storage connection, so each chunk goes out before the next is received.
type chunkReader struct {
	next      func() ([]byte, error) // the next chunk; io.EOF at the end of the stream
	size      int64                  // bytes announced in the spec
	remaining int64                  // bytes not yet returned by Read
	buf       []byte                 // rest of the current chunk
	err       error                  // first failure of the stream itself (not of the engine)
}

func newChunkReader(size int64, next func() ([]byte, error)) *chunkReader {
	return &chunkReader{next: next, size: size, remaining: size}
}

// Read implements io.Reader. It fails (and records why in r.err) when a chunk
// is larger than MaxChunkSize, when the stream carries more bytes than
// announced, or when it ends early.
func (r *chunkReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remaining == 0 {
		return 0, io.EOF
	}
	for len(r.buf) == 0 {
		chunk, err := r.next()
		switch {
		case err == io.EOF:
			r.err = invalid("size", fmt.Sprintf("stream ended after %d of %d announced bytes", r.size-r.remaining, r.size))
			return 0, r.err
		case err != nil:
			r.err = err
			return 0, err
		case len(chunk) > MaxChunkSize:
			r.err = invalid("chunk", fmt.Sprintf("chunk of %d bytes exceeds the maximum of %d", len(chunk), MaxChunkSize))
			return 0, r.err
		case int64(len(chunk)) > r.remaining:
			r.err = invalid("size", fmt.Sprintf("stream carries more than the %d announced bytes", r.size))
			return 0, r.err
		}
		r.buf = chunk
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.remaining -= int64(n)
	return n, nil
}

// contentMsg is a message of a content stream (UploadFile, AppendFile,
// ModifyFile): the first carries the spec S, the others chunks.
type contentMsg[S any] interface {
	GetSpec() S
	GetChunk() []byte
}

// firstSpec receives the first message of a content stream, which must
// carry the spec.
func firstSpec[S comparable, M contentMsg[S]](recv func() (M, error)) (S, error) {
	var none S
	m, err := recv()
	if err != nil {
		return none, err
	}
	spec := m.GetSpec()
	if spec == none {
		return none, invalid("spec", "the first message must carry the spec")
	}
	return spec, nil
}

// contentReader reads the size bytes of the chunks of the messages after
// the first.
func contentReader[S comparable, M contentMsg[S]](size int64, recv func() (M, error)) *chunkReader {
	return newChunkReader(size, func() ([]byte, error) {
		m, err := recv()
		if err != nil {
			return nil, err
		}
		var none S
		if m.GetSpec() != none {
			return nil, invalid("spec", "only the first message may carry the spec")
		}
		return m.GetChunk(), nil
	})
}

// content is r as the content of a file operation: the stream's own
// failure wins over the engine's error (which then only says the content
// ended), and the stream must end where announced.
func (r *chunkReader) content() fileops.Content {
	return fileops.Content{R: r, Size: r.size, Failed: r.failure, Finish: r.finish}
}

// failure is the stream's own failure, if any.
func (r *chunkReader) failure() error { return r.err }

// finish checks, after the engine consumed all announced bytes, that the
// stream ends there.
func (r *chunkReader) finish() error {
	for {
		chunk, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(chunk) > 0 {
			return invalid("size", fmt.Sprintf("stream carries more than the %d announced bytes", r.size))
		}
	}
}

// chunkWriter gathers the bytes the engine copies off a storage connection
// into chunks of DownloadChunkSize from chunkPool and sends each as one
// message. send reports whether the transport took the buffer over (see
// Codec); if so the next chunk goes into a new one.
type chunkWriter struct {
	send func(bp *[]byte) (handedOff bool, err error)
	bp   *[]byte // the chunk being filled
}

func newChunkWriter(send func(bp *[]byte) (bool, error)) *chunkWriter {
	return &chunkWriter{send: send, bp: chunkPool.Get(0)}
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		buf := *w.bp
		m := copy(buf[len(buf):cap(buf)], p)
		*w.bp = buf[:len(buf)+m]
		p = p[m:]
		n += m
		if len(*w.bp) == cap(*w.bp) {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// ReadFrom reads straight into the chunk buffer, so the engine's copy off
// the storage socket fills whole chunks with few large reads instead of
// going through a 32 KiB intermediate buffer.
func (w *chunkWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if len(*w.bp) == cap(*w.bp) {
			if err := w.flush(); err != nil {
				return total, err
			}
		}
		buf := *w.bp
		n, err := r.Read(buf[len(buf):cap(buf)])
		*w.bp = buf[:len(buf)+n]
		total += int64(n)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// flush sends the gathered bytes, if any.
func (w *chunkWriter) flush() error {
	if len(*w.bp) == 0 {
		return nil
	}
	handedOff, err := w.send(w.bp)
	if handedOff {
		w.bp = chunkPool.Get(0)
	} else {
		*w.bp = (*w.bp)[:0]
	}
	return err
}

// release returns the current buffer to the pool; the writer is done.
func (w *chunkWriter) release() {
	chunkPool.Put(w.bp)
	w.bp = nil
}
