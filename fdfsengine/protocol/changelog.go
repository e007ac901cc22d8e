package protocol

import (
	"fmt"
	"strconv"
	"strings"
)

// ChangelogEntry is one line of the tracker's storage_changelog.dat, which
// CHANGELOG_REQ (77) sends on as it is: "<time> <group> <storage id>
// <status> <new id>\n", status DELETED (the new id empty, the line ending
// in a space) or IP_CHANGED (the storage's new address).
type ChangelogEntry struct {
	Time   int64 // unix seconds
	Group  string
	ID     string
	Status byte
	NewID  string
}

// Line returns the entry as upstream's tracker writes it.
func (e ChangelogEntry) Line() string {
	return fmt.Sprintf("%d %s %s %d %s\n", e.Time, e.Group, e.ID, e.Status, e.NewID)
}

// ParseChangelog returns the entries of changelog text. Lines without
// upstream's five space-separated fields, or whose group, storage id or
// status is missing or not a number, are skipped, as upstream's storage
// skips them.
func ParseChangelog(b []byte) []ChangelogEntry {
	var out []ChangelogEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), " ")
		if len(f) != 5 || f[1] == "" || f[2] == "" {
			continue
		}
		ts, err1 := strconv.ParseInt(f[0], 10, 64)
		st, err2 := strconv.ParseUint(f[3], 10, 8)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, ChangelogEntry{Time: ts, Group: f[1], ID: f[2], Status: byte(st), NewID: f[4]})
	}
	return out
}
