package fileops

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
)

// Reasons of the preconditions (FAILED_PRECONDITION; REST 412).
const (
	// ReasonSizeMismatch: an append, modify or truncate whose
	// expected_size is not the file's size. Metadata "expected_size" and
	// "actual_size".
	ReasonSizeMismatch = "SIZE_MISMATCH"
	// ReasonEtagMismatch: a delete or metadata write whose if_match is not
	// the file's etag. Metadata "etag": the current one.
	ReasonEtagMismatch = "ETAG_MISMATCH"
	// ReasonIdempotencyKeyReused: an upload repeating an idempotency key
	// with a different spec.
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// ReasonModifiedSince: a REST download whose If-Unmodified-Since is
	// before the file's last modification. Metadata "last_modified" (an
	// HTTP date).
	ReasonModifiedSince = "MODIFIED_SINCE"
)

// PreconditionFailureType is the google.rpc.PreconditionFailure violation
// type of the preconditions' refusals, with subjects "size", "etag" and
// "idempotency_key".
const PreconditionFailureType = "FILE_STATE"

// IsPreconditionReason reports whether reason is one of a precondition the
// client set (the REST routes answer them 412 rather than 400).
func IsPreconditionReason(reason string) bool {
	switch reason {
	case ReasonSizeMismatch, ReasonEtagMismatch, ReasonIdempotencyKeyReused, ReasonModifiedSince:
		return true
	}
	return false
}

// EntityTag is the one definition of a file's etag (FileInfo.etag, the
// REST ETag header): the quoted hex of the CRC32 (8 digits), the size and
// the modification time in unix seconds, `"crc32-size-mtime"`. It is a
// strong validator of the content: an append, modify or truncate changes
// the size or the CRC32 (and the mtime); metadata is not part of it.
func EntityTag(crc uint32, size, mtime int64) string {
	return fmt.Sprintf(`"%08x-%x-%x"`, crc, size, mtime)
}

// ETag is the etag of the file fi describes. A file whose name encodes its
// size (a normal file: its content never changes) takes the CRC32 and
// creation time from its name, as the REST download does without asking
// the storage; other files (appender files, whose CRC32 the storage
// recomputes) take them from the storage's answer.
func ETag(fi *client.FileInfo) string {
	if n := fi.Name; n != nil && n.Size >= 0 {
		return EntityTag(n.CRC32, fi.Size, n.Timestamp)
	}
	return EntityTag(fi.CRC32, fi.Size, fi.CreateTime.Unix())
}

// Precondition is what a change requires of the file before it runs; the
// zero value requires nothing. It is checked with a file info query just
// before the change: the check and the change are two steps, so a writer
// changing the file between them is not detected. What it does
// guarantee: a request repeated after its first attempt was applied (a
// retry after a lost reply) finds the file changed and fails instead of
// applying twice.
type Precondition struct {
	// ExpectedSize, when set, is the size the file must have
	// (SIZE_MISMATCH otherwise).
	ExpectedSize *int64
	// IfMatch, when not "", is the etag the file must have, or "*" for
	// any (the file must exist); a comma-separated list of etags, as in
	// an HTTP If-Match header, matches any of them (ETAG_MISMATCH
	// otherwise). Weak etags (W/"...") never match.
	IfMatch string
}

func (p Precondition) none() bool { return p.ExpectedSize == nil && p.IfMatch == "" }

// check queries the file and compares it with p; a missing file is the
// query's NOT_FOUND.
func (f *Files) check(ctx context.Context, id string, p Precondition) error {
	if p.none() {
		return nil
	}
	fi, err := f.eng.GetFileInfo(ctx, id)
	if err != nil {
		return f.status(err, id)
	}
	if p.ExpectedSize != nil && *p.ExpectedSize != fi.Size {
		return ToStatus(SizeMismatch(*p.ExpectedSize, fi.Size), id)
	}
	if p.IfMatch != "" {
		if etag := ETag(fi); !MatchETag(p.IfMatch, etag) {
			return ToStatus(ETagMismatch(p.IfMatch, etag), id)
		}
	}
	return nil
}

// MatchETag reports whether the If-Match value list ("*", or
// comma-separated quoted etags) matches etag by strong comparison. An
// unquoted single value is compared as if quoted, for clients that drop
// the quotes.
func MatchETag(list, etag string) bool {
	list = strings.TrimSpace(list)
	if list == "*" {
		return true
	}
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "W/") {
			continue
		}
		if !strings.HasPrefix(v, `"`) {
			v = `"` + v + `"`
		}
		if v == etag {
			return true
		}
	}
	return false
}

// SizeMismatch is the refusal of a change whose expected size is not the
// file's: FAILED_PRECONDITION, reason ReasonSizeMismatch.
func SizeMismatch(expected, actual int64) error {
	return &preconditionError{
		reason:  ReasonSizeMismatch,
		msg:     fmt.Sprintf("the file has %d bytes, expected_size is %d: nothing was changed", actual, expected),
		md:      map[string]string{"expected_size": strconv.FormatInt(expected, 10), "actual_size": strconv.FormatInt(actual, 10)},
		subject: "size",
	}
}

// ETagMismatch is the refusal of a change whose If-Match is not the file's
// etag: FAILED_PRECONDITION, reason ReasonEtagMismatch.
func ETagMismatch(ifMatch, current string) error {
	return &preconditionError{
		reason:  ReasonEtagMismatch,
		msg:     fmt.Sprintf("the file's etag is %s, not %s: nothing was changed", current, ifMatch),
		md:      map[string]string{"etag": current},
		subject: "etag",
	}
}

// NotSentETag is the refusal of a download whose If-Match is not the
// file's etag: ETagMismatch's reason and details, for a read.
func NotSentETag(ifMatch, current string) error {
	return &preconditionError{
		reason:  ReasonEtagMismatch,
		msg:     fmt.Sprintf("the file's etag is %s, not %s (If-Match): not sent", current, ifMatch),
		md:      map[string]string{"etag": current},
		subject: "etag",
	}
}

// NotSentModified is the refusal of a download whose If-Unmodified-Since
// (since, as the client wrote it) is before the file's last modification:
// FAILED_PRECONDITION, reason ReasonModifiedSince.
func NotSentModified(since string, modified time.Time) error {
	last := modified.UTC().Format(http.TimeFormat)
	return &preconditionError{
		reason:  ReasonModifiedSince,
		msg:     fmt.Sprintf("the file was last modified at %s, after %s (If-Unmodified-Since): not sent", last, since),
		md:      map[string]string{"last_modified": last},
		subject: "mtime",
	}
}

// KeyReused is the refusal of an upload that repeats an idempotency key
// with another spec: FAILED_PRECONDITION, reason
// ReasonIdempotencyKeyReused; fileID is the first upload's file.
func KeyReused(key, fileID string) error {
	return &preconditionError{
		reason:  ReasonIdempotencyKeyReused,
		msg:     fmt.Sprintf("idempotency key %q was used for another upload (%s) with a different spec", key, fileID),
		md:      map[string]string{"idempotency_key": key, "first_file_id": fileID},
		subject: "idempotency_key",
	}
}

// preconditionError is a change refused because the file (or an earlier
// request) does not match what the request required.
type preconditionError struct {
	reason, msg, subject string
	md                   map[string]string
}

func (e *preconditionError) Error() string { return e.msg }

func (e *preconditionError) status(fileID string) error {
	md := map[string]string{}
	for k, v := range e.md {
		md[k] = v
	}
	if fileID != "" {
		md["file_id"] = fileID
	}
	// The message quotes what the client sent (If-Match,
	// If-Unmodified-Since), which need not be UTF-8: details that are not
	// do not encode, and the status would lose its reason.
	desc := strings.ToValidUTF8(e.msg, "\uFFFD")
	msg := desc
	if fileID != "" {
		msg = fileID + ": " + msg
	}
	st := status.New(codes.FailedPrecondition, msg)
	if d, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: e.reason, Domain: ErrorDomain, Metadata: md},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: PreconditionFailureType, Subject: e.subject, Description: desc,
		}}},
	); err == nil {
		st = d
	}
	return st.Err()
}
