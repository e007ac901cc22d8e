package binlog

// Op is a record's operation letter. Upper case marks a change made on
// this storage (a source record); the same letter in lower case a change
// replayed from a peer (a replica record), which the sync workers forward
// only during the old-file sync of a new storage.
type Op byte

// Source record operations.
const (
	OpCreate   Op = 'C' // file created (upload, slave, appender, metadata file)
	OpUpdate   Op = 'U' // whole file replaced (metadata files)
	OpDelete   Op = 'D' // file deleted
	OpAppend   Op = 'A' // extra: "<start_offset> <length>"
	OpModify   Op = 'M' // extra: "<offset> <length>"
	OpTruncate Op = 'T' // extra: "<old_size> <new_size>"
	OpLink     Op = 'L' // extra: source logical name
	OpRename   Op = 'R' // extra: old logical name; the record's name is the new one
)

// Replica record operations: the source letters in lower case, written by
// the receiving side of replication with the source's timestamp.
const (
	OpReplicaCreate   = OpCreate + caseShift
	OpReplicaUpdate   = OpUpdate + caseShift
	OpReplicaDelete   = OpDelete + caseShift
	OpReplicaAppend   = OpAppend + caseShift
	OpReplicaModify   = OpModify + caseShift
	OpReplicaTruncate = OpTruncate + caseShift
	OpReplicaLink     = OpLink + caseShift
	OpReplicaRename   = OpRename + caseShift
)

const caseShift = 'a' - 'A'

// IsReplica reports whether o is a replica (lower-case) operation.
func (o Op) IsReplica() bool { return o >= 'a' && o <= 'z' }

// Source returns the source (upper-case) form of o; o itself when it is
// not a replica operation.
func (o Op) Source() Op {
	if o.IsReplica() {
		return o - caseShift
	}
	return o
}

// Replica returns the replica (lower-case) form of o; o itself when it is
// not a source letter.
func (o Op) Replica() Op {
	if o >= 'A' && o <= 'Z' {
		return o + caseShift
	}
	return o
}

// Partial reports whether o changes part of a file (append, modify,
// truncate) rather than creating, replacing or naming a whole one.
func (o Op) Partial() bool {
	switch o.Source() {
	case OpAppend, OpModify, OpTruncate:
		return true
	}
	return false
}

// String returns the letter as it appears in the binlog.
// A byte that is no letter stays that one byte (string(rune(o)) would
// make a byte >= 0x80 two bytes of UTF-8, a line that no longer parses).
func (o Op) String() string { return string([]byte{byte(o)}) }
