package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/backoff"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// newLsCmd lists the files of a group through the storages' file indexes.
func newLsCmd() *cobra.Command {
	var (
		r         fileops.ListRequest
		storePath int
		limit     int
		long      bool
		since     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ls GROUP",
		Short: "List the files of a group (or of one storage, store path, prefix), by name or newest first",
		Long: "ls lists what the ACTIVE storages of the group hold (each file once), page by page.\n" +
			"With -l it prints size, create time, CRC32 and file ID per line.",
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&r.Storage, "storage", "", "list only what this storage (id, or IP in IP mode) holds")
	fl.IntVar(&storePath, "store-path", -1, "list only store path N (M0N)")
	fl.StringVar(&r.Prefix, "prefix", "", `name prefix after the group, e.g. "M00/0A/"`)
	fl.BoolVar(&r.Newest, "newest", false, "newest first (default: by name)")
	fl.StringVar(&r.Ext, "ext", "", "only files with this extension")
	fl.Int64Var(&r.MinSize, "min-size", 0, "only files of at least this many bytes")
	fl.Int64Var(&r.MaxSize, "max-size", 0, "only files of at most this many bytes (0: no bound)")
	fl.DurationVar(&since, "since", 0, "only files created within this duration, e.g. 24h")
	fl.IntVarP(&limit, "limit", "n", 0, "stop after this many files (0: all)")
	fl.BoolVarP(&long, "long", "l", false, "size, create time and CRC32 too")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r.Group, r.StorePath, r.PageSize = args[0], storePath, fileops.MaxPageSize
		if since > 0 {
			r.CreatedFrom = time.Now().Add(-since)
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			return listAll(ctx, fileops.New(cl, nil), r, limit, long, cmd.OutOrStdout())
		})
	}
	return cmd
}

func listAll(ctx context.Context, f *fileops.Files, r fileops.ListRequest, limit int, long bool, w io.Writer) error {
	n := 0
	for {
		page, err := f.ListFiles(ctx, r)
		if err != nil {
			return err
		}
		for _, lf := range page.Files {
			if limit > 0 && n == limit {
				return nil
			}
			n++
			if long {
				fmt.Fprintf(w, "%12d  %s  %08x  %s\n", lf.Size, formatTime(lf.Name.Timestamp), lf.Name.CRC32, lf.FileID)
			} else {
				fmt.Fprintln(w, lf.FileID)
			}
		}
		if page.NextToken == "" {
			return nil
		}
		r.PageToken = page.NextToken
	}
}

// newScrubCmd shows (and starts) the scrubber of storages.
func newScrubCmd() *cobra.Command {
	var (
		run     bool
		rate    int64
		storage string
	)
	cmd := &cobra.Command{
		Use:   "scrub GROUP",
		Short: "Show the scrub report of the storages of a group; --run starts a pass and waits for it",
		Args:  cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().BoolVar(&run, "run", false, "start a pass now and wait until it is done")
	cmd.Flags().Int64Var(&rate, "rate", 0, "read rate of the pass in bytes/s (0: unthrottled)")
	cmd.Flags().StringVar(&storage, "storage", "", "only this storage (id, or IP in IP mode)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		group := args[0]
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			ss, err := cl.ListStorages(ctx, group, storage)
			if err != nil {
				return err
			}
			var errs []error
			for _, st := range ss {
				addr, err := cl.StorageAddr(ctx, group, st.ID)
				if err == nil {
					err = scrubOne(ctx, cl, group, addr, run, rate, cmd.OutOrStdout())
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("storage %s: %w", st.ID, err))
				}
			}
			return errors.Join(errs...)
		})
	}
	return cmd
}

// scrubPoll is the pause between two looks at a running pass.
const scrubPoll = 500 * time.Millisecond

func scrubOne(ctx context.Context, cl *client.Client, group, addr string, run bool, rate int64, w io.Writer) error {
	req := &protocol.ScrubRequest{Group: group, Rate: rate}
	r, err := cl.Scrub(ctx, addr, req)
	if err != nil {
		return err
	}
	if run {
		req.Flags = protocol.ScrubRunNow
		passes := r.Passes
		for r.Running || r.Passes == passes {
			if r, err = cl.Scrub(ctx, addr, req); err != nil {
				return err
			}
			req.Flags = 0 // started (or one was running: wait for it, then start ours)
			if !r.Running && r.Passes == passes {
				req.Flags = protocol.ScrubRunNow
			}
			if !backoff.Sleep(ctx, scrubPoll) {
				return ctx.Err()
			}
		}
	}
	fmt.Fprintf(w, "%s: passes %d, files %d, bytes %d, corrupt %d, missing %d, repaired %d, unrepaired %d, last pass %s\n",
		addr, r.Passes, r.Files, r.Bytes, r.Corrupt, r.Missing, r.Repaired, r.Unrepaired, formatTime(r.LastPassAt))
	for _, f := range r.Findings {
		kind, outcome := "corrupt", "repaired"
		if f.Kind == protocol.ScrubMissing {
			kind = "missing"
		}
		if f.Outcome != protocol.ScrubRepaired {
			outcome = "NOT repaired"
		}
		fmt.Fprintf(w, "  %s  %-7s  %-12s  %s/%s\n", formatTime(f.Time), kind, outcome, group, f.Name)
	}
	return nil
}

func init() {
	rootCmd.AddCommand(newLsCmd(), newScrubCmd())
}
