package storagenode

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"os"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// metaChecksums are the metadata keys a gateway keeps an upload's checksum
// under (fileops.ChecksumAlgorithm.MetadataKey), with their hash.
var metaChecksums = map[string]func() hash.Hash{
	"fdfs_crc32":  func() hash.Hash { return crc32.NewIEEE() },
	"fdfs_crc32c": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"fdfs_sha256": sha256.New,
}

// expected is what a file's content must match: the size and CRC32 its
// name carries (normal files) and the checksums kept in its metadata
// (normal and slave files).
type expected struct {
	size  int64  // bytes, -1 = unknown
	crc   uint32 // from the name, when size >= 0
	named bool   // size and crc apply
	meta  map[string][]byte
}

// expectedOf returns what the file of n at path must match; false when
// nothing can be checked (appender files, slave files without a stored
// checksum).
func expectedOf(n *fileid.Name, path string) (*expected, bool) {
	e := &expected{size: -1}
	if verifiable(n) {
		e.size, e.crc, e.named = n.Size, n.CRC32, true
	}
	if !n.Appender && !n.Trunk {
		e.meta = metaSums(path + metaSuffix)
	}
	return e, e.named || len(e.meta) > 0
}

// metaSums reads the checksums kept in a metadata file; none when it is
// missing, unreadable or holds none that decode.
func metaSums(path string) map[string][]byte {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() > maxMetaFileSize {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m, err := protocol.UnpackMeta(b)
	if err != nil {
		return nil
	}
	var out map[string][]byte
	for k, newHash := range metaChecksums {
		v, err := hex.DecodeString(m[k])
		if err != nil || len(v) != newHash().Size() {
			continue
		}
		if out == nil {
			out = map[string][]byte{}
		}
		out[k] = v
	}
	return out
}

// sums computes, in one pass over the content, every checksum an
// expected asks for.
type sums struct {
	n      int64
	crc    hash.Hash32
	hashes map[string]hash.Hash
}

func (e *expected) newSums() *sums {
	s := &sums{crc: crc32.NewIEEE(), hashes: map[string]hash.Hash{}}
	for k := range e.meta {
		s.hashes[k] = metaChecksums[k]()
	}
	return s
}

func (s *sums) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	s.crc.Write(p)
	for _, h := range s.hashes {
		h.Write(p)
	}
	return len(p), nil
}

// matches reports whether the content summed matches e.
func (e *expected) matches(s *sums) bool {
	if e.named && (s.n != e.size || s.crc.Sum32() != e.crc) {
		return false
	}
	for k, want := range e.meta {
		if !bytes.Equal(s.hashes[k].Sum(nil), want) {
			return false
		}
	}
	return true
}
