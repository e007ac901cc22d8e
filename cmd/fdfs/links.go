package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/internal/ctools"
)

// upstreamNames are the names of upstream's programs this binary runs as
// when called by them: the two daemons and the client programs.
func upstreamNames() []string {
	return append([]string{trackerKind.upstream, storageKind.upstream}, ctools.Names()...)
}

// newLinksCmd builds `fdfs upstream-links DIR`, which make install and the
// container image use, so that the list of names lives here only.
func newLinksCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "upstream-links DIR",
		Short:  "Make the links (to fdfs, in DIR) under which this binary runs as upstream's programs",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range upstreamNames() {
				if err := relink(filepath.Join(args[0], name)); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return nil
		},
	}
}

// relink makes path a symbolic link to "fdfs" beside it, replacing a link
// or a file of that name (an upstream program being replaced).
func relink(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Symlink("fdfs", path)
}

func init() { rootCmd.AddCommand(newLinksCmd()) }
