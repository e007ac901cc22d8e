package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/ctools"
)

func newMonitorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor [GROUP [STORAGE_ID]]",
		Short: "Show groups and storages as the tracker sees them (like fdfs_monitor)",
		Args:  cobra.MaximumNArgs(2),
	}
	cf := addClientFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			return monitor(ctx, cmd.OutOrStdout(), cl, args)
		})
	}
	del := &cobra.Command{
		Use:   "delete GROUP STORAGE_ID",
		Short: "Remove a storage that is not active from its group",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.run(func(ctx context.Context, cl *client.Client) error {
				if err := cl.DeleteStorage(ctx, args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "delete storage server %s:%s success\n", args[0], args[1])
				return nil
			})
		},
	}
	delGroup := &cobra.Command{
		Use:   "delete-group GROUP",
		Short: "Remove a group that has no active storage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.run(func(ctx context.Context, cl *client.Client) error {
				if err := cl.DeleteGroup(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "delete group %s success\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(del, delGroup, newDrainCmd(cf, true), newDrainCmd(cf, false))
	return cmd
}

// newDrainCmd builds `fdfs monitor drain` (start) and `undrain` (end).
func newDrainCmd(cf *clientFlags, start bool) *cobra.Command {
	var wait time.Duration
	use, short, op := "drain GROUP STORAGE", "Take a storage out of service before stopping it (our trackers only; see docs/migration.md)", protocol.DrainStart
	if !start {
		use, short, op = "undrain GROUP STORAGE", "Put a drained storage back in service", protocol.DrainStop
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.run(func(ctx context.Context, cl *client.Client) error {
				deadline := time.Now().Add(wait)
				state, err := cl.DrainStorage(ctx, args[0], args[1], op)
				for wait > 0 && err == nil && state != protocol.DrainComplete && time.Now().Before(deadline) {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(drainPoll):
					}
					state, err = cl.DrainStorage(ctx, args[0], args[1], protocol.DrainQuery)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "storage %s of %s: %s\n", args[1], args[0], drainStateName(state))
				if wait > 0 && state != protocol.DrainComplete {
					return fmt.Errorf("storage %s not drained after %v", args[1], wait)
				}
				return nil
			})
		},
	}
	if start {
		cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long until nothing is routed to the storage any more (exit status 1 if it is not by then)")
	}
	return cmd
}

// drainPoll is how often `fdfs monitor drain --wait` asks the trackers.
const drainPoll = 500 * time.Millisecond

func drainStateName(s byte) string {
	switch s {
	case protocol.DrainNone:
		return "in service"
	case protocol.DrainOngoing:
		return "draining (its peers are still catching up)"
	case protocol.DrainComplete:
		return "drained (nothing is routed to it: safe to stop)"
	}
	return fmt.Sprintf("state %d", s)
}

// monitor prints the trackers' leader, then the groups and storages as
// upstream's fdfs_monitor lists them (internal/ctools, one layout for both).
func monitor(ctx context.Context, w io.Writer, cl *client.Client, args []string) error {
	leader, err := cl.GetLeader(ctx)
	if err != nil {
		leader = "unknown (" + err.Error() + ")"
	}
	fmt.Fprintf(w, "server_count=%d, leader=%s\n\n", len(cl.Trackers()), leader)
	var group, id string
	if len(args) > 0 {
		group = args[0]
	}
	if len(args) > 1 {
		id = args[1]
	}
	return ctools.WriteGroups(ctx, w, cl, group, id)
}

func init() { rootCmd.AddCommand(newMonitorCmd()) }
