package binlog

import (
	"bufio"
	"io"
	"strings"
)

// EachRecord calls fn with every well-formed record of the binlog file at
// path, in order, and stops at the first error fn returns. Lines that are
// no record (garbage, or longer than MaxLine) are skipped; a partial last
// line is still being written and ends the file. Unlike Reader it reads one
// file once and keeps no position: it serves whole-file replays. A file
// that was gzipped is read through gzip as it is (OpenStream): replays run
// at every start, and unpacking would undo the daily packing.
func EachRecord(path string, fn func(*Record) error) error {
	f, err := OpenStream(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, MaxLine)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// An overlong line is no record of ours: skip to its end.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rec, perr := Parse(strings.TrimSuffix(string(line), "\n"))
		if perr != nil {
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
