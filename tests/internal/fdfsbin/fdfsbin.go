// Package fdfsbin builds the fdfs binary for the tests that run it as
// separate processes (tests/procs, tests/faults, tests/replication,
// tests/interop), the one place that knows how.
package fdfsbin

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
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

// RunTests is the TestMain of a package whose tests run the binary: it
// builds it into a temporary directory named after prefix, sets *bin to
// its path ("" with -short, where the process tests skip), runs the tests
// and removes the directory; the result is the exit code.
func RunTests(m *testing.M, prefix string, bin *string) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
