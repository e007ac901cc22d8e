package fileid

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Lengths from upstream fdfs_define.h / tracker_types.h.
const (
	// GroupNameMaxLen is the longest group name (16 bytes on the wire).
	GroupNameMaxLen = 16
	// ExtMaxLen is the longest extension, without the dot.
	ExtMaxLen = 6
	// PrefixMaxLen is the longest slave prefix (field size 16).
	PrefixMaxLen = 16
	// PathPrefixLen is len("Mxx/HH/LL/").
	PathPrefixLen = 10
	// Base64Len is the encoded 20-byte name core.
	Base64Len = 27
	// TrunkInfoLen is the encoded 12-byte trunk location of trunk names.
	TrunkInfoLen = 16
	// FormattedExtLen is the random-digit-padded extension area.
	FormattedExtLen = ExtMaxLen + 1
	// NormalNameLen is the length of a normal (non-slave, non-trunk) name.
	NormalNameLen = PathPrefixLen + Base64Len + FormattedExtLen // 44
	// TrunkNameLen is the length of a trunk (non-slave) name.
	TrunkNameLen = NormalNameLen + TrunkInfoLen // 60
	// MaxNameLen bounds a logical name: upstream file name buffers are 128
	// bytes including the NUL.
	MaxNameLen = 127
	// MaxServerID is the largest numeric storage id that fits the name's
	// source field (the decoder treats larger values as IPv4 addresses).
	MaxServerID = 1<<24 - 1
)

// Flag bits of the masked size (bytes 8–15).
const (
	normalMark   = 1 << 63 // set together with 23 random bits for sizes < 4 GiB
	appenderMark = 1 << 58 // INFINITE_FILE_SIZE
	trunkMark    = 1 << 59 // FDFS_TRUNK_FILE_MARK_SIZE
)

// clip bounds untrusted text quoted in error messages.
func clip(s string) string {
	const limit = 160
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("fileid: "+format+": %w", append(args, protocol.ErrInvalid)...)
}

// ValidGroup reports whether g is a legal group name: 1..16 of [A-Za-z0-9].
func ValidGroup(g string) bool {
	if g == "" || len(g) > GroupNameMaxLen {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Split splits a full file ID "group1/M00/00/00/x" into "group1" and
// "M00/00/00/x". It validates the group only; Parse validates the name.
func Split(fileID string) (group, name string, err error) {
	group, name, ok := strings.Cut(fileID, "/")
	if !ok || name == "" {
		return "", "", invalid("file id %q has no group separator", clip(fileID))
	}
	if !ValidGroup(group) {
		return "", "", invalid("file id %q: bad group name", clip(fileID))
	}
	return group, name, nil
}

// Join builds a full file ID from a group and a logical name.
func Join(group, name string) string { return group + "/" + name }

// SourceFromIP returns the source bytes for an IPv4 address (IP mode): the
// four octets in order.
func SourceFromIP(ip string) (Source, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Unmap().Is4() {
		return Source{}, invalid("source %q is not an IPv4 address", ip)
	}
	return Source(a.Unmap().As4()), nil
}

// SourceFromID returns the source bytes for a numeric storage id (id mode):
// the id little-endian, as x86 upstream writes htonl(id) big-endian.
func SourceFromID(id string) (Source, error) {
	v, err := strconv.ParseUint(id, 10, 32)
	if err != nil || v == 0 || v > MaxServerID {
		return Source{}, invalid("storage id %q is not a number in 1..%d", id, MaxServerID)
	}
	var s Source
	binary.LittleEndian.PutUint32(s[:], uint32(v))
	return s, nil
}

// Decode interprets the source bytes as upstream does on x86: the bytes read
// little-endian give v; 0 < v ≤ 2^24−1 is a server id, anything else an
// IPv4 address whose octets are the bytes in order. Exactly one of the
// results is non-empty.
func (s Source) Decode() (ip, id string) {
	v := binary.LittleEndian.Uint32(s[:])
	if v > 0 && v <= MaxServerID {
		return "", strconv.FormatUint(uint64(v), 10)
	}
	return netip.AddrFrom4(s).String(), ""
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	if c <= '9' {
		return int(c - '0')
	}
	return int(c-'A') + 10
}

// ParsePrefix parses the "Mxx/HH/LL/" a logical file name starts with
// (PathPrefixLen bytes): the store path index and the two directory
// levels, in upper-case hex. ok is false for anything else. Regular and
// trunk files' names share it.
func ParsePrefix(name string) (storePath, high, low int, ok bool) {
	if len(name) < PathPrefixLen || name[0] != 'M' || name[3] != '/' || name[6] != '/' || name[9] != '/' {
		return 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	storePath, ok1 = parseHex2(name[1:3])
	high, ok2 = parseHex2(name[4:6])
	low, ok3 = parseHex2(name[7:9])
	return storePath, high, low, ok1 && ok2 && ok3
}

// parseHex2 parses two uppercase hex digits.
func parseHex2(s string) (int, bool) {
	if len(s) != 2 || !isUpperHex(s[0]) || !isUpperHex(s[1]) {
		return 0, false
	}
	return hexVal(s[0])<<4 | hexVal(s[1]), true
}

// isNameChar reports whether c may appear in the file part after the path
// prefix: the base64 alphabet, the pad/dot and the characters upstream
// fdfs_validate_filename allows in extensions and slave prefixes.
func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// Parse validates and decodes a logical file name ("M00/00/00/…", no
// group). Every error wraps protocol.ErrInvalid. A name that parses
// contains no "..", no separator inside the file part and no NUL, so
// Path never leaves the store path.
func Parse(name string) (*Name, error) {
	if len(name) > MaxNameLen {
		return nil, invalid("name of %d bytes is longer than %d", len(name), MaxNameLen)
	}
	if len(name) < PathPrefixLen+Base64Len {
		return nil, invalid("name %q is too short", name)
	}
	if name[0] != 'M' || name[3] != '/' || name[6] != '/' || name[9] != '/' {
		return nil, invalid("name %q does not start with Mxx/HH/LL/", name)
	}
	n := &Name{Size: -1}
	var ok bool
	if n.StorePathIndex, n.High, n.Low, ok = ParsePrefix(name); !ok {
		return nil, invalid("name %q: store path or directory is not uppercase hex", name)
	}
	n.File = name[PathPrefixLen:]
	for i := 0; i < len(n.File); i++ {
		if !isNameChar(n.File[i]) {
			return nil, invalid("name %q: bad character %q", name, n.File[i])
		}
	}
	if strings.Contains(n.File, "..") {
		return nil, invalid("name %q contains \"..\"", name)
	}
	raw, err := DecodeBase64(n.File[:Base64Len])
	if err != nil || len(raw) != 20 {
		return nil, invalid("name %q: %v", name, err)
	}
	copy(n.Source[:], raw[0:4])
	n.SourceIP, n.SourceID = n.Source.Decode()
	n.Timestamp = int64(binary.BigEndian.Uint32(raw[4:8]))
	n.RawSize = int64(binary.BigEndian.Uint64(raw[8:16]))
	n.CRC32 = binary.BigEndian.Uint32(raw[16:20])
	n.Appender = n.RawSize&appenderMark != 0
	// Upstream (fdfs_is_trunk_file) takes a name for a trunk name only when
	// it has exactly the trunk length; the bit alone (e.g. random bytes in a
	// made-up name) does not make one, and such a name is simply not found.
	n.Trunk = n.RawSize&trunkMark != 0 && len(name) == TrunkNameLen
	core := Base64Len
	if n.Trunk {
		t, err := DecodeBase64(n.File[Base64Len : Base64Len+TrunkInfoLen])
		if err != nil || len(t) != 12 { // padding would shorten it
			return nil, invalid("trunk name %q: bad trunk location", name)
		}
		n.TrunkFileID = binary.BigEndian.Uint32(t[0:4])
		n.TrunkOffset = binary.BigEndian.Uint32(t[4:8])
		n.TrunkAllocSize = binary.BigEndian.Uint32(t[8:12])
		core += TrunkInfoLen
	} else {
		n.Slave = len(name) > NormalNameLen
	}
	// The extension is whatever follows the first '.' in the last 7
	// characters (the formatted extension area), as upstream locates it.
	tail := max(core, len(n.File)-FormattedExtLen)
	if dot := strings.IndexByte(n.File[tail:], '.'); dot >= 0 {
		n.Ext = n.File[tail+dot+1:]
	}
	switch {
	case n.Appender || n.Slave:
		// Unknown from the name: ask the storage (QUERY_FILE_INFO).
	case n.RawSize < 0 || n.Trunk: // bit 63 (random-masked) or trunk
		n.Size = n.RawSize & 0xFFFFFFFF
	default:
		n.Size = n.RawSize
	}
	return n, nil
}

// Name returns the logical name again ("Mxx/HH/LL/File").
func (n *Name) Name() string {
	return fmt.Sprintf("M%02X/%02X/%02X/%s", n.StorePathIndex, n.High, n.Low, n.File)
}

// Check verifies the store path index and directories against the storage
// configuration; out of range is EINVAL, as upstream.
func (n *Name) Check(storePathCount, subdirCount int) error {
	if n.StorePathIndex >= storePathCount {
		return invalid("store path index %d >= store_path_count %d", n.StorePathIndex, storePathCount)
	}
	if n.High >= subdirCount || n.Low >= subdirCount {
		return invalid("directory %02X/%02X outside subdir_count_per_path %d", n.High, n.Low, subdirCount)
	}
	return nil
}

// Path returns the physical path <store_pathN>/data/HH/LL/<File>. Call
// Check first: an index outside storePaths yields "".
func (n *Name) Path(storePaths []string) string {
	if n.StorePathIndex < 0 || n.StorePathIndex >= len(storePaths) {
		return ""
	}
	root := strings.TrimRight(storePaths[n.StorePathIndex], "/")
	if n.High < 0 || n.High > 0xFF || n.Low < 0 || n.Low > 0xFF {
		return fmt.Sprintf("%s/data/%02X/%02X/%s", root, n.High, n.Low, n.File)
	}
	// Built by hand: every read of a file resolves its path, and
	// fmt.Sprintf was 2% of a small download's CPU.
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(root)+len("/data/HH/LL/")+len(n.File))
	b = append(b, root...)
	b = append(b, "/data/"...)
	b = append(b, hex[n.High>>4], hex[n.High&0xF], '/', hex[n.Low>>4], hex[n.Low&0xF], '/')
	return string(append(b, n.File...))
}

// ValidateExt checks a file extension (without the dot): at most 6 of
// [A-Za-z0-9_.-] as upstream fdfs_validate_filename, and additionally no
// leading '.' and no "..", which would put ".." into the generated name.
func ValidateExt(ext string) error {
	if len(ext) > ExtMaxLen {
		return invalid("extension %q longer than %d", ext, ExtMaxLen)
	}
	if err := validateChars("extension", ext); err != nil {
		return err
	}
	if strings.HasPrefix(ext, ".") {
		return invalid("extension %q starts with a dot", ext)
	}
	return nil
}

func validateChars(what, s string) error {
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return invalid("%s %q: bad character %q", what, s, s[i])
		}
	}
	if strings.Contains(s, "..") {
		return invalid("%s %q contains \"..\"", what, s)
	}
	return nil
}

// FormatExt returns the 7-character extension area: random decimal digits,
// then "." + ext when ext is non-empty (".txt" → "662.txt", "" → "4861730").
func FormatExt(ext string) (string, error) {
	if err := ValidateExt(ext); err != nil {
		return "", err
	}
	pad := FormattedExtLen
	if ext != "" {
		pad = ExtMaxLen - len(ext)
	}
	b := make([]byte, 0, FormattedExtLen)
	for range pad {
		b = append(b, byte('0'+rand.IntN(10)))
	}
	if ext != "" {
		b = append(b, '.')
		b = append(b, ext...)
	}
	return string(b), nil
}

// MaskSize returns bytes 8–15 for a new name, as the storage builds them:
// sizes < 4 GiB get bit 63 and 23 random bits in the high word; larger
// sizes are stored plainly; appender files have low word 0 and bit 58;
// trunk files add bit 59.
func MaskSize(size int64, appender, trunk bool) int64 {
	if appender {
		size = 0
	}
	masked := size
	if size>>32 == 0 {
		r := uint64(rand.Uint32()&0x007FFFFF | 0x80000000)
		masked = int64(r<<32 | uint64(size))
	}
	if appender {
		masked |= appenderMark
	}
	if trunk {
		masked |= trunkMark
	}
	return masked
}

// Encode20 returns the 27-character base64 core for f with an already
// masked size.
func Encode20(src Source, timestamp int64, maskedSize int64, crc uint32) string {
	var b [20]byte
	copy(b[0:4], src[:])
	binary.BigEndian.PutUint32(b[4:8], uint32(timestamp))
	binary.BigEndian.PutUint64(b[8:16], uint64(maskedSize))
	binary.BigEndian.PutUint32(b[16:20], crc)
	return EncodeBase64(b[:])
}

// Generate builds a new logical file name
// "Mxx/HH/LL/<27 base64><7-char ext>" with fresh random bits (and, for
// trunk files, the 16-character trunk location after the core).
func Generate(storePathIndex, high, low int, f Fields, ext string) (string, error) {
	for _, v := range []int{storePathIndex, high, low} {
		if v < 0 || v > 0xFF {
			return "", invalid("store path index or directory %d out of range 0..255", v)
		}
	}
	if f.Size < 0 {
		return "", invalid("negative size %d", f.Size)
	}
	if f.Timestamp < 0 || f.Timestamp > 0xFFFFFFFF {
		return "", invalid("timestamp %d does not fit 32 bits", f.Timestamp)
	}
	if f.Trunk && f.Size>>32 != 0 {
		return "", invalid("trunk file size %d does not fit 32 bits", f.Size)
	}
	fext, err := FormatExt(ext)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.Grow(TrunkNameLen)
	fmt.Fprintf(&sb, "M%02X/%02X/%02X/", storePathIndex, high, low)
	sb.WriteString(Encode20(f.Source, f.Timestamp, MaskSize(f.Size, f.Appender, f.Trunk), f.CRC32))
	if f.Trunk {
		var t [12]byte
		binary.BigEndian.PutUint32(t[0:4], f.TrunkFileID)
		binary.BigEndian.PutUint32(t[4:8], f.TrunkOffset)
		binary.BigEndian.PutUint32(t[8:12], f.TrunkAllocSize)
		sb.WriteString(EncodeBase64(t[:]))
	}
	sb.WriteString(fext)
	return sb.String(), nil
}

// SlaveName derives a slave file name as upstream fdfs_gen_slave_filename:
// the master name up to the first '.' among its last 7 characters, then
// prefix, then "." + ext, or the master's extension when ext is empty. The
// prefix must be non-empty (the storage answers EINVAL otherwise).
func SlaveName(masterName, prefix, ext string) (string, error) {
	if _, err := Parse(masterName); err != nil {
		return "", err
	}
	if prefix == "" || len(prefix) > PrefixMaxLen {
		return "", invalid("slave prefix %q must have 1..%d characters", prefix, PrefixMaxLen)
	}
	if err := validateChars("slave prefix", prefix); err != nil {
		return "", err
	}
	stem, masterExt := masterName, ""
	tail := len(masterName) - FormattedExtLen
	if dot := strings.IndexByte(masterName[tail:], '.'); dot >= 0 {
		stem, masterExt = masterName[:tail+dot], masterName[tail+dot:]
	}
	trueExt := masterExt
	if ext != "" {
		if err := ValidateExt(ext); err != nil {
			return "", err
		}
		trueExt = "." + ext
	}
	name := stem + prefix + trueExt
	if _, err := Parse(name); err != nil {
		return "", err
	}
	return name, nil
}
