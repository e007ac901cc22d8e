package conf

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestLoadStorageIDsSample(t *testing.T) {
	ids, err := LoadStorageIDs("testdata/storage_ids.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := []StorageID{
		{ID: "100001", Group: "group1", IPs: []string{"192.168.0.196"}, RW: RWBoth},
		{ID: "100002", Group: "group1", IPs: []string{"192.168.0.197", "10.0.0.197"}, RW: RWRead},
		{ID: "100003", Group: "group2", IPs: []string{"2409:8a20:42d:2f40::1"}, RW: RWBoth},
		{ID: "100004", Group: "group2", IPs: []string{"192.168.0.199"}, RW: RWNone},
	}
	if !reflect.DeepEqual(ids.List, want) {
		t.Errorf("List = %+v", ids.List)
	}
	if !ids.HasIPv6() {
		t.Error("HasIPv6 = false")
	}
	if e, ok := ids.ByID("100002"); !ok || e.Group != "group1" {
		t.Errorf("ByID = %+v %v", e, ok)
	}
	if _, ok := ids.ByID("100009"); ok {
		t.Error("ByID found a missing id")
	}
	for _, tc := range []struct {
		group, ip string
		port      int
		id        string
	}{
		{"group1", "10.0.0.197", 23000, "100002"},
		{"", "192.168.0.196", 0, "100001"},
		{"group2", "192.168.0.196", 0, ""},
		{"group2", "2409:8a20:42d:2f40:0::1", 23000, "100003"},
		{"group1", "::ffff:192.168.0.196", 23000, "100001"},
		{"group1", "1.1.1.1", 0, ""},
	} {
		e, ok := ids.Find(tc.group, tc.ip, tc.port)
		if (tc.id == "") == ok || (ok && e.ID != tc.id) {
			t.Errorf("Find(%q,%q,%d) = %+v %v, want %q", tc.group, tc.ip, tc.port, e, ok, tc.id)
		}
	}
}

func TestStorageIDsPorts(t *testing.T) {
	// The traced id-mode cluster: two storages on one IP, told apart by port.
	ids, err := ParseStorageIDs([]byte("100001 group1 127.0.0.1:23000\n100002 group1 127.0.0.1:23001\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := ids.Find("group1", "127.0.0.1", 23001); !ok || e.ID != "100002" {
		t.Errorf("Find port 23001 = %+v", e)
	}
	if _, ok := ids.Find("group1", "127.0.0.1", 23002); ok {
		t.Error("Find matched a wrong port")
	}
	if ids.HasIPv6() {
		t.Error("HasIPv6 = true")
	}
	// [trace: id/STORAGE_FETCH_STORAGE_IDS] line format.
	var lines []string
	for _, e := range ids.List {
		lines = append(lines, e.Line())
	}
	if got := strings.Join(lines, "\n"); got != "100001 group1 127.0.0.1:23000\n100002 group1 127.0.0.1:23001" {
		t.Errorf("Line = %q", got)
	}
	for _, tc := range []struct {
		e    StorageID
		line string
	}{
		{StorageID{ID: "1", Group: "g", IPs: []string{"::1"}, Port: 5, RW: RWRead}, "1 g [::1]:5 rw=read"},
		{StorageID{ID: "1", Group: "g", IPs: []string{"a", "b"}, RW: RWNone}, "1 g a,b rw=none"},
		{StorageID{ID: "1", Group: "g", IPs: []string{"fe80::1", "::2"}, Port: 7}, "1 g [fe80::1,::2]:7"},
		{StorageID{ID: "1", Group: "g", IPs: []string{"192.168.0.1", "8.8.8.8"}}, "1 g 192.168.0.1,8.8.8.8"},
	} {
		if got := tc.e.Line(); got != tc.line {
			t.Errorf("Line = %q, want %q", got, tc.line)
		}
		back, err := ParseStorageIDs([]byte(tc.line))
		if err != nil || !reflect.DeepEqual(back.List[0], func() StorageID {
			e := tc.e
			if e.RW == "" {
				e.RW = RWBoth
			}
			return e
		}()) {
			t.Errorf("re-parse of %q = %+v, %v", tc.line, back, err)
		}
	}
}

func TestStorageIDsErrors(t *testing.T) {
	for _, tc := range []struct {
		why, data string
		line      int // the line named, 0: the file alone
	}{
		{"empty", "# nothing\n\n", 0},
		{"no ip", "100001 group1\n", 1},
		{"zero id", "0 group1 1.2.3.4\n", 1},
		{"leading zero", "0100 group1 1.2.3.4\n", 1},
		{"id too big", "16777216 group1 1.2.3.4\n", 1},
		{"alpha id", "s1 group1 1.2.3.4\n", 1},
		{"bad group", "1 grp-1 1.2.3.4\n", 1},
		{"bad port", "1 g 1.2.3.4:99999\n", 1},
		{"bad v6", "1 g [::1\n", 1},
		{"unbracketed v6 with port", "1 g fe80::1:5\n", 1},
		{"three ips", "1 g a,b,c\n", 1},
		{"bad option", "1 g 1.2.3.4 mode=read\n", 1},
		{"bad rw", "1 g 1.2.3.4 rw=maybe\n", 1},
		{"extra field", "1 g 1.2.3.4 rw=read x\n", 1},
		{"same kind", "1 g 192.168.0.1,192.168.0.2\n", 1},
		{"two outer", "1 g 1.2.3.4,5.6.7.8\n", 1},
		{"dup default port", "1 g 1.2.3.4:23000\n2 g 1.2.3.4\n", 2},
		{"dup id", "1 g 1.2.3.4\n1 g 1.2.3.5\n", 2},
		{"dup ip", "1 g 1.2.3.4\n2 h 1.2.3.4\n", 2},
		{"dup ip port", "1 g 1.2.3.4:1\n2 g 10.0.0.1,1.2.3.4:1\n", 2},
	} {
		_, err := ParseStorageIDs([]byte(tc.data))
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "storage_ids.conf" || ce.Line != tc.line || protocol.StatusOf(err) != protocol.EIO {
			t.Errorf("%s: err = %v, want a config error at storage_ids.conf line %d, not a wire status", tc.why, err, tc.line)
		}
	}
	// A line without a port stands for 23000 (upstream 6.16.1), so ports
	// may be mixed; an outer address written first is put second.
	ids, err := ParseStorageIDs([]byte("1 g 1.2.3.4:23001\n2 g 8.8.8.8,10.0.0.2\n"))
	if err != nil || ids.List[1].Port != 0 || ids.List[1].EffectivePort() != 23000 || ids.List[0].EffectivePort() != 23001 ||
		!reflect.DeepEqual(ids.List[1].IPs, []string{"10.0.0.2", "8.8.8.8"}) {
		t.Errorf("mixed ports: %v %+v", err, ids)
	}
	// Same IP on different ports is fine; rw values are case-insensitive
	// and accept the long forms.
	ids, err = ParseStorageIDs([]byte("1 g 1.2.3.4:1 RW=ReadOnly\n2 g 1.2.3.4:2 rw=writeonly\n3 g h:3 rw=all\n"))
	if err != nil || ids.List[0].RW != RWRead || ids.List[1].RW != RWWrite || ids.List[2].RW != RWBoth {
		t.Errorf("rw forms: %v %+v", err, ids)
	}
}
