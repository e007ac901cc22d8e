package storagenode

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (a
// context watcher or a test server left running), but for the one that
// internal/pollkick keeps for the process's life.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/fdfsgo/fdfs/internal/pollkick.parked"))
}
