//go:build linux

package e2e

import (
	"testing"

	"github.com/fdfsgo/fdfs/internal/evloop"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestWithoutLoops runs every client operation and the split-writes check
// against servers that give every connection a goroutine of its own
// (FDFS_EVLOOP=off): how they serve on systems without epoll, a path no
// other test takes on Linux. Not parallel: the variable is the process's,
// read when the servers start, and no parallel test runs meanwhile.
func TestWithoutLoops(t *testing.T) {
	t.Setenv(evloop.EnvOff, "off")
	c := cluster.Start(t, cluster.Options{})
	t.Run("operations", func(t *testing.T) { testOperations(t, c) })
	t.Run("split writes", func(t *testing.T) { testSplitWrites(t, c) })
}
