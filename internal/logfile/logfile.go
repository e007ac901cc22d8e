package logfile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// rotatedFormat is upstream's rotate_time_format (%Y%m%d_%H%M%S) in Go's
// layout: the suffix a rotated file gets after "<name>.log.".
const rotatedFormat = "20060102_150405"

// Options are the log_file_* keys of an [error-log] section.
type Options struct {
	RotateEveryday     bool   // log_file_rotate_everyday
	RotateTime         string // log_file_rotate_time, "HH:MM"
	RotateOnSize       int64  // log_file_rotate_on_size, bytes; 0 = never
	CompressOld        bool   // log_file_compress_old
	CompressDaysBefore int    // log_file_compress_days_before
	KeepDays           int    // log_file_keep_days; 0 = keep all
	DeleteOldTime      string // log_file_delete_old_time, "HH:MM"
	// Header, if not nil, gives the line written first in each new (empty)
	// file, as upstream's log header callback (the storage's access log
	// names its columns).
	Header func() []byte
}

// File is an open log file: an io.Writer safe for concurrent use.
type File struct {
	path   string
	opt    Options
	onOpen func(*os.File) error
	now    func() time.Time

	mu       sync.Mutex
	f        *os.File
	size     int64
	failedAt int64 // unix second of the last failed size rotation

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Open opens (appends to) the log file at path, creating its directory,
// and starts the daily rotation and tidying. onOpen, if not nil, is called
// with each file opened (at first and after each rotation): the daemon
// puts it on its stdout and stderr, so that a crash's trace lands there
// too.
func Open(path string, opt Options, onOpen func(*os.File) error) (*File, error) {
	return open(path, opt, onOpen, time.Now)
}

func open(path string, opt Options, onOpen func(*os.File) error, now func() time.Time) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	l := &File{path: path, opt: opt, onOpen: onOpen, now: now, stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.reopen(); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// reopen opens l.path for appending; the caller holds l.mu or owns l.
func (l *File) reopen() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if l.onOpen != nil {
		if err := l.onOpen(f); err != nil {
			f.Close()
			return err
		}
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size = f, fi.Size()
	if l.size == 0 && l.opt.Header != nil {
		n, err := f.Write(l.opt.Header())
		l.size += int64(n)
		return err
	}
	return nil
}

// Write appends p, rotating first when p would take the file past
// RotateOnSize.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opt.RotateOnSize > 0 && l.size > 0 && l.size+int64(len(p)) > l.opt.RotateOnSize {
		// A failed rotation (its name taken within the same second) is
		// tried again in the next second, not on every line meanwhile.
		if sec := l.now().Unix(); sec != l.failedAt {
			if err := l.rotateLocked(); err != nil {
				l.failedAt = sec
				fmt.Fprintf(l.f, "log rotation failed: %v\n", err)
			}
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Rotate renames the file to <path>.YYYYMMDD_HHMMSS and opens a new one
// (SIGHUP does it, as upstream's).
func (l *File) Rotate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rotateLocked()
}

// rotateLocked renames the file and opens a new one. A file already
// moved away (logrotate, then SIGHUP) is not renamed again: a new one is
// opened, as upstream's log_rotate does.
func (l *File) rotateLocked() error {
	old := l.path + "." + l.now().Format(rotatedFormat)
	if _, err := os.Stat(old); err == nil {
		return fmt.Errorf("rotate %s: %s exists", l.path, old)
	}
	if err := os.Rename(l.path, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate %s: %w", l.path, err)
	}
	return l.reopen()
}

// Close stops the rotation and closes the file. Later calls do nothing.
func (l *File) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		err = l.f.Close()
	})
	return err
}

// run rotates at RotateTime and tidies at DeleteOldTime, every day.
func (l *File) run() {
	defer close(l.done)
	for {
		now := l.now()
		rotateAt, tidyAt := next(now, l.opt.RotateTime), next(now, l.opt.DeleteOldTime)
		wait := min(rotateAt.Sub(now), tidyAt.Sub(now))
		select {
		case <-l.stop:
			return
		case <-time.After(wait):
		}
		now = l.now()
		if l.opt.RotateEveryday && !now.Before(rotateAt) {
			if err := l.Rotate(); err != nil {
				l.Write([]byte("log rotation failed: " + err.Error() + "\n"))
			}
		}
		if !now.Before(tidyAt) {
			if err := l.tidy(now); err != nil {
				l.Write([]byte("log tidying failed: " + err.Error() + "\n"))
			}
		}
	}
}

// next is the first time of day hhmm ("HH:MM") after now, local time;
// a malformed value stands for midnight (the conf layer refuses those).
func next(now time.Time, hhmm string) time.Time {
	var h, m int
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	t := time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, now.Location())
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// tidy gzips the rotated files older than CompressDaysBefore days (with
// CompressOld) and deletes those older than KeepDays days (unless 0).
func (l *File) tidy(now time.Time) error {
	dir, base := filepath.Split(l.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		rotated, gz, ok := rotatedTime(e.Name(), base, now.Location())
		if !ok {
			continue
		}
		p := filepath.Join(dir, e.Name())
		age := now.Sub(rotated)
		switch {
		case l.opt.KeepDays > 0 && age > time.Duration(l.opt.KeepDays+1)*24*time.Hour:
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		case l.opt.CompressOld && !gz && age > time.Duration(l.opt.CompressDaysBefore)*24*time.Hour:
			errs = append(errs, gzipFile(p))
		}
	}
	return errors.Join(errs...)
}

// rotatedTime parses name as base.YYYYMMDD_HHMMSS[.gz].
func rotatedTime(name, base string, loc *time.Location) (t time.Time, gz, ok bool) {
	rest, found := strings.CutPrefix(name, base+".")
	if !found {
		return t, false, false
	}
	rest, gz = strings.CutSuffix(rest, ".gz")
	t, err := time.ParseInLocation(rotatedFormat, rest, loc)
	return t, gz, err == nil
}

// gzipFile replaces p by p.gz, written crash-safely (internal/atomicfile),
// then removes p.
func gzipFile(p string) error {
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	err = atomicfile.Write(p+".gz", 0o644, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		if _, err := io.Copy(zw, in); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("gzip %s: %w", p, err)
	}
	return os.Remove(p)
}
