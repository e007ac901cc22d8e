package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
)

// unitBinary is where the units expect the binary.
const unitBinary = "/usr/local/bin/fdfs"

// TestSystemdUnits runs systemd-analyze verify on each unit, with
// ExecStart pointed at a freshly built binary (verify checks that the
// command is executable), and fails on any complaint, warnings included.
// It also runs each unit's command line with --help, so a renamed
// subcommand or flag is caught.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	units, err := filepath.Glob(deployPath("systemd", "*.service"))
	if err != nil || len(units) != 3 {
		t.Fatalf("deploy/systemd: %v units, %v; want tracker, storage and gateway", units, err)
	}
	dir := t.TempDir()
	bin, err := fdfsbin.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		text := string(readFile(t, u))
		exec := ""
		for line := range strings.Lines(text) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
				exec = v
			}
		}
		if !strings.HasPrefix(exec, unitBinary+" ") {
			t.Errorf("%s: ExecStart=%q does not run %s", u, exec, unitBinary)
			continue
		}
		copyPath := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(text, unitBinary, bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := execCommand(analyze, "verify", copyPath)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(u), err, out)
		}
		args := strings.Fields(strings.TrimPrefix(exec, unitBinary))
		if out, err := execCommand(bin, append(args, "--help")...); err != nil {
			t.Errorf("%s: fdfs %s --help: %v\n%s", filepath.Base(u), strings.Join(args, " "), err, out)
		}
	}
}

func execCommand(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
