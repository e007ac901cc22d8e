package memconn

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (a
// context watcher or a test server left running).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
