package conformance_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/tests/cluster"
)

// scriptTimeout bounds one Node script. The scripts bound every step
// themselves (FDFS_STEP_TIMEOUT_MS); this only stops a wedged interpreter.
const scriptTimeout = 3 * time.Minute

// clients are the pinned npm packages (see package.json) and their scripts.
var clients = []struct {
	pkg, version, script string
	// appendModify: the script uses append/modify, which fdfs@1.0.4 sends to
	// the tracker's upload pick for the group: only correct with one storage
	// per group.
	appendModify bool
}{
	{"fdfs", "1.0.4", "fdfs-1.0.4.js", true},
	{"fdfs-client", "0.5.4", "fdfs-client-0.5.4.js", false},
}

// requireNode fails the test (never skips) when node or the npm packages
// are missing, saying how to install them.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH (%v): the conformance tests run third-party Node.js clients; install Node.js ≥ 18", err)
	}
	for _, c := range clients {
		pj := filepath.Join("node_modules", c.pkg, "package.json")
		b, err := os.ReadFile(pj)
		if err != nil {
			t.Fatalf("%s@%s is not installed (%v): run `npm ci --prefix tests/conformance` from the repository root first", c.pkg, c.version, err)
		}
		if !bytes.Contains(b, []byte(`"version": "`+c.version+`"`)) {
			t.Fatalf("%s has the wrong version (want %s): run `npm ci --prefix tests/conformance` from the repository root", pj, c.version)
		}
	}
	return node
}

// runScript runs one conformance script against the tracker at addr and
// fails with its output unless it exits 0 and reports PASS.
func runScript(t *testing.T, node, script, addr string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, addr)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s %s: %v\n%s", script, addr, err, out)
	}
	if !strings.Contains(string(out), "PASS ") {
		t.Fatalf("node %s exited 0 without reporting PASS:\n%s", script, out)
	}
	t.Logf("node %s:\n%s", script, out)
}

// TestNodeClients runs every client's script against a one-storage cluster,
// in IP mode and in storage-id mode.
func TestNodeClients(t *testing.T) {
	node := requireNode(t)
	for _, mode := range []struct {
		name  string
		useID bool
	}{{"ip", false}, {"id", true}} {
		t.Run(mode.name, func(t *testing.T) {
			c := cluster.Start(t, cluster.Options{Storages: 1, UseStorageID: mode.useID})
			for _, cl := range clients {
				t.Run(cl.pkg+"@"+cl.version, func(t *testing.T) {
					runScript(t, node, cl.script, c.TrackerAddr(), "FDFS_STORAGES=1")
				})
			}
		})
	}
}

// TestNodeClientsReplicated runs the scripts that do not need a single
// storage against a two-storage group, so downloads right after an upload
// exercise the tracker's choice of a storage that already has the file.
func TestNodeClientsReplicated(t *testing.T) {
	node := requireNode(t)
	const storages = 2
	c := cluster.Start(t, cluster.Options{Storages: storages})
	for _, cl := range clients {
		if cl.appendModify {
			continue
		}
		t.Run(cl.pkg+"@"+cl.version, func(t *testing.T) {
			runScript(t, node, cl.script, c.TrackerAddr(), "FDFS_STORAGES="+strconv.Itoa(storages))
		})
	}
}
