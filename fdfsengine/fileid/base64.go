package fileid

import (
	"fmt"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The FastDFS base64 variant (libfastcommon base64_init_ex(ctx, 0, '-', '_',
// '.')): standard order with '-' for 62 and '_' for 63, and '.' as the pad
// character. File names never carry padding.
const (
	alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	padChar  = '.'
)

var decodeMap = func() (m [256]int8) {
	for i := range m {
		m[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = int8(i)
	}
	return m
}()

// EncodeBase64 encodes b with the FastDFS alphabet and no padding, the way
// the storage server encodes file names (20 bytes → 27 characters).
func EncodeBase64(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)*8 + 5) / 6)
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for j := 0; j < n; j++ {
			v |= uint32(b[i+j]) << (16 - 8*j)
		}
		for j := 0; j <= n; j++ {
			sb.WriteByte(alphabet[(v>>(18-6*j))&0x3F])
		}
	}
	return sb.String()
}

// DecodeBase64 decodes FastDFS base64. Padding ('.') is optional, as in the
// upstream base64_decode_auto; characters outside the alphabet are an error
// (upstream silently skips them, which would let two different names decode
// alike). Unused low bits of the last character are ignored, as upstream.
func DecodeBase64(s string) ([]byte, error) {
	t := s
	if len(t)%4 == 0 {
		for range 2 {
			if len(t) > 0 && t[len(t)-1] == padChar {
				t = t[:len(t)-1]
			}
		}
	}
	if len(t)%4 == 1 {
		return nil, fmt.Errorf("fileid: base64 %q: bad length %d: %w", s, len(s), protocol.ErrInvalid)
	}
	out := make([]byte, 0, len(t)*3/4)
	for i := 0; i < len(t); i += 4 {
		n := min(4, len(t)-i)
		var v uint32
		for j := 0; j < n; j++ {
			d := decodeMap[t[i+j]]
			if d < 0 {
				return nil, fmt.Errorf("fileid: base64 %q: bad character at %d: %w", s, i+j, protocol.ErrInvalid)
			}
			v |= uint32(d) << (18 - 6*j)
		}
		for j := 0; j < n-1; j++ {
			out = append(out, byte(v>>(16-8*j)))
		}
	}
	return out, nil
}
