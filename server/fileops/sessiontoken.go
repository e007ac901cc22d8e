package fileops

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
)

// A session token is base64url (no padding) of
//
//	version (1 byte) | expiry (unix seconds, 8 bytes big-endian) | file ID | MAC (16 bytes)
//
// where MAC is the first 16 bytes of HMAC-SHA256(secret, "fdfs-upload" |
// everything before it). It names the appender file of the session and when
// the session expires; gateways sharing the secret accept each other's
// tokens, and nothing else can make one.
const (
	tokenVersion = 1
	tokenMACLen  = 16
	tokenMinLen  = 1 + 8 + tokenMACLen
	// maxTokenLen bounds a token (characters): a file ID of at most 128
	// bytes plus the fixed part, in base64.
	maxTokenLen = 256
)

var tokenDomain = []byte("fdfs-upload")

// sessionToken is the decoded content of a token.
type sessionToken struct {
	fileID  string
	expires time.Time
}

func tokenMAC(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(tokenDomain)
	m.Write(payload)
	return m.Sum(nil)[:tokenMACLen]
}

func encodeToken(secret []byte, t sessionToken) string {
	b := make([]byte, 9, 9+len(t.fileID)+tokenMACLen)
	b[0] = tokenVersion
	binary.BigEndian.PutUint64(b[1:], uint64(t.expires.Unix()))
	b = append(b, t.fileID...)
	b = append(b, tokenMAC(secret, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadToken = errors.New("malformed token")

// notTokenChar reports a character outside base64url's alphabet.
func notTokenChar(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}

// decodeToken checks s's signature and returns what it names; an
// unsigned, truncated or foreign token is errBadToken.
func decodeToken(secret []byte, s string) (sessionToken, error) {
	if s == "" || len(s) > maxTokenLen || strings.IndexFunc(s, notTokenChar) >= 0 {
		// Go's base64 decoder skips newlines: one token, one spelling.
		return sessionToken{}, errBadToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < tokenMinLen || b[0] != tokenVersion {
		return sessionToken{}, errBadToken
	}
	payload, mac := b[:len(b)-tokenMACLen], b[len(b)-tokenMACLen:]
	if !hmac.Equal(mac, tokenMAC(secret, payload)) {
		return sessionToken{}, errBadToken
	}
	t := sessionToken{
		fileID:  string(payload[9:]),
		expires: time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0),
	}
	if _, n, err := client.DecodeFileID(t.fileID); err != nil || !n.Appender {
		// Only a gateway signs tokens, and only for appender files.
		return sessionToken{}, errBadToken
	}
	return t, nil
}
