package httptoken

import (
	"errors"
	"testing"
	"time"
)

func TestMakeKnownValue(t *testing.T) {
	// md5("M00/00/00/abc.jpgFastDFS12345678901700000000"), computed with md5sum.
	got := Make("M00/00/00/abc.jpg", "FastDFS1234567890", 1700000000)
	if got != "133157c7baba190b1231fbf7f2dd83d1" {
		t.Fatalf("token %q", got)
	}
}

func TestCheck(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const path, secret = "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt", "s3cret"
	fresh := now.Unix() - 10
	tests := []struct {
		name  string
		token string
		ts    string
		want  error
	}{
		{"valid", Make(path, secret, fresh), "1799999990", nil},
		{"never expires", Make(path, secret, 0), "0", nil},
		{"expired", Make(path, secret, now.Unix()-601), "1799999399", ErrExpired},
		{"wrong secret", Make(path, "other", fresh), "1799999990", ErrMismatch},
		{"wrong path", Make("M00/00/00/other.txt", secret, fresh), "1799999990", ErrMismatch},
		{"short", "abc", "1799999990", ErrMalformed},
		{"bad ts", Make(path, secret, fresh), "x", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(path, secret, tc.token, tc.ts, 600*time.Second, now)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}
