package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"syscall"
)

// StatusError is a non-zero FastDFS status byte (a Linux errno value). It is
// both what a server answers and what a client receives. errors.Is matches
// any two StatusErrors with the same code, so a wrapped ErrNotFound from a
// server and the decoded status 2 on the client compare equal.
type StatusError struct {
	Code byte
}

func (e *StatusError) Error() string {
	if n, ok := statusNames[e.Code]; ok {
		return fmt.Sprintf("fastdfs status %d (%s)", e.Code, n)
	}
	return fmt.Sprintf("fastdfs status %d", e.Code)
}

// Is reports whether target is a StatusError with the same code.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Code == e.Code
}

// Status codes (Linux x86 errno values) used by FastDFS.
const (
	EPERM        byte = 1
	ENOENT       byte = 2
	EIO          byte = 5
	EAGAIN       byte = 11
	ENOMEM       byte = 12
	EACCES       byte = 13
	EBUSY        byte = 16
	EEXIST       byte = 17
	EISDIR       byte = 21
	EINVAL       byte = 22
	ENOSPC       byte = 28
	ENAMETOOLONG byte = 36
	ENONET       byte = 64
	EOPNOTSUPP   byte = 95
	ETIMEDOUT    byte = 110
	ECONNREFUSED byte = 111
	EALREADY     byte = 114
)

var statusNames = map[byte]string{
	EPERM: "EPERM", ENOENT: "ENOENT", EIO: "EIO", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
	EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", EISDIR: "EISDIR", EINVAL: "EINVAL",
	ENOSPC: "ENOSPC", ENAMETOOLONG: "ENAMETOOLONG", ENONET: "ENONET", EOPNOTSUPP: "EOPNOTSUPP",
	ETIMEDOUT: "ETIMEDOUT", ECONNREFUSED: "ECONNREFUSED", EALREADY: "EALREADY",
}

// Domain errors. Wrap them with %w; StatusOf maps them back to the wire.
var (
	ErrPermission   = &StatusError{EPERM}        // token or operation not permitted
	ErrNotFound     = &StatusError{ENOENT}       // file, group or storage does not exist
	ErrIO           = &StatusError{EIO}          // local I/O failure
	ErrAgain        = &StatusError{EAGAIN}       // try again later
	ErrNoMemory     = &StatusError{ENOMEM}       // buffer could not be allocated
	ErrAccess       = &StatusError{EACCES}       // storage not joined on this connection
	ErrBusy         = &StatusError{EBUSY}        // resource busy (e.g. deleting an active storage)
	ErrExists       = &StatusError{EEXIST}       // already exists / already applied
	ErrIsDir        = &StatusError{EISDIR}       // path is a directory
	ErrInvalid      = &StatusError{EINVAL}       // malformed request or bad state
	ErrNoSpace      = &StatusError{ENOSPC}       // reserved space reached
	ErrNameTooLong  = &StatusError{ENAMETOOLONG} // name exceeds its field
	ErrNotSupported = &StatusError{EOPNOTSUPP}   // feature disabled / not the leader
	ErrTimeout      = &StatusError{ETIMEDOUT}    // expired
	ErrConnRefused  = &StatusError{ECONNREFUSED} // peer unreachable
	ErrAlready      = &StatusError{EALREADY}     // operation already in progress
)

// StatusErr returns the StatusError for code (nil for 0).
func StatusErr(code byte) error {
	if code == 0 {
		return nil
	}
	return &StatusError{Code: code}
}

// StatusOf maps an error to the status byte a server answers with. This is
// the one table from Go errors to FastDFS status codes.
func StatusOf(err error) byte {
	if err == nil {
		return 0
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ENOENT
	case errors.Is(err, fs.ErrExist):
		return EEXIST
	case errors.Is(err, fs.ErrPermission):
		return EACCES
	case errors.Is(err, syscall.ENOSPC):
		return ENOSPC
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ETIMEDOUT
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return EIO
	case errors.As(err, &errno) && errno > 0 && errno < 256:
		return byte(errno)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ETIMEDOUT
	}
	return EIO
}
