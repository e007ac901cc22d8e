package interop

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
)

// The environment of one test binary run, set up by TestMain.
var (
	refDir  string // FDFS_REF_DIR: the reference build (see docs/interop.md)
	refBin  string // <refDir>/install/usr/bin
	refLib  string // <refDir>/install/usr/lib (LD_LIBRARY_PATH of every upstream program)
	refEtc  string // <refDir>/install/etc/fdfs: the stock conf files
	ourBin  string // cmd/fdfs built once into tmpRoot (or FDFS_OUR_BIN)
	tmpRoot string // removed when the run ends
)

func TestMain(m *testing.M) {
	flag.Parse()
	refDir = os.Getenv("FDFS_REF_DIR")
	if refDir == "" {
		fmt.Println("tests/interop: skipped, FDFS_REF_DIR not set (see docs/interop.md)")
		os.Exit(0)
	}
	if testing.Short() {
		fmt.Println("tests/interop: skipped in -short mode (runs real daemons)")
		os.Exit(0)
	}
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "tests/interop: %v\n", err)
		if tmpRoot != "" {
			os.RemoveAll(tmpRoot)
		}
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// setup checks the reference build and compiles cmd/fdfs.
func setup() error {
	abs, err := filepath.Abs(refDir)
	if err != nil {
		return err
	}
	refDir = abs
	refBin = filepath.Join(refDir, "install", "usr", "bin")
	refLib = filepath.Join(refDir, "install", "usr", "lib")
	refEtc = filepath.Join(refDir, "install", "etc", "fdfs")
	for _, p := range []string{"fdfs_trackerd", "fdfs_storaged", "fdfs_upload_file", "fdfs_download_file",
		"fdfs_monitor", "fdfs_test1", "fdfs_appender_test1", "fdfs_regenerate_filename"} {
		if _, err := os.Stat(filepath.Join(refBin, p)); err != nil {
			return fmt.Errorf("FDFS_REF_DIR=%s is not a reference build (no install/usr/bin/%s; see docs/interop.md)", refDir, p)
		}
	}
	if tmpRoot, err = os.MkdirTemp("", "fdfs-interop-"); err != nil {
		return err
	}
	if bin := os.Getenv("FDFS_OUR_BIN"); bin != "" {
		// A prebuilt fdfs binary instead of building ./cmd/fdfs.
		ourBin, err = filepath.Abs(bin)
		return err
	}
	ourBin, err = fdfsbin.Build(tmpRoot)
	return err
}
