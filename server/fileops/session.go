package fileops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Metadata the sessions keep on their appender file while it is
// unfinished; finishing removes it. Its presence is what tells an
// unfinished session from a finished upload to every gateway (and to the
// sweep), so no gateway needs state of its own.
const (
	// SessionMetaPrefix starts every reserved name; a session's own
	// metadata may not use it.
	SessionMetaPrefix = "fdfs-upload-"
	metaExpires       = SessionMetaPrefix + "expires" // unix seconds
	metaSize          = SessionMetaPrefix + "size"    // declared total size (bytes)
	metaCRC32         = SessionMetaPrefix + "crc32"   // declared CRC-32 of the whole content
)

// Defaults of SessionConfig.
const (
	DefaultSessionTTL  = 24 * time.Hour
	DefaultSegmentSize = 4 << 20
)

// SessionConfig configures Sessions.
type SessionConfig struct {
	// Secret signs the tokens; gateways that share it serve each other's
	// sessions. Empty: a random secret of this process.
	Secret []byte
	// TTL is how long a session may stay unfinished (DefaultSessionTTL).
	TTL time.Duration
	// MaxSize bounds a session's size in bytes; 0: no bound.
	MaxSize int64
	// SegmentSize is the most bytes CommitSegments writes in one storage
	// request (DefaultSegmentSize).
	SegmentSize int64
	// RecordDir keeps a record of every session created here, for Sweep;
	// "" keeps none.
	RecordDir string
	// SpoolDir holds the content of a checksummed write until it is
	// verified ("" the system temp directory).
	SpoolDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sessions are resumable uploads: a session is an appender file that
// writes fill at its end, named by a signed token (sessiontoken.go). The
// committed offset is the file's size at its source storage; a write must
// start there, and each write lands at an explicit offset (MODIFY), so a
// write repeated after a lost reply can never store its bytes twice.
type Sessions struct {
	f   *Files
	cfg SessionConfig
	log *slog.Logger
}

// NewSessions returns the upload sessions of f's engine.
func NewSessions(f *Files, cfg SessionConfig) *Sessions {
	if len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultSessionTTL
	}
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = DefaultSegmentSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{f: f, cfg: cfg, log: f.log}
}

// MaxSize is the largest session the gateway takes (0: no bound).
func (s *Sessions) MaxSize() int64 { return s.cfg.MaxSize }

// SessionSpec describes the file a session uploads.
type SessionSpec struct {
	Group, Ext string
	Meta       map[string]string
	// Size is the total size in bytes, -1 when not known yet.
	Size int64
	// CRC32, when not nil, is the CRC-32 the whole content must have at
	// Finish.
	CRC32 *uint32
}

// Session is the state of a session.
type Session struct {
	Token  string
	FileID string
	// Offset is the number of bytes committed.
	Offset int64
	// Size is the declared total size, -1 when not known.
	Size     int64
	Expires  time.Time
	Finished bool
	// Meta is the file's metadata without the session's own.
	Meta  map[string]string
	crc32 *uint32
}

// Create starts a session: an empty appender file carrying the spec's
// metadata and the session's own.
func (s *Sessions) Create(ctx context.Context, spec SessionSpec) (*Session, error) {
	if err := ValidateMetadata(spec.Meta); err != nil {
		return nil, ToStatus(err, "")
	}
	if spec.Size < -1 {
		return nil, ToStatus(InvalidField("size", fmt.Sprintf("negative size %d", spec.Size)), "")
	}
	if err := s.checkMax("size", spec.Size); err != nil {
		return nil, err
	}
	expires := s.cfg.Now().Add(s.cfg.TTL).Truncate(time.Second)
	meta := maps.Clone(spec.Meta)
	if meta == nil {
		meta = make(map[string]string, 3)
	}
	meta[metaExpires] = strconv.FormatInt(expires.Unix(), 10)
	if spec.Size >= 0 {
		meta[metaSize] = strconv.FormatInt(spec.Size, 10)
	}
	if spec.CRC32 != nil {
		meta[metaCRC32] = strconv.FormatUint(uint64(*spec.CRC32), 10)
	}
	id, err := s.f.eng.UploadAppender(ctx, strings.NewReader(""), 0, client.UploadOptions{Group: spec.Group, Ext: spec.Ext, Meta: meta})
	if err != nil {
		return nil, s.f.status(err, "")
	}
	s.record(id, expires)
	return &Session{
		Token: encodeToken(s.cfg.Secret, sessionToken{fileID: id, expires: expires}), FileID: id,
		Size: spec.Size, Expires: expires, Meta: maps.Clone(spec.Meta), crc32: spec.CRC32,
	}, nil
}

// checkMax refuses a size beyond MaxSize: RESOURCE_EXHAUSTED.
func (s *Sessions) checkMax(field string, size int64) error {
	if max := s.cfg.MaxSize; max > 0 && size > max {
		return ToStatus(&apiError{code: codes.ResourceExhausted, reason: "UPLOAD_TOO_LARGE", field: field,
			msg: fmt.Sprintf("an upload of %d bytes exceeds the upload limit of %d bytes", size, max)}, "")
	}
	return nil
}

// Get returns the state of the session token names. An expired unfinished
// session is reclaimed (its file deleted) and answered
// ReasonSessionExpired.
func (s *Sessions) Get(ctx context.Context, token string) (*Session, error) {
	t, err := decodeToken(s.cfg.Secret, token)
	if err != nil {
		return nil, ToStatus(sessionNotFound("the token is not valid (damaged, or not signed with this gateway's uploads.secret)"), "")
	}
	st, err := s.f.eng.StatSource(ctx, t.fileID, false)
	if err != nil {
		if fileGone(err) {
			if !s.cfg.Now().Before(t.expires) {
				s.dropRecord(t.fileID)
				return nil, ToStatus(sessionExpired(t.fileID), t.fileID)
			}
			return nil, ToStatus(sessionNotFound("its file "+t.fileID+" no longer exists (the session was cancelled)"), t.fileID)
		}
		return nil, s.f.status(err, t.fileID)
	}
	sess := sessionOf(token, t, st)
	if !sess.Finished && !s.cfg.Now().Before(t.expires) {
		s.reclaim(ctx, t.fileID)
		return nil, ToStatus(sessionExpired(t.fileID), t.fileID)
	}
	return sess, nil
}

// sessionOf is the session token t names, whose file is in state st.
func sessionOf(token string, t sessionToken, st *client.SourceState) *Session {
	sess := &Session{Token: token, FileID: t.fileID, Offset: st.Size, Size: -1, Expires: t.expires}
	_, open := st.Meta[metaExpires]
	sess.Finished = !open
	for k, v := range st.Meta {
		switch k {
		case metaSize:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				sess.Size = n
			}
		case metaCRC32:
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				c := uint32(n)
				sess.crc32 = &c
			}
		case metaExpires:
		default:
			if sess.Meta == nil {
				sess.Meta = make(map[string]string)
			}
			sess.Meta[k] = v
		}
	}
	if sess.Finished {
		sess.Size = sess.Offset
	}
	return sess
}

// fileGone reports whether err says that a session's file does not exist:
// ENOENT, but not the tracker's ENOENT for a group without a storage up
// (client.ErrStorageOffline), which says nothing of the file.
func fileGone(err error) bool {
	return errors.Is(err, protocol.ErrNotFound) && !errors.Is(err, client.ErrStorageOffline)
}

// reclaim deletes the file of an expired session, and its record.
func (s *Sessions) reclaim(ctx context.Context, id string) {
	if err := s.f.eng.Delete(ctx, id); err != nil && !fileGone(err) {
		s.log.Warn("could not delete the file of an expired upload session", "file_id", id, "err", err)
		return
	}
	s.log.Info("deleted the file of an expired upload session", "file_id", id)
	s.dropRecord(id)
}

// SetSize declares the total size of a session created without one (tus
// Upload-Length after Upload-Defer-Length); declaring the size it has is
// a no-op.
func (s *Sessions) SetSize(ctx context.Context, sess *Session, size int64) error {
	switch {
	case size < 0:
		return ToStatus(InvalidField("size", fmt.Sprintf("negative size %d", size)), sess.FileID)
	case sess.Size == size:
		return nil
	case sess.Size >= 0:
		return ToStatus(InvalidField("size", fmt.Sprintf("the upload's size is %d bytes already", sess.Size)), sess.FileID)
	case size < sess.Offset:
		return ToStatus(InvalidField("size", fmt.Sprintf("size %d is less than the %d bytes committed", size, sess.Offset)), sess.FileID)
	}
	if err := s.checkMax("size", size); err != nil {
		return err
	}
	if err := s.f.eng.SetMetadata(ctx, sess.FileID, map[string]string{metaSize: strconv.FormatInt(size, 10)}, protocol.MetaMerge); err != nil {
		return s.f.status(err, sess.FileID)
	}
	sess.Size = size
	return nil
}

// Finish ends the session: the file keeps the session's metadata only,
// and no longer expires. size, when not nil, declares the total size of a
// session created without one. The file must have the declared size (and
// CRC-32). Finishing a finished session answers its state.
func (s *Sessions) Finish(ctx context.Context, token string, size *int64) (*Session, error) {
	sess, err := s.Get(ctx, token)
	if err != nil || sess.Finished {
		return sess, err
	}
	if size != nil {
		if err := s.SetSize(ctx, sess, *size); err != nil {
			return nil, err
		}
	}
	if sess.Size >= 0 && sess.Offset != sess.Size {
		return nil, ToStatus(&apiError{code: codes.FailedPrecondition, reason: "UPLOAD_INCOMPLETE", field: "size",
			msg: fmt.Sprintf("%d of the upload's %d bytes are committed: write the rest first", sess.Offset, sess.Size),
			md:  map[string]string{"committed_offset": strconv.FormatInt(sess.Offset, 10)}}, sess.FileID)
	}
	if sess.crc32 != nil {
		st, err := s.f.eng.StatSource(ctx, sess.FileID, true)
		if err != nil {
			return nil, s.f.status(err, sess.FileID)
		}
		if st.CRC32 != *sess.crc32 {
			return nil, ToStatus(&apiError{code: codes.FailedPrecondition, reason: ReasonChecksumMismatch, field: "crc32",
				msg: fmt.Sprintf("the content's CRC-32 is %08x, not the %08x declared: the session stays open", st.CRC32, *sess.crc32)}, sess.FileID)
		}
	}
	meta := sess.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	if err := s.f.eng.SetMetadata(ctx, sess.FileID, meta, protocol.MetaOverwrite); err != nil {
		return nil, s.f.status(err, sess.FileID)
	}
	s.dropRecord(sess.FileID)
	sess.Finished, sess.Size = true, sess.Offset
	return sess, nil
}

// Cancel deletes the file of an unfinished session.
func (s *Sessions) Cancel(ctx context.Context, token string) error {
	sess, err := s.Get(ctx, token)
	if err != nil {
		return err
	}
	if sess.Finished {
		return ToStatus(sessionFinished(sess.FileID), sess.FileID)
	}
	if err := s.f.eng.Delete(ctx, sess.FileID); err != nil {
		return s.f.status(err, sess.FileID)
	}
	s.dropRecord(sess.FileID)
	return nil
}

// Open starts a write at offset, which must be the session's committed
// offset (FAILED_PRECONDITION, ReasonOffsetMismatch, otherwise).
func (s *Sessions) Open(ctx context.Context, token string, offset int64) (*Writer, error) {
	sess, err := s.Get(ctx, token)
	if err != nil {
		return nil, err
	}
	if sess.Finished {
		return nil, ToStatus(sessionFinished(sess.FileID), sess.FileID)
	}
	if offset != sess.Offset {
		return nil, ToStatus(offsetMismatch(offset, sess.Offset), sess.FileID)
	}
	return &Writer{s: s, sess: sess}, nil
}

// Writer writes one request's content to a session, advancing the
// session's committed offset with every storage request that succeeds.
type Writer struct {
	s    *Sessions
	sess *Session
}

// Session is the session written to; its Offset is the committed offset.
func (w *Writer) Session() *Session { return w.sess }

// Commit writes c (c.Size bytes) at the committed offset in one storage
// request: all of it is committed or none (the storage cuts a broken
// write back).
func (w *Writer) Commit(ctx context.Context, c Content) error {
	if c.Size == 0 {
		return nil
	}
	end := w.sess.Offset + c.Size
	if w.sess.Size >= 0 && end > w.sess.Size {
		return ToStatus(sizeExceeded("size", end, w.sess.Size), w.sess.FileID)
	}
	if err := w.s.checkMax("size", end); err != nil {
		return err
	}
	if err := w.s.f.eng.Modify(ctx, w.sess.FileID, w.sess.Offset, c.R, c.Size); err != nil {
		if cerr := c.failed(); cerr != nil {
			return cerr
		}
		return w.s.f.status(w.movedOffset(ctx, err), w.sess.FileID)
	}
	w.sess.Offset = end
	return nil
}

// movedOffset turns the EINVAL of a storage refusing to write past the
// end of the file into OFFSET_MISMATCH: the file is shorter than the
// offset the write was opened at. A storage's size includes the bytes of
// a write in flight, which it cuts off again if that write fails; a
// client that saw them resumed too far and must ask for the offset again.
func (w *Writer) movedOffset(ctx context.Context, err error) error {
	if !errors.Is(err, protocol.ErrInvalid) {
		return err
	}
	st, serr := w.s.f.eng.StatSource(ctx, w.sess.FileID, false)
	if serr != nil || st.Size >= w.sess.Offset {
		return err
	}
	w.s.log.Debug("upload session write past the end", "file_id", w.sess.FileID, "err", err)
	return offsetMismatch(w.sess.Offset, st.Size)
}

// CommitSegments writes c in storage requests of at most the configured
// segment size, so that an interruption keeps the segments before it.
// Content that would go beyond the session's size commits nothing.
func (w *Writer) CommitSegments(ctx context.Context, c Content) error {
	end := w.sess.Offset + c.Size
	if w.sess.Size >= 0 && end > w.sess.Size {
		return ToStatus(sizeExceeded("size", end, w.sess.Size), w.sess.FileID)
	}
	if err := w.s.checkMax("size", end); err != nil {
		return err
	}
	for left := c.Size; left > 0; {
		n := min(left, w.s.cfg.SegmentSize)
		seg := c
		seg.R, seg.Size = io.LimitReader(c.R, n), n
		if err := w.Commit(ctx, seg); err != nil {
			return err
		}
		left -= n
	}
	return nil
}
