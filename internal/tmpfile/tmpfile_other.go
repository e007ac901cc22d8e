//go:build unix && !linux

package tmpfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// probe: no O_TMPFILE here, so every Dir names its files.
func (d *Dir) probe(string, int) bool { return false }

// createUnnamed is never called here (probe is false).
func (d *Dir) createUnnamed(dir string) (*File, error) {
	return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: unix.ENOTSUP}
}

// linkFD is never called here (probe is false).
func linkFD(_ int, path string, _ int) error {
	return &os.LinkError{Op: "link", Old: "(unnamed)", New: path, Err: unix.ENOTSUP}
}

// renameNoReplace: the link and unlink of RenameNoReplace.
func renameNoReplace(string, string) error { return errNoRenameNoReplace }
