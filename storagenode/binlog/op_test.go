package binlog

import "testing"

func TestOpCase(t *testing.T) {
	tests := []struct {
		src, replica Op
		partial      bool
	}{
		{OpCreate, OpReplicaCreate, false},
		{OpUpdate, OpReplicaUpdate, false},
		{OpDelete, OpReplicaDelete, false},
		{OpAppend, OpReplicaAppend, true},
		{OpModify, OpReplicaModify, true},
		{OpTruncate, OpReplicaTruncate, true},
		{OpLink, OpReplicaLink, false},
		{OpRename, OpReplicaRename, false},
	}
	for _, tt := range tests {
		t.Run(tt.src.String(), func(t *testing.T) {
			if tt.replica.String() != string(rune(tt.src)+'a'-'A') {
				t.Errorf("replica letter %q of %q", tt.replica, tt.src)
			}
			if tt.src.IsReplica() || !tt.replica.IsReplica() {
				t.Errorf("IsReplica: %q %v, %q %v", tt.src, tt.src.IsReplica(), tt.replica, tt.replica.IsReplica())
			}
			if tt.src.Replica() != tt.replica || tt.replica.Replica() != tt.replica {
				t.Errorf("Replica: %q→%q, %q→%q", tt.src, tt.src.Replica(), tt.replica, tt.replica.Replica())
			}
			if tt.replica.Source() != tt.src || tt.src.Source() != tt.src {
				t.Errorf("Source: %q→%q, %q→%q", tt.replica, tt.replica.Source(), tt.src, tt.src.Source())
			}
			if tt.src.Partial() != tt.partial || tt.replica.Partial() != tt.partial {
				t.Errorf("Partial of %q/%q, want %v", tt.src, tt.replica, tt.partial)
			}
		})
	}
	// Letters that are no case (digits, punctuation) map to themselves.
	for _, o := range []Op{'0', '-', 0} {
		if o.IsReplica() || o.Source() != o || o.Replica() != o || o.Partial() {
			t.Errorf("non-letter %q changed case", o)
		}
	}
}
