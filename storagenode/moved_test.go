package storagenode

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadMoves: the moves of .moved_addresses load as they were saved,
// whatever the order of the lines (saved sorted by address): a storage
// that moved twice is found at its last address after a restart.
func TestLoadMoves(t *testing.T) {
	tests := []struct {
		name, file string
		want       map[string]string // address → current
	}{
		{"chain, lines sorted", "10.0.0.1 10.0.0.5\n10.0.0.9 10.0.0.1\n",
			map[string]string{"10.0.0.9": "10.0.0.5", "10.0.0.1": "10.0.0.5", "10.0.0.5": "10.0.0.5"}},
		{"chain, lines in move order", "10.0.0.9 10.0.0.1\n10.0.0.1 10.0.0.5\n",
			map[string]string{"10.0.0.9": "10.0.0.5", "10.0.0.1": "10.0.0.5"}},
		{"two moves into one address", "b c\nx b\ny b\n", map[string]string{"x": "c", "y": "c", "b": "c"}},
		{"cycle (a hand edit)", "a b\nb a\n", map[string]string{"c": "c"}},
		{"not two fields", "a\na b c\n\n", map[string]string{"a": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), movedFile)
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			mv, err := loadMoves(path)
			if err != nil {
				t.Fatal(err)
			}
			for addr, want := range tt.want {
				if got := mv.current(addr); got != want {
					t.Errorf("current(%s) = %s, want %s", addr, got, want)
				}
			}
		})
	}
}
