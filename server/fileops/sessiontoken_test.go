package fileops

import (
	"testing"
	"time"
)

// FuzzDecodeToken: no input panics, and only the tokens encodeToken made
// with the same secret decode, to what they were made of.
func FuzzDecodeToken(f *testing.F) {
	secret := []byte("fuzz-secret-0123456789")
	good := sessionToken{fileID: "group1/M00/00/00/f00ABGsTH3qENBoPAAAAAAAAAAA476.txt", expires: time.Unix(1_700_000_000, 0)}
	f.Add(encodeToken(secret, good))
	f.Add("")
	f.Add("AQAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := decodeToken(secret, s)
		if err != nil {
			return
		}
		if encodeToken(secret, tok) != s {
			t.Fatalf("%q decodes to %+v, which encodes differently", s, tok)
		}
	})
}

func TestTokenSeedIsValid(t *testing.T) {
	secret := []byte("fuzz-secret-0123456789")
	want := sessionToken{fileID: "group1/M00/00/00/f00ABGsTH3qENBoPAAAAAAAAAAA476.txt", expires: time.Unix(1_700_000_000, 0)}
	got, err := decodeToken(secret, encodeToken(secret, want))
	if err != nil || got != want {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}
