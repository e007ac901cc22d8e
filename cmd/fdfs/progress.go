package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressMin is the transfer size from which a progress bar is shown
// (bytes); smaller transfers finish too fast for one to be useful.
const progressMin = 8 << 20

// progressBarT is the bar type; nil means no bar.
type progressBarT = progressbar.ProgressBar

// progressBar returns a bar on stderr for a transfer of size bytes, or nil
// when stderr is not a terminal or the transfer is small. Scripts reading
// stdout are never affected.
func progressBar(size int64, what string) *progressbar.ProgressBar {
	if size <= progressMin || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	return progressbar.DefaultBytes(size, what)
}

// withProgressReader wraps r so reads advance bar. Without a bar r is
// returned unchanged, keeping the *os.File → socket sendfile path.
func withProgressReader(r io.Reader, bar *progressbar.ProgressBar) io.Reader {
	if bar == nil {
		return r
	}
	return io.TeeReader(r, bar)
}

// withProgressWriter wraps w so writes advance bar (w unchanged without a
// bar, keeping the socket → *os.File splice path).
func withProgressWriter(w io.Writer, bar *progressbar.ProgressBar) io.Writer {
	if bar == nil {
		return w
	}
	return io.MultiWriter(w, bar)
}

// finishProgress completes and clears the bar, if any.
func finishProgress(bar *progressbar.ProgressBar) {
	if bar != nil {
		bar.Finish()
		os.Stderr.WriteString("\n")
	}
}
