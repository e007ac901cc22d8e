package main

import (
	"strings"
	"testing"
)

func TestRunByWarning(t *testing.T) {
	cases := []struct {
		euid        int
		user, group string
		warns       bool
	}{
		{0, "fdfs", "fdfs", true},
		{0, "", "fdfs", true},
		{0, "", "", false},        // nothing asked
		{1000, "fdfs", "", false}, // already not root
	}
	for _, c := range cases {
		w := runByWarning(c.euid, c.user, c.group)
		if (w != "") != c.warns || c.warns && !strings.Contains(w, "runs as root") {
			t.Errorf("runByWarning(%d, %q, %q) = %q, want a warning: %v", c.euid, c.user, c.group, w, c.warns)
		}
	}
}
