package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults of New.
const (
	DefaultInterval = 100 * time.Millisecond
	DefaultMaxBytes = 64 << 10 // a fuller buffer is written at once
)

// Writer buffers what is written to it and writes it to the underlying
// writer every interval, when the buffer exceeds its bound, on Flush and on
// Close. Lines written within one interval before a crash are lost, which
// is why Handler flushes warnings and errors at once.
type Writer struct {
	w        io.Writer
	maxBytes int

	mu     sync.Mutex
	buf    []byte
	err    error // the first write error, returned by later writes
	closed bool

	stop chan struct{}
	done chan struct{}
}

// New returns a Writer on w that flushes every interval (DefaultInterval
// if <= 0) or once maxBytes (DefaultMaxBytes if <= 0) are buffered.
func New(w io.Writer, interval time.Duration, maxBytes int) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	b := &Writer{w: w, maxBytes: maxBytes, stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

func (b *Writer) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			return
		}
	}
}

// Write buffers p; after Close it writes p through.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.maxBytes {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *Writer) flushLocked() error {
	if len(b.buf) == 0 || b.err != nil {
		return b.err
	}
	_, b.err = b.w.Write(b.buf)
	if cap(b.buf) > 4*b.maxBytes {
		b.buf = nil // one burst must not pin a large buffer
	} else {
		b.buf = b.buf[:0]
	}
	return b.err
}

// Close stops the periodic flushing and flushes; later writes go straight
// through. It does not close the underlying writer.
func (b *Writer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.err
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	return b.Flush()
}

// Handler wraps h, which writes to w, so that records at level min or
// above are written out at once together with everything before them.
func Handler(h slog.Handler, w *Writer, min slog.Level) slog.Handler {
	return &flushHandler{Handler: h, w: w, min: min}
}

type flushHandler struct {
	slog.Handler
	w   *Writer
	min slog.Level
}

func (h *flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.min {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h *flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushHandler{Handler: h.Handler.WithAttrs(attrs), w: h.w, min: h.min}
}

func (h *flushHandler) WithGroup(name string) slog.Handler {
	return &flushHandler{Handler: h.Handler.WithGroup(name), w: h.w, min: h.min}
}
