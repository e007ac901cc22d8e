package memtmp

import (
	"os"
	"strings"
	"testing"
)

func TestUse(t *testing.T) {
	_, err := os.Stat("/dev/shm")
	Use(t)
	dir := t.TempDir()
	if got := strings.HasPrefix(dir, "/dev/shm/"); got != (err == nil) {
		t.Fatalf("TempDir %s with /dev/shm present %v", dir, err == nil)
	}
}
