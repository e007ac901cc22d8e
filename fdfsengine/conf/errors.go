package conf

import (
	"strconv"
	"strings"
)

// Error is a configuration error: the file (and line when the key is set
// on one), the key, what is wrong and the accepted forms, e.g.
//
//	storage.conf: base_path: not set (accepted: an absolute directory)
//	/etc/fdfs/tracker.conf:12: store_lookup: 3 is not a store_lookup (accepted: 0 (round robin), ...)
//
// It is not a FastDFS wire status: a daemon prints it as is and stops.
type Error struct {
	File     string // the file as given ("<config>" for a config built in code or parsed from bytes)
	Line     int    // 1-based line of the key or directive; 0 when it is not on a line (absent key)
	Key      string // the key ("[section] key"), directive or "" for a file-level problem
	Problem  string // what is wrong with it
	Accepted string // the accepted forms; "" when there is nothing to list
	Err      error  // the underlying error (an unreadable include), or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(displayName(e.File))
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Accepted != "" {
		b.WriteString(" (accepted: ")
		b.WriteString(e.Accepted)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KeyError is the Error of a value a daemon refuses after loading: key in
// f, named with its line when f sets it. f may be nil (a configuration
// built in code), then the file is "<config>".
func KeyError(f *File, key, problem, accepted string) *Error {
	e := &Error{Key: key, Problem: problem, Accepted: accepted}
	if f == nil {
		return e
	}
	e.File = f.Path
	if en := f.entry("", key); en != nil {
		e.Line = en.Line
		if en.Source != "" {
			e.File = en.Source
		}
	}
	return e
}

// errorAt is the Error of entry en of f (nil: the key is not set, so only
// the file is named).
func (f *File) errorAt(en *Entry, key, problem, accepted string) *Error {
	e := &Error{File: f.Path, Key: key, Problem: problem, Accepted: accepted}
	if en != nil {
		e.Line = en.Line
		if en.Source != "" {
			e.File = en.Source
		}
	}
	return e
}
