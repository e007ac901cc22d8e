// Command fdfs is the single binary of the project: the tracker and storage
// daemons, the all-in-one dev cluster and the client tools. Each file of this
// package registers its subcommands on rootCmd in an init function.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/internal/ctools"
)

var rootCmd = &cobra.Command{
	Use:           "fdfs",
	Short:         "A wire-compatible FastDFS tracker, storage server and client",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// givenArgs is the command line as given, before upstreamArgs: what a
// re-execution of this process passes on.
var givenArgs []string

func main() {
	if ctools.Is(os.Args[0]) {
		os.Exit(runCTool(os.Args))
	}
	givenArgs = os.Args
	os.Args = upstreamArgs(givenArgs)
	if len(os.Args) > 1 && (os.Args[1] == "tracker" || os.Args[1] == "storage") {
		reexecForSysmon(givenArgs)
	}
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fdfs:", err)
		os.Exit(1)
	}
}

// runCTool runs one of upstream's C client programs, which this binary
// is when called by its name (make install links them).
func runCTool(argv []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ctools.Run(ctx, argv, os.Stdout, os.Stderr)
}
