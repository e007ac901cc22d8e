// Command fdfs is the single binary of the project: the tracker and storage
// daemons, the all-in-one dev cluster and the client tools. Each file of this
// package registers its subcommands on rootCmd in an init function.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "fdfs",
	Short:         "A wire-compatible FastDFS tracker, storage server and client",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "tracker" || os.Args[1] == "storage") {
		reexecForSysmon()
	}
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fdfs:", err)
		os.Exit(1)
	}
}
