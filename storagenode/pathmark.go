package storagenode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// Store path marks, as upstream storage_func.c (storage_check_store_path_mark
// and storage_generate_store_path_mark) keeps them: each store path holds
// its mark in <store_path>/data/.fastdfs_vars as "store_path_mark=<mark>",
// and the storage that owns the path records the same mark as
// "store_path_mark<N>=<mark>" (N: the store path index) in
// <base_path>/data/.data_init_flag, after the other keys. At start, with
// check_store_path_mark on (the default), a store path whose mark is not the
// one recorded for it is refused: it belongs to another storage server.
//
// The mark is the FastDFS base64 (no padding) of upstream's 56-byte
// FDFSStorePathMarkInfo as x86-64 lays it out: the storage's IP (46 bytes,
// NUL-padded), port (int16), store path index (uint8), a padding byte, two
// alignment bytes and the creation time (int32), little-endian. Only the
// string is compared; the fields are decoded for the error message.
const (
	markKey        = "store_path_mark" // key in .fastdfs_vars; + index in .data_init_flag
	markInfoSize   = 56
	markIPSize     = 46 // IP_ADDRESS_SIZE
	markPortOff    = 46
	markIndexOff   = 48
	markCreatedOff = 52
	// legacyMarkLen is the length of the marks fdfs storages wrote before
	// they kept upstream's (24 random bytes, 32 characters, and no line in
	// .data_init_flag). Upstream marks are 75 characters.
	legacyMarkLen = 32
)

// markInfo is what a store path mark says.
type markInfo struct {
	IP      string
	Port    int
	Index   int
	Created time.Time
}

// encodeMark builds a mark as upstream storage_generate_store_path_mark.
func encodeMark(m markInfo) string {
	var b [markInfoSize]byte
	copy(b[:markIPSize-1], m.IP)
	binary.LittleEndian.PutUint16(b[markPortOff:], uint16(m.Port))
	b[markIndexOff] = byte(m.Index)
	binary.LittleEndian.PutUint32(b[markCreatedOff:], uint32(m.Created.Unix()))
	return fileid.EncodeBase64(b[:])
}

// decodeMark reads the fields of an upstream-format mark (ok false for any
// other string).
func decodeMark(s string) (markInfo, bool) {
	b, err := fileid.DecodeBase64(s)
	if err != nil || len(b) != markInfoSize {
		return markInfo{}, false
	}
	ip, _, _ := strings.Cut(string(b[:markIPSize]), "\x00")
	return markInfo{
		IP:      ip,
		Port:    int(int16(binary.LittleEndian.Uint16(b[markPortOff:]))),
		Index:   int(b[markIndexOff]),
		Created: time.Unix(int64(int32(binary.LittleEndian.Uint32(b[markCreatedOff:]))), 0),
	}, true
}

// isLegacyMark tells a mark written by an fdfs storage of before upstream's
// marks (a store path it owns, though .data_init_flag does not say so).
func isLegacyMark(s string) bool {
	if len(s) != legacyMarkLen {
		return false
	}
	b, err := fileid.DecodeBase64(s)
	return err == nil && len(b) == 24
}

func flagMarkKey(i int) string { return markKey + strconv.Itoa(i) }

// pathMarks checks and writes the store path marks at start.
type pathMarks struct {
	st    *store
	check bool          // check_store_path_mark
	ip    func() string // storage IP written in new marks (markIP)
	port  int
}

// loadFlagMarks takes the marks of the configured store paths from
// .data_init_flag. As upstream, which only reads the lines of the
// configured paths and writes back only those, lines of other indexes are
// dropped, and the mark lines go after the other keys in index order.
func (pm *pathMarks) loadFlagMarks() []*string {
	f := pm.st.initFlag
	marks := make([]*string, len(pm.st.paths))
	for i := range marks {
		if v, ok := f.lookup(flagMarkKey(i)); ok {
			marks[i] = &v
		}
	}
	if !pm.check {
		return marks // upstream does not read them then; they stay as they are
	}
	f.deleteIf(func(k string) bool {
		n, ok := strings.CutPrefix(k, markKey)
		if !ok {
			return false
		}
		_, err := strconv.Atoi(n)
		return err == nil
	})
	for i, m := range marks {
		if m != nil {
			f.set(flagMarkKey(i), *m)
		}
	}
	return marks
}

// checkPath is upstream's storage_check_store_path_mark for store path i:
// recorded is its mark in .data_init_flag (nil: none), created whether its
// data directories were just made. With check_store_path_mark off upstream
// neither checks nor writes marks; this storage still gives an unmarked
// path a mark (recorded on both sides, so that turning the check on later
// finds them equal), because disk recovery (recovery.go) tells a wiped
// store path by its missing mark file.
func (pm *pathMarks) checkPath(i int, recorded *string, created bool) error {
	p := pm.st.paths[i]
	file := filepath.Join(p, "data", varsFile)
	onDisk, err := readPathMark(file)
	if err != nil {
		return err
	}
	switch {
	case recorded == nil && onDisk != nil && isLegacyMark(*onDisk):
		// Written by an fdfs storage that did not record its marks yet:
		// this storage's own path. A new mark in upstream's format is
		// recorded on both sides.
		pm.st.log.Info("replacing the store path mark of an older fdfs version", "store_path", p, "index", i)
	case recorded == nil && onDisk != nil:
		if pm.check {
			return foreignPathError(i, p, file, "")
		}
		return nil // not checked (nor recorded, as upstream)
	case recorded != nil && onDisk != nil:
		if *recorded == *onDisk {
			return nil
		}
		if pm.check {
			return foreignPathError(i, p, file, *onDisk)
		}
		return nil
	case recorded != nil && onDisk == nil && !created:
		pm.st.log.Warn("the mark file of the store path is missing, creating it again", "store_path", p, "index", i, "file", file)
	}
	return pm.generate(i)
}

// renew marks store path i again after its refill onto a new disk
// (pathrefill.go), as checkPath does for a path whose data directories
// were just made.
func (pm *pathMarks) renew(i int) error {
	var recorded *string
	if v, ok := pm.st.initFlag.lookup(flagMarkKey(i)); ok {
		recorded = &v
	}
	return pm.checkPath(i, recorded, true)
}

// generate writes a new mark for store path i into its .fastdfs_vars, then
// records it in .data_init_flag.
func (pm *pathMarks) generate(i int) error {
	mark := encodeMark(markInfo{IP: pm.ip(), Port: pm.port, Index: i, Created: time.Now()})
	file := filepath.Join(pm.st.paths[i], "data", varsFile)
	if err := atomicfile.WriteFile(file, []byte(markKey+"="+mark+"\n"), fileMode); err != nil {
		return err
	}
	return pm.record(i, mark)
}

func (pm *pathMarks) record(i int, mark string) error {
	pm.st.initFlag.set(flagMarkKey(i), mark)
	return pm.st.initFlag.save()
}

// readPathMark returns the store_path_mark of a .fastdfs_vars file (nil
// when the file or the key is absent).
func readPathMark(file string) (*string, error) {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	f, err := loadIni(file)
	if err != nil {
		return nil, fmt.Errorf("load store path mark %s: %w", file, err)
	}
	if v, ok := f.lookup(markKey); ok {
		return &v, nil
	}
	return nil, nil
}

// foreignPathError is upstream's refusal (EINVAL) of a store path marked
// by another storage server.
func foreignPathError(i int, path, file, mark string) error {
	fields := ""
	if m, ok := decodeMark(mark); ok && m.Port > 0 {
		fields = fmt.Sprintf(" (mark: ip_addr %s, port %d, store_path_index %d, create_time %s)",
			m.IP, m.Port, m.Index, m.Created.Format("2006-01-02 15:04:05"))
	}
	return fmt.Errorf("storagenode: the store path #%d %s may be used by another storage server%s; "+
		"if it is not, delete the mark file %s and start again, or set check_store_path_mark = false: %w",
		i, path, fields, file, protocol.ErrInvalid)
}

// markIP is the storage IP new marks carry. Upstream asks a tracker
// (GET_MY_IP) before it checks the store paths; without waiting for a
// tracker, the storage's bind_addr stands for it, else the local address
// the system would use to reach the first tracker.
func markIP(bindAddr string, trackers []string) string {
	if ip, _, _ := strings.Cut(bindAddr, ","); strings.TrimSpace(ip) != "" {
		return strings.TrimSpace(ip)
	}
	for _, t := range trackers {
		i := strings.LastIndex(t, ":")
		if i < 0 {
			continue
		}
		host, _, _ := strings.Cut(t[:i], ",")
		host = strings.Trim(strings.TrimSpace(host), "[]")
		d := net.Dialer{Timeout: 2 * time.Second}
		c, err := d.Dial("udp", net.JoinHostPort(host, t[i+1:])) // no packet is sent
		if err != nil {
			continue
		}
		a, _ := c.LocalAddr().(*net.UDPAddr)
		c.Close()
		if a != nil {
			return a.IP.String()
		}
	}
	return ""
}
