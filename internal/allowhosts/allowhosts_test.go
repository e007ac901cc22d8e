package allowhosts

import (
	"net"
	"strings"
	"testing"
)

func TestExpandBrackets(t *testing.T) {
	cases := []struct{ in, want string }{
		{"host[08-10,3].x", "host08.x host09.x host10.x host3.x"},
		{"10.0.1.[1-3]", "10.0.1.1 10.0.1.2 10.0.1.3"},
		{"plain.host", "plain.host"},
	}
	for _, c := range cases {
		got, err := expandBrackets(c.in)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("expandBrackets(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, bad := range []string{"10.0.0.[1-", "10.0.0.[5-1]", "10.0.0.[a]", "10.0.0.0/33", "10.0.0.[0-99999]"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAllows(t *testing.T) {
	l, err := Parse([]string{"127.0.0.[5-6]", "192.168.5.64/26", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.5", true}, {"127.0.0.6", true}, {"127.0.0.7", false},
		{"192.168.5.64", true}, {"192.168.5.127", true}, {"192.168.5.128", false},
		{"::ffff:127.0.0.5", true}, // an IPv4 peer on a dual-stack socket
		{"::1", true}, {"::2", false},
	}
	for _, c := range cases {
		if got := l.Allows(&net.TCPAddr{IP: net.ParseIP(c.ip), Port: 1}); got != c.want {
			t.Errorf("Allows(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
	for _, everybody := range [][]string{nil, {"10.0.0.1", "*"}} {
		l, err := Parse(everybody)
		if err != nil || l != nil || !l.Allows(&net.TCPAddr{IP: net.ParseIP("10.9.9.9")}) {
			t.Errorf("Parse(%q) = %v, %v: want everybody", everybody, l, err)
		}
	}
}
