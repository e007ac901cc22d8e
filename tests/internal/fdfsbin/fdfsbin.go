// Package fdfsbin builds the fdfs binary for the tests that run it as
// separate processes (tests/procs, tests/faults, tests/replication,
// tests/interop), the one place that knows how.
package fdfsbin

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build compiles cmd/fdfs into dir and returns the binary's path. The go
// command is the one on PATH, else the one of the running toolchain.
func Build(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "fdfs")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/fdfsgo/fdfs/cmd/fdfs").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/fdfs: %v\n%s", err, out)
	}
	return bin, nil
}
