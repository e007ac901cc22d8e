package fileid

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	stores := make([]string, 256)
	for i := range stores {
		stores[i] = "/store"
	}
	for _, tc := range traceNames {
		f.Add(tc.name)
	}
	f.Add("M00/00/00/notexistnotexistnotexistnot123456.jpg")
	f.Add("M00/00/00/../../../../etc/passwd")
	f.Add("M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt\x00")
	f.Fuzz(func(t *testing.T, name string) {
		n, err := Parse(name)
		if err != nil {
			return
		}
		if strings.Contains(name, "..") || strings.ContainsAny(n.File, "/\\\x00") {
			t.Fatalf("Parse accepted unsafe %q", name)
		}
		if n.Name() != name {
			t.Fatalf("Name() = %q, want %q", n.Name(), name)
		}
		again, err := Parse(n.Name())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", name, err)
		}
		if *again != *n {
			t.Fatalf("re-parse differs: %+v vs %+v", again, n)
		}
		p := n.Path(stores)
		if !strings.HasPrefix(p, "/store/data/") || strings.Count(p, "/") != 5 {
			t.Fatalf("Path = %q", p)
		}
	})
}

func FuzzDecodeBase64(f *testing.F) {
	for _, tc := range traceNames {
		f.Add(tc.name[PathPrefixLen : PathPrefixLen+Base64Len])
	}
	f.Add("")
	f.Add("-w..")
	f.Add("ab=c")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase64(s)
		if err != nil {
			return
		}
		// Re-encoding gives the input up to padding and unused low bits.
		enc := EncodeBase64(b)
		back, err := DecodeBase64(enc)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %q: % x vs % x (%v)", s, back, b, err)
		}
		if len(enc) > len(s) {
			t.Fatalf("encoding %q grew to %q", s, enc)
		}
	})
}
