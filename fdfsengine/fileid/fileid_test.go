package fileid

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// traceNames are every generated name in traces/{ip,id} (binlogs and
// exchanges), with the fields decoded independently (Python, standard base64
// after mapping '-'/'_'). Sizes/CRCs match the uploaded content: "0123456789"
// (10 bytes, a684c7c6), the 15-byte appended/regenerated file (d537fbd9),
// the 0-byte file, the 5-byte initial appender content (72d31ad5).
var traceNames = []struct {
	name     string
	ip, id   string
	ts       int64
	raw      uint64
	crc      uint32
	size     int64
	appender bool
	slave    bool
	ext      string
}{
	{"M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt", "127.0.0.3", "", 1795619294, 0x80179a370000000a, 0xa684c7c6, 10, false, false, "txt"},
	{"M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt", "127.0.0.3", "", 1795619357, 0x80528f3c0000000a, 0xa684c7c6, 10, false, false, "txt"},
	{"M00/00/00/fwAAA2sG-h6AdHLeAAAAD9U3-9k426.txt", "127.0.0.3", "", 1795619358, 0x807472de0000000f, 0xd537fbd9, 15, false, false, "txt"},
	{"M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt", "127.0.0.3", "", 1795619358, 0x845b882900000000, 0x72d31ad5, -1, true, false, "txt"},
	{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg", "127.0.0.4", "", 1795619358, 0x804926ec0000000a, 0x614e5366, 10, false, false, "jpg"},
	{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645_big.jpg", "127.0.0.4", "", 1795619358, 0x804926ec0000000a, 0x614e5366, -1, false, true, "jpg"},
	{"M00/00/00/fwAABGsG-h6Edvq-AAAAAKaEx8Y290.txt", "127.0.0.4", "", 1795619358, 0x8476fabe00000000, 0xa684c7c6, -1, true, false, "txt"},
	{"M00/00/00/fwAABGsG-iqASV22AAAAAAAAAAA368.bin", "127.0.0.4", "", 1795619370, 0x80495db600000000, 0x00000000, 0, false, false, "bin"},
	{"M00/00/00/oYYBAGsG-VCAFDinAAAACqaEx8Y420.txt", "", "100001", 1795619152, 0x801438a70000000a, 0xa684c7c6, 10, false, false, "txt"},
	{"M00/00/00/oYYBAGsG-Y-ATuaNAAAACqaEx8Y564.txt", "", "100001", 1795619215, 0x804ee68d0000000a, 0xa684c7c6, 10, false, false, "txt"},
	{"M00/00/00/oYYBAGsG-ZGAZkpzAAAAD9U3-9k602.txt", "", "100001", 1795619217, 0x80664a730000000f, 0xd537fbd9, 15, false, false, "txt"},
	{"M00/00/00/oYYBAGsG-ZGEbiXBAAAAAHLTGtU602.txt", "", "100001", 1795619217, 0x846e25c100000000, 0x72d31ad5, -1, true, false, "txt"},
	{"M00/00/00/ooYBAGsG-ZGAZTqMAAAACmFOU2Y323.jpg", "", "100002", 1795619217, 0x80653a8c0000000a, 0x614e5366, 10, false, false, "jpg"},
	{"M00/00/00/ooYBAGsG-ZGAZTqMAAAACmFOU2Y323_big.jpg", "", "100002", 1795619217, 0x80653a8c0000000a, 0x614e5366, -1, false, true, "jpg"},
	{"M00/00/00/ooYBAGsG-ZGEViqwAAAAAKaEx8Y081.txt", "", "100002", 1795619217, 0x84562ab000000000, 0xa684c7c6, -1, true, false, "txt"},
	{"M00/00/00/ooYBAGsG-bCAVoEgAAAAAAAAAAA418.bin", "", "100002", 1795619248, 0x8056812000000000, 0x00000000, 0, false, false, "bin"},
}

func TestParseTraceNames(t *testing.T) {
	for _, tc := range traceNames {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if n.SourceIP != tc.ip || n.SourceID != tc.id {
				t.Errorf("source = ip %q id %q, want ip %q id %q", n.SourceIP, n.SourceID, tc.ip, tc.id)
			}
			if n.Timestamp != tc.ts || uint64(n.RawSize) != tc.raw || n.CRC32 != tc.crc {
				t.Errorf("ts/raw/crc = %d/%#x/%#x, want %d/%#x/%#x", n.Timestamp, uint64(n.RawSize), n.CRC32, tc.ts, tc.raw, tc.crc)
			}
			if n.Size != tc.size || n.Appender != tc.appender || n.Slave != tc.slave || n.Trunk || n.Ext != tc.ext {
				t.Errorf("size/appender/slave/trunk/ext = %d/%v/%v/%v/%q", n.Size, n.Appender, n.Slave, n.Trunk, n.Ext)
			}
			if n.StorePathIndex != 0 || n.High != 0 || n.Low != 0 || n.File != tc.name[10:] {
				t.Errorf("path = %d %d %d %q", n.StorePathIndex, n.High, n.Low, n.File)
			}
			if n.Name() != tc.name {
				t.Errorf("Name() = %q", n.Name())
			}
			// Upstream constraints on generated sizes: bit 63 set; bits 55–62
			// clear for normal files, only bit 58 among them for appenders.
			if n.RawSize >= 0 {
				t.Errorf("bit 63 clear in %#x", uint64(n.RawSize))
			}
			want := uint64(0)
			if tc.appender {
				want = appenderMark
			}
			if got := uint64(n.RawSize) & (0xFF << 55); got != want {
				t.Errorf("bits 55-62 = %#x, want %#x", got, want)
			}
			if tc.appender && uint32(n.RawSize) != 0 {
				t.Errorf("appender low word = %d", uint32(n.RawSize))
			}
			src := n.Source
			if tc.ip != "" {
				s, err := SourceFromIP(tc.ip)
				if err != nil || s != src {
					t.Errorf("SourceFromIP(%s) = %v, %v; want %v", tc.ip, s, err, src)
				}
			} else {
				s, err := SourceFromID(tc.id)
				if err != nil || s != src {
					t.Errorf("SourceFromID(%s) = %v, %v; want %v", tc.id, s, err, src)
				}
			}
		})
	}
}

func TestSourceBytes(t *testing.T) {
	s, _ := SourceFromIP("127.0.0.3")
	if s != (Source{0x7f, 0, 0, 3}) {
		t.Errorf("ip source = % x", s)
	}
	s, _ = SourceFromID("100001")
	if s != (Source{0xa1, 0x86, 0x01, 0x00}) {
		t.Errorf("id source = % x", s)
	}
	for _, bad := range []string{"0", "16777216", "-1", "abc", ""} {
		if _, err := SourceFromID(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("SourceFromID(%q) err = %v", bad, err)
		}
	}
	for _, bad := range []string{"::1", "host", "", "1.2.3"} {
		if _, err := SourceFromIP(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("SourceFromIP(%q) err = %v", bad, err)
		}
	}
	// Upstream quirk: an IP whose last octet is 0 reads as a server id.
	s, _ = SourceFromIP("10.1.2.0")
	if ip, id := s.Decode(); ip != "" || id != "131338" {
		t.Errorf("10.1.2.0 decodes as ip %q id %q", ip, id)
	}
	if ip, id := (Source{}).Decode(); ip != "0.0.0.0" || id != "" {
		t.Errorf("zero source decodes as ip %q id %q", ip, id)
	}
	s, _ = SourceFromID("16777215")
	if _, id := s.Decode(); id != "16777215" {
		t.Errorf("max id decodes as %q", id)
	}
}

func TestBase64(t *testing.T) {
	for _, tc := range []struct {
		in  []byte
		out string
	}{
		{nil, ""},
		{[]byte{0xfb}, "-w"},
		{[]byte{0xff, 0xff}, "__8"},
		{[]byte{0xfb, 0xef, 0xbe}, "----"},
		{[]byte("hello world"), "aGVsbG8gd29ybGQ"},
	} {
		if got := EncodeBase64(tc.in); got != tc.out {
			t.Errorf("EncodeBase64(% x) = %q, want %q", tc.in, got, tc.out)
		}
		got, err := DecodeBase64(tc.out)
		if err != nil || !bytes.Equal(got, tc.in) {
			t.Errorf("DecodeBase64(%q) = % x, %v", tc.out, got, err)
		}
	}
	// Padding is accepted when present.
	for in, want := range map[string]string{"-w..": "\xfb", "__8.": "\xff\xff", "aGVsbG8gd29ybGQ.": "hello world"} {
		got, err := DecodeBase64(in)
		if err != nil || string(got) != want {
			t.Errorf("DecodeBase64(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"A", "abcde", "ab+c", "ab/c", "a.bc", "ab=", "ab\x00c", "....", "-w.", "abc..."} {
		if _, err := DecodeBase64(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("DecodeBase64(%q) err = %v, want EINVAL", bad, err)
		}
	}
	b := make([]byte, 20)
	for i := range b {
		b[i] = byte(i * 13)
	}
	if s := EncodeBase64(b); len(s) != Base64Len {
		t.Errorf("20 bytes encode to %d chars", len(s))
	}
}

func TestParseRejects(t *testing.T) {
	good := traceNames[0].name
	for _, tc := range []struct{ why, name string }{
		{"empty", ""},
		{"too short", "M00/00/00/fwAAA2sG"},
		{"overlong", "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y" + strings.Repeat("a", 128)},
		{"no M", "X00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"lowercase M", "m00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"lowercase hex", "M0a/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"non-hex dir", "M00/0G/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"lowercase dir", "M00/00/ff/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"missing slash", "M00/00000/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"dot-dot dir", "M00/../00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"},
		{"slash in file", "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662/txt"},
		{"backslash in file", "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662\\txt"},
		{"NUL in file", "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662\x00txt"},
		{"dot-dot in file", "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662..txt"},
		{"traversal", "M00/00/00/../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaa"},
		{"bad base64", "M00/00/00/fwAAA2sG+d6AF5o3AAAACqaEx8Y662.txt"},
		{"dot in base64", "M00/00/00/fwAAA2sG.d6AF5o3AAAACqaEx8Y662.txt"},
		{"space", "M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662 txt"},
		{"group included", "group1/" + good},
		{"leading slash", "/" + good},
	} {
		if _, err := Parse(tc.name); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%s: Parse(%q) err = %v, want EINVAL", tc.why, tc.name, err)
		}
	}
	// Just the base64 part, no extension area: accepted (upstream stores it).
	if n, err := Parse(good[:37]); err != nil || n.Ext != "" || n.Slave {
		t.Errorf("Parse(bare) = %+v, %v", n, err)
	}
	// The longest legal name.
	long := good + strings.Repeat("x", MaxNameLen-len(good))
	if _, err := Parse(long); err != nil {
		t.Errorf("Parse(%d bytes) = %v", len(long), err)
	}
}

func TestCheckAndPath(t *testing.T) {
	n, err := Parse("M01/0A/FF/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt")
	if err != nil {
		t.Fatal(err)
	}
	if n.StorePathIndex != 1 || n.High != 10 || n.Low != 255 {
		t.Fatalf("indexes %d %d %d", n.StorePathIndex, n.High, n.Low)
	}
	for _, tc := range []struct {
		paths, subdirs int
		ok             bool
	}{{2, 256, true}, {1, 256, false}, {2, 255, false}, {2, 11, false}} {
		err := n.Check(tc.paths, tc.subdirs)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, protocol.ErrInvalid)) {
			t.Errorf("Check(%d,%d) = %v", tc.paths, tc.subdirs, err)
		}
	}
	if got, want := n.Path([]string{"/a", "/b/"}), "/b/data/0A/FF/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
	if got := n.Path([]string{"/a"}); got != "" {
		t.Errorf("Path out of range = %q", got)
	}
}

func TestSplitJoin(t *testing.T) {
	g, n, err := Split("group1/M00/00/00/x")
	if err != nil || g != "group1" || n != "M00/00/00/x" {
		t.Errorf("Split = %q %q %v", g, n, err)
	}
	if Join(g, n) != "group1/M00/00/00/x" {
		t.Error("Join")
	}
	for _, bad := range []string{"", "group1", "group1/", "/M00/00/00/x", "grp-1/M00/00/00/x", "abcdefghijklmnopq/M00/00/00/x"} {
		if _, _, err := Split(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("Split(%q) err = %v", bad, err)
		}
	}
	if _, _, err := Split("abcdefghijklmnop/M00"); err != nil {
		t.Errorf("16-char group: %v", err)
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	ipSrc, _ := SourceFromIP("127.0.0.3")
	idSrc, _ := SourceFromID("100001")
	for _, tc := range []struct {
		name      string
		path      int
		high, low int
		f         Fields
		ext       string
		size      int64
	}{
		{"normal ip", 0, 0, 0, Fields{Source: ipSrc, Timestamp: 1795619294, Size: 10, CRC32: 0xa684c7c6}, "txt", 10},
		{"normal id no ext", 3, 0xAB, 0x0C, Fields{Source: idSrc, Timestamp: 1, Size: 0}, "", 0},
		{"max 32-bit size", 255, 255, 255, Fields{Source: idSrc, Timestamp: 0xFFFFFFFF, Size: 1<<32 - 1, CRC32: 0xFFFFFFFF}, "tar.gz", 1<<32 - 1},
		{"4 GiB", 1, 2, 3, Fields{Source: ipSrc, Timestamp: 5, Size: 1 << 32}, "bin", 1 << 32},
		{"huge", 1, 2, 3, Fields{Source: ipSrc, Timestamp: 5, Size: 1<<50 + 7}, "a", 1<<50 + 7},
		{"appender", 0, 1, 1, Fields{Source: ipSrc, Timestamp: 9, Size: 123, CRC32: 42, Appender: true}, "log", -1},
		{"trunk", 0, 1, 1, Fields{Source: ipSrc, Timestamp: 9, Size: 4000, CRC32: 42, Trunk: true, TrunkFileID: 7, TrunkOffset: 1 << 20, TrunkAllocSize: 4096}, "jpg", 4000},
		{"trunk appender", 0, 1, 1, Fields{Source: ipSrc, Timestamp: 9, Size: 4000, Trunk: true, Appender: true}, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 { // fresh random bits each time
				s, err := Generate(tc.path, tc.high, tc.low, tc.f, tc.ext)
				if err != nil {
					t.Fatal(err)
				}
				wantLen := NormalNameLen
				if tc.f.Trunk {
					wantLen = TrunkNameLen
				}
				if len(s) != wantLen {
					t.Fatalf("%q has length %d, want %d", s, len(s), wantLen)
				}
				n, err := Parse(s)
				if err != nil {
					t.Fatalf("Parse(%q): %v", s, err)
				}
				if n.StorePathIndex != tc.path || n.High != tc.high || n.Low != tc.low {
					t.Errorf("%q: path %d/%d/%d", s, n.StorePathIndex, n.High, n.Low)
				}
				if n.Source != tc.f.Source || n.Timestamp != tc.f.Timestamp || n.CRC32 != tc.f.CRC32 {
					t.Errorf("%q: source/ts/crc %v/%d/%#x", s, n.Source, n.Timestamp, n.CRC32)
				}
				if n.Appender != tc.f.Appender || n.Trunk != tc.f.Trunk || n.Slave || n.Size != tc.size || n.Ext != tc.ext {
					t.Errorf("%q: appender/trunk/slave/size/ext %v/%v/%v/%d/%q", s, n.Appender, n.Trunk, n.Slave, n.Size, n.Ext)
				}
				if n.TrunkFileID != tc.f.TrunkFileID || n.TrunkOffset != tc.f.TrunkOffset || n.TrunkAllocSize != tc.f.TrunkAllocSize {
					t.Errorf("%q: trunk info %d/%d/%d", s, n.TrunkFileID, n.TrunkOffset, n.TrunkAllocSize)
				}
				raw := uint64(n.RawSize)
				switch {
				case tc.f.Size>>32 != 0:
					if raw != uint64(tc.f.Size) {
						t.Errorf("%q: large size stored as %#x", s, raw)
					}
				case tc.f.Appender:
					if raw>>63 != 1 || raw&appenderMark == 0 || uint32(raw) != 0 {
						t.Errorf("%q: appender raw %#x", s, raw)
					}
				default:
					if raw>>63 != 1 || uint32(raw) != uint32(tc.f.Size) {
						t.Errorf("%q: raw %#x", s, raw)
					}
					var flags uint64
					if tc.f.Trunk {
						flags = trunkMark
					}
					if raw&(0xFF<<55) != flags {
						t.Errorf("%q: bits 55-62 of %#x", s, raw)
					}
				}
				fext := s[len(s)-FormattedExtLen:]
				digits := FormattedExtLen
				if tc.ext != "" {
					digits = ExtMaxLen - len(tc.ext)
					if fext[digits:] != "."+tc.ext {
						t.Errorf("%q: ext area %q", s, fext)
					}
				}
				for i := range digits {
					if fext[i] < '0' || fext[i] > '9' {
						t.Errorf("%q: ext area %q not digit-padded", s, fext)
					}
				}
			}
		})
	}
}

func TestGenerateRejects(t *testing.T) {
	ok := Fields{Timestamp: 1, Size: 1}
	for _, tc := range []struct {
		why          string
		p, high, low int
		f            Fields
		ext          string
	}{
		{"path index", 256, 0, 0, ok, ""},
		{"negative dir", 0, -1, 0, ok, ""},
		{"low dir", 0, 0, 256, ok, ""},
		{"negative size", 0, 0, 0, Fields{Size: -1}, ""},
		{"timestamp", 0, 0, 0, Fields{Timestamp: 1 << 32}, ""},
		{"big trunk", 0, 0, 0, Fields{Size: 1 << 32, Trunk: true}, ""},
		{"long ext", 0, 0, 0, ok, "abcdefg"},
		{"bad ext char", 0, 0, 0, ok, "a/b"},
		{"dot ext", 0, 0, 0, ok, ".jpg"},
		{"dotdot ext", 0, 0, 0, ok, "a..b"},
	} {
		if _, err := Generate(tc.p, tc.high, tc.low, tc.f, tc.ext); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%s: err = %v", tc.why, err)
		}
	}
}

func TestSlaveName(t *testing.T) {
	for _, tc := range []struct {
		master, prefix, ext, want string
	}{
		// [trace: UPLOAD_SLAVE_FILE]
		{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg", "_big", "jpg", "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645_big.jpg"},
		{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg", "_big", "", "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645_big.jpg"},
		{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg", "-150x150", "png", "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645-150x150.png"},
		{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y6451234", "_s", "", "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y6451234_s"},
		{"M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y6451234", "_s", "gif", "M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y6451234_s.gif"},
	} {
		got, err := SlaveName(tc.master, tc.prefix, tc.ext)
		if err != nil || got != tc.want {
			t.Errorf("SlaveName(%q,%q,%q) = %q, %v; want %q", tc.master, tc.prefix, tc.ext, got, err, tc.want)
			continue
		}
		n, err := Parse(got)
		if err != nil || !n.Slave || n.Size != -1 {
			t.Errorf("Parse(slave %q) = %+v, %v", got, n, err)
		}
	}
	for _, tc := range []struct{ why, master, prefix, ext string }{
		{"empty prefix", traceNames[4].name, "", "jpg"},
		{"long prefix", traceNames[4].name, strings.Repeat("p", 17), ""},
		{"slash prefix", traceNames[4].name, "a/b", ""},
		{"dotdot prefix", traceNames[4].name, "..", ""},
		{"prefix dot then ext", traceNames[4].name, "x.", ""},
		{"bad ext", traceNames[4].name, "_s", "j p"},
		{"bad master", "M00/00/00/../x", "_s", ""},
		{"too long", traceNames[4].name + strings.Repeat("a", 80), "_s1234567890abcd", ""},
	} {
		if _, err := SlaveName(tc.master, tc.prefix, tc.ext); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%s: err = %v", tc.why, err)
		}
	}
}

func TestValidateExt(t *testing.T) {
	for _, ok := range []string{"", "jpg", "tar.gz", "a_b-c", "JPEG"} {
		if err := ValidateExt(ok); err != nil {
			t.Errorf("ValidateExt(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"jpeg123", ".jpg", "a..b", "a b", "a/b", "a\x00", "é"} {
		if err := ValidateExt(bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ValidateExt(%q) = %v", bad, err)
		}
	}
}

func TestTrunkNames(t *testing.T) {
	src, _ := SourceFromIP("10.0.0.1")
	name, err := Generate(2, 3, 4, Fields{Source: src, Timestamp: 77, Size: 999, CRC32: 5, Trunk: true, TrunkFileID: 1, TrunkOffset: 2, TrunkAllocSize: 1024}, "png")
	if err != nil {
		t.Fatal(err)
	}
	// A slave of a trunk file is a plain file: only a name of exactly the
	// trunk length is a trunk name (upstream fdfs_is_trunk_file).
	slave, err := SlaveName(name, "_t", "")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(slave)
	if err != nil || n.Trunk || !n.Slave || n.Ext != "png" {
		t.Errorf("trunk slave %q: %+v, %v", slave, n, err)
	}
	// A padded trunk location decodes short: rejected, not a panic.
	off := PathPrefixLen + Base64Len + TrunkInfoLen - 1
	padded := name[:off] + "." + name[off+1:]
	if _, err := Parse(padded); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("Parse(%q) err = %v", padded, err)
	}
	if n, err := Parse(name[:off]); err != nil || n.Trunk {
		t.Errorf("a 59-character name with the trunk bit: %+v, %v", n, err)
	}
}

// Path spells the data directories as two upper-case hex digits each,
// whatever the levels (the fast path and fmt agree).
func TestPathDirs(t *testing.T) {
	for _, tc := range []struct {
		high, low int
		want      string
	}{
		{0, 0, "/s/data/00/00/f"},
		{0x0A, 0xFF, "/s/data/0A/FF/f"},
		{0xF0, 0x01, "/s/data/F0/01/f"},
		{0x100, 2, "/s/data/100/02/f"},
	} {
		n := &Name{High: tc.high, Low: tc.low, File: "f"}
		if got := n.Path([]string{"/s/"}); got != tc.want {
			t.Errorf("levels %X/%X: %q, want %q", tc.high, tc.low, got, tc.want)
		}
	}
}

// TestParsePrefix: the "Mxx/HH/LL/" of a logical name, upper-case hex only.
func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		name            string
		path, high, low int
		ok              bool
	}{
		{"M00/00/00/x.jpg", 0, 0, 0, true},
		{"M0A/FF/1B/000001", 10, 255, 27, true},
		{"M00/00/00/", 0, 0, 0, true},
		{"M00/00/00", 0, 0, 0, false}, // short
		{"M0a/00/00/x", 0, 0, 0, false},
		{"N00/00/00/x", 0, 0, 0, false},
		{"M00-00/00/x", 0, 0, 0, false},
		{"MG0/00/00/x", 0, 0, 0, false},
	} {
		p, h, l, ok := ParsePrefix(tc.name)
		if ok != tc.ok || ok && (p != tc.path || h != tc.high || l != tc.low) {
			t.Errorf("ParsePrefix(%q) = %d, %d, %d, %v", tc.name, p, h, l, ok)
		}
	}
}
