// Package httptoken computes and checks the anti-steal tokens of FastDFS HTTP
// downloads exactly as fastdfs-nginx-module does:
//
//	token = lowercase hex(MD5(file_path + secret_key + decimal(ts)))
//
// where file_path is the logical file name without the group
// ("M00/00/00/xxx.jpg") and ts is a unix time in seconds. ts = 0 never expires.
package httptoken

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Token check failures, in the order the module checks them.
var (
	ErrMalformed = errors.New("anti-steal token must be 32 hex characters")
	ErrExpired   = errors.New("anti-steal token expired")
	ErrMismatch  = errors.New("anti-steal token mismatch")
)

// Make returns the token for filePath (no group, no leading slash) at ts.
func Make(filePath, secret string, ts int64) string {
	sum := md5.Sum([]byte(filePath + secret + strconv.FormatInt(ts, 10)))
	return hex.EncodeToString(sum[:])
}

// Check verifies token for filePath against secret. ttl is the token
// lifetime; a token whose ts is older than now-ttl is expired unless ts is 0.
func Check(filePath, secret, token, tsText string, ttl time.Duration, now time.Time) error {
	if len(token) != 32 {
		return ErrMalformed
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("ts %q: %w", tsText, ErrMalformed)
	}
	if ts != 0 && now.Unix()-ts > int64(ttl/time.Second) {
		return ErrExpired
	}
	want := Make(filePath, secret, ts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return ErrMismatch
	}
	return nil
}
