package trunk

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
)

// bin is the fdfs binary TestMain built for the process tests ("" with
// -short).
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "fdfs-trunk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if bin, err = fdfsbin.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
