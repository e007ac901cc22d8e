package protocol_test

import (
	"reflect"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestChangelog(t *testing.T) {
	del := protocol.ChangelogEntry{Time: 1700000000, Group: "group1", ID: "10.0.0.4", Status: protocol.StatusDeleted}
	moved := protocol.ChangelogEntry{Time: 1700000001, Group: "group1", ID: "10.0.0.5", Status: protocol.StatusIPChanged, NewID: "10.0.0.9"}
	if got := del.Line(); got != "1700000000 group1 10.0.0.4 4 \n" {
		t.Fatalf("deletion line %q, upstream writes the empty new id after a space", got)
	}
	if got := moved.Line(); got != "1700000001 group1 10.0.0.5 3 10.0.0.9\n" {
		t.Fatalf("address change line %q", got)
	}
	tests := []struct {
		name string
		text string
		want []protocol.ChangelogEntry
	}{
		{"both kinds", del.Line() + moved.Line(), []protocol.ChangelogEntry{del, moved}},
		{"crlf, no final newline", "1700000001 group1 10.0.0.5 3 10.0.0.9\r", []protocol.ChangelogEntry{moved}},
		{"empty", "", nil},
		{"malformed skipped", "garbage\n1 group1 10.0.0.7 3\nx group1 10.0.0.7 3 y\n1 group1 10.0.0.7 300 y\n1  10.0.0.7 3 y\n1 group1 10.0.0.7  3 y\n" + moved.Line(),
			[]protocol.ChangelogEntry{moved}},
	}
	for _, tc := range tests {
		if got := protocol.ParseChangelog([]byte(tc.text)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
