package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
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

// monitor prints the cluster in the layout of upstream's fdfs_monitor.
func monitor(ctx context.Context, w io.Writer, cl *client.Client, args []string) error {
	leader, err := cl.GetLeader(ctx)
	if err != nil {
		leader = "unknown (" + err.Error() + ")"
	}
	trackers := cl.Trackers()
	fmt.Fprintf(w, "server_count=%d, leader=%s\n\n", len(trackers), leader)
	var groups []protocol.GroupStat
	if len(args) > 0 {
		g, err := cl.ListGroup(ctx, args[0])
		if err != nil {
			return err
		}
		groups = []protocol.GroupStat{*g}
	} else if groups, err = cl.ListGroups(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "group count: %d\n", len(groups))
	for i := range groups {
		g := &groups[i]
		fmt.Fprintf(w, "\nGroup %d:\n", i+1)
		printGroup(w, g)
		id := ""
		if len(args) > 1 {
			id = args[1]
		}
		ss, err := cl.ListStorages(ctx, g.Name, id)
		if err != nil {
			return err
		}
		for j := range ss {
			fmt.Fprintf(w, "\n\tStorage %d:\n", j+1)
			printStorage(w, &ss[j])
		}
	}
	return nil
}

func printGroup(w io.Writer, g *protocol.GroupStat) {
	kv := [][2]any{
		{"group name", g.Name},
		{"disk total space", mb(g.TotalMB)},
		{"disk free space", mb(g.FreeMB)},
		{"disk reserved space", mb(g.ReservedMB)},
		{"trunk free space", mb(g.TrunkFreeMB)},
		{"storage server count", g.StorageCount},
		{"readable server count", g.ReadableCount},
		{"writable server count", g.WritableCount},
		{"storage server port", g.StoragePort},
		{"store path count", g.StorePathCount},
		{"subdir count per path", g.SubdirCountPerPath},
		{"current write server index", g.CurrentWriteServer},
		{"current trunk file id", g.CurrentTrunkFileID},
	}
	for _, p := range kv {
		fmt.Fprintf(w, "%s = %v\n", p[0], p[1])
	}
}

func printStorage(w io.Writer, s *protocol.StorageStat) {
	st := &s.Stat
	kv := [][2]any{
		{"id", s.ID},
		{"ip_addr", s.IP + "  " + protocol.StorageStatusName(s.Status)},
		{"rw_mode", rwMode(s.RWMode)},
		{"version", s.Version},
		{"join time", unixTime(s.JoinTime)},
		{"up time", unixTime(s.UpTime)},
		{"total storage", mb(s.TotalMB)},
		{"free storage", mb(s.FreeMB)},
		{"reserved storage", mb(s.ReservedMB)},
		{"upload priority", s.UploadPriority},
		{"store_path_count", s.StorePathCount},
		{"subdir_count_per_path", s.SubdirCountPerPath},
		{"storage_port", s.StoragePort},
		{"current_write_path", s.CurrentWritePath},
		{"source storage id", s.SrcID},
		{"if_trunk_server", boolInt(s.IfTrunkServer)},
		{"connection.alloc_count", st.AllocCount},
		{"connection.current_count", st.CurrentCount},
		{"connection.max_count", st.MaxCount},
	}
	for _, p := range kv {
		fmt.Fprintf(w, "\t\t%s = %v\n", p[0], p[1])
	}
	for _, f := range st.Fields() {
		v := any(*f.P)
		if strings.HasPrefix(f.Name, "last_") {
			v = unixTime(*f.P)
		}
		fmt.Fprintf(w, "\t\t%s = %v\n", f.Name, v)
	}
}

func mb(v int64) string { return fmt.Sprintf("%d MB", v) }

func unixTime(v int64) string {
	if v == 0 {
		return "0"
	}
	return time.Unix(v, 0).Format(time.DateTime)
}

func rwMode(m byte) string {
	switch {
	case m&protocol.RWRead != 0 && m&protocol.RWWrite != 0:
		return "both"
	case m&protocol.RWRead != 0:
		return "read"
	case m&protocol.RWWrite != 0:
		return "write"
	}
	return "none"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func init() { rootCmd.AddCommand(newMonitorCmd()) }
