package fileops

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"maps"
	"strings"

	"google.golang.org/grpc/codes"
)

// ChecksumAlgorithm names a content checksum.
type ChecksumAlgorithm int

// Checksum algorithms, numbered as fastdfs.v1.ChecksumAlgorithm.
const (
	CRC32  ChecksumAlgorithm = iota + 1 // IEEE, as in file IDs
	CRC32C                              // Castagnoli
	SHA256
	SHA1
	MD5
)

// ChecksumAlgorithms are the algorithms' lower-case names (tus's
// Upload-Checksum names), in the order tus clients are offered them.
var ChecksumAlgorithms = []string{"sha1", "md5", "crc32", "sha256", "crc32c"}

// ChecksumAlgorithmByName returns the algorithm of a lower-case name of
// ChecksumAlgorithms.
func ChecksumAlgorithmByName(name string) (ChecksumAlgorithm, bool) {
	for a := CRC32; a <= MD5; a++ {
		if a.Name() == name {
			return a, true
		}
	}
	return 0, false
}

// Name is the algorithm's lower-case name ("crc32", "sha1", ...).
func (a ChecksumAlgorithm) Name() string { return strings.ToLower(a.String()) }

// String is the algorithm's name in the REST headers (X-Checksum-<name>).
func (a ChecksumAlgorithm) String() string {
	switch a {
	case CRC32:
		return "CRC32"
	case CRC32C:
		return "CRC32C"
	case SHA256:
		return "SHA256"
	case SHA1:
		return "SHA1"
	case MD5:
		return "MD5"
	}
	return fmt.Sprintf("ChecksumAlgorithm(%d)", int(a))
}

// Checksum is the expected checksum of an upload's (or an upload-session
// write's) content, big-endian bytes (4 for the CRCs, 32 for SHA-256, 20
// for SHA-1, 16 for MD5).
type Checksum struct {
	Algorithm ChecksumAlgorithm
	Value     []byte
	// Field names the request field or header that carried it, for
	// errors.
	Field string
	// Store keeps it in the file's metadata too (MetadataKey, hex), where
	// the storages' scrubbers check it; normal and slave files only.
	Store bool
}

// MetadataKey is the metadata key a stored checksum of algorithm a is
// kept under: "fdfs_crc32", "fdfs_crc32c" or "fdfs_sha256" (the storages'
// scrubbers look for these).
func (a ChecksumAlgorithm) MetadataKey() string { return "fdfs_" + a.Name() }

// storable reports whether the storages' scrubbers check a metadata
// checksum of algorithm a.
func (a ChecksumAlgorithm) storable() bool { return a == CRC32 || a == CRC32C || a == SHA256 }

// withStoredChecksum returns the metadata of upload u, with its checksum
// added when it is to be stored.
func withStoredChecksum(u Upload) (map[string]string, error) {
	if u.Checksum == nil || !u.Checksum.Store {
		return u.Meta, nil
	}
	if u.Kind == Appender {
		return nil, InvalidField(u.Checksum.Field, "an appender file's content changes: its checksum cannot be stored")
	}
	if !u.Checksum.Algorithm.storable() {
		return nil, InvalidField(u.Checksum.Field, fmt.Sprintf("a %s checksum cannot be stored (the scrubbers check CRC32, CRC32C and SHA256)", u.Checksum.Algorithm))
	}
	meta := maps.Clone(u.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[u.Checksum.Algorithm.MetadataKey()] = hex.EncodeToString(u.Checksum.Value)
	return meta, nil
}

func (c *Checksum) newHash() (hash.Hash, error) {
	var h hash.Hash
	switch c.Algorithm {
	case CRC32:
		h = crc32.NewIEEE()
	case CRC32C:
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case SHA256:
		h = sha256.New()
	case SHA1:
		h = sha1.New()
	case MD5:
		h = md5.New()
	default:
		return nil, InvalidField(c.Field, "unknown checksum algorithm")
	}
	if len(c.Value) != h.Size() {
		return nil, InvalidField(c.Field, fmt.Sprintf("a %s checksum has %d bytes, got %d", c.Algorithm, h.Size(), len(c.Value)))
	}
	return h, nil
}

// CRC32Bytes is v as the 4 big-endian bytes of a checksum value.
func CRC32Bytes(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// verifiedContent returns c reading through a checker of sum: every byte
// but the last passes at once; the last one is handed to the engine only
// once the whole content was read and matches. On a mismatch the read
// fails instead, so the storage never receives the whole file: its upload
// is cut short and it keeps nothing (an interrupted upload leaves no
// file), and no other client could have seen the file. An empty content
// is checked before anything is sent.
func verifiedContent(c Content, sum *Checksum) (Content, error) {
	h, err := sum.newHash()
	if err != nil {
		return c, err
	}
	v := &verifier{r: c.R, left: c.Size, h: h, sum: sum}
	if c.Size == 0 {
		if err := v.check(); err != nil {
			return c, err
		}
	}
	c.R = v
	return c, nil
}

type verifier struct {
	r    io.Reader
	left int64 // content bytes not read from r yet
	h    hash.Hash
	sum  *Checksum
	err  error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.left == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	last := v.left == 1
	if !last && int64(len(p)) >= v.left {
		p = p[:v.left-1] // hold the last byte back
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.left -= int64(n)
	if err == io.EOF && v.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if last && n == 1 {
		if cerr := v.check(); cerr != nil {
			v.err = cerr
			return 0, cerr
		}
		err = nil
	}
	return n, err
}

// check compares the digest of what was read with the expected one.
func (v *verifier) check() error {
	if got := v.h.Sum(nil); !bytes.Equal(got, v.sum.Value) {
		return &validationError{code: codes.InvalidArgument, reason: ReasonChecksumMismatch,
			msg:    fmt.Sprintf("content %s is %x, %s says %x: nothing was stored", v.sum.Algorithm, got, v.sum.Field, v.sum.Value),
			fields: []FieldViolation{{v.sum.Field, "checksum does not match the content"}}}
	}
	return nil
}
